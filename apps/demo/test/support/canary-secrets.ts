/**
 * The secrets of one canary run: random per run and recognisable by their `kwcanary` prefix.
 * Planted before the run (server keys, admin token, session secrets, vault keys) or as it goes
 * (the users' own keys, registered at the upstream or refused by the app).
 */
import { randomBytes } from 'node:crypto';
import type { UpstreamHandle } from '../../../demo-upstream/dist/src/index.js';
import type { Canary, CanaryDetector } from './canary-detector.js';

/** Random hex, `bytes` long before encoding. */
export const tag = (bytes = 24): string => randomBytes(bytes).toString('hex');

/** The secrets planted in one run: random per run, recognisable by their `kwcanary` prefix. */
export interface PlantedSecrets {
  serverKeys: string[];
  adminToken: string;
  sessionSecrets: string[];
  /** Key-encryption keys: raw bytes start with the ASCII `kwcanary`. */
  vaultKeys: Array<{ id: string; bytes: Buffer; base64: string }>;
  /** Demo users (passwords are not canaries: the app scrubs them, but they are not secrets it holds for users). */
  users: Array<{ name: string; password: string }>;
}

export function plantSecrets(userCount: number): PlantedSecrets {
  const vaultKey = (id: string) => {
    const bytes = Buffer.concat([Buffer.from('kwcanary', 'ascii'), randomBytes(24)]);
    return { id, bytes, base64: bytes.toString('base64') };
  };
  const names = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'niaj'];
  return {
    serverKeys: [`kwcanary-server-new-${tag()}`, `kwcanary-server-old-${tag()}`],
    adminToken: `kwcanary-admin-${tag()}`,
    sessionSecrets: [`kwcanary-session-new-${tag()}`, `kwcanary-session-old-${tag()}`],
    vaultKeys: [vaultKey('kwv2'), vaultKey('kwv1')],
    users: names.slice(0, userCount).map((name) => ({ name, password: `pw-${name}-${tag(8)}` })),
  };
}

/** The planted canaries (learned ones are added as the run goes). */
export function plantedCanaries(s: PlantedSecrets): Canary[] {
  return [
    ...s.serverKeys.map((value, i) => ({ kind: 'server-key' as const, label: `server key #${i + 1}`, value })),
    { kind: 'admin-token', label: 'upstream admin token', value: s.adminToken },
    ...s.sessionSecrets.map((value, i) => ({ kind: 'session-secret' as const, label: `session secret #${i + 1}`, value })),
    ...s.vaultKeys.flatMap((k) => [
      { kind: 'vault-key' as const, label: `vault key ${k.id} (raw bytes)`, value: k.bytes },
      { kind: 'vault-key' as const, label: `vault key ${k.id} (base64 text)`, value: k.base64 },
    ]),
  ];
}

/** Hands out the users' own (BYOK) keys of one combination; every one is a canary. */
export interface UserKeys {
  /** A key registered at the upstream (so proxied calls with it succeed), one per visitor and round. */
  byokKey(w: number, r: number): string;
  /** A key the app must refuse (bad JSON, control characters, no origin, oversized). */
  canaryKey(label: string): string;
}

export function userKeys(upstream: UpstreamHandle, detector: CanaryDetector): UserKeys {
  const byok = new Map<string, string>();
  return {
    byokKey(w, r) {
      const id = `byok-${w}-${r}`;
      let key = byok.get(id);
      if (!key) {
        key = `kwcanary-byok-${w}-${r}-${tag(20)}`;
        byok.set(id, key);
        upstream.addServerKey(key, id);
        detector.add({ kind: 'user-key', label: `user key ${id}`, value: key });
      }
      return key;
    },
    canaryKey(label) {
      const key = `kwcanary-byok-refused-${label}-${tag(16)}`;
      detector.add({ kind: 'user-key', label: `refused user key ${label}`, value: key });
      return key;
    },
  };
}
