import type { ResolvedProxyService } from '../proxy/proxy-options.js';
import type { SessionStore } from '../stores/session-store.interface.js';
import { parseVaultKeys } from '../vault/key-ring.js';
import type { ResolvedKeywardOptions } from './keyward-options.interface.js';
import { show } from '../util/option-checks.js';
import { MIN_SECRET_BITS, estimateBytesBits, isPlaceholderSecret, printableText, secretWeakness } from '@keyward/core';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * The longest timeouts production accepts. OWASP's Session Management Cheat Sheet suggests
 * an idle timeout of 15-30 minutes for most apps (2-5 for high-value ones) and an absolute
 * timeout tied to how long the app is really used (e.g. 4-8 hours); these limits are far
 * more lenient, the point past which no reviewer would sign off a session that holds API keys.
 */
export const PRODUCTION_LIMITS = {
  /** @default 86_400_000 (24 hours) */
  maxIdleTimeoutMs: DAY,
  /** @default 2_592_000_000 (30 days) */
  maxAbsoluteTimeoutMs: 30 * DAY,
} as const;

const SECRET_FIX = 'Generate one with `node -e "console.log(require(\'crypto\').randomBytes(32).toString(\'base64url\'))"` and pass it through KEYWARD_SESSION_SECRETS.';
const KEY_FIX =
  'Generate one with `node -e "console.log(\'k2:\' + require(\'crypto\').randomBytes(32).toString(\'base64\'))"`, list it first, and keep the old key listed until its entries are re-wrapped.';

/** The parts of the options the audit looks at. Each is optional: the audit runs on whatever parts are valid, so it reports alongside the other problems. */
export interface AuditView {
  store?: SessionStore;
  cookie?: { name: string; secure: boolean; sameSite: string };
  /** Raw entries: only non-empty strings are judged (the others are reported by validation). */
  secrets?: readonly unknown[];
  idleTimeoutMs?: number;
  absoluteTimeoutMs?: number | null;
  requireHttps?: boolean;
  proxy?: ReadonlyMap<string, ResolvedProxyService>;
  demoUsers?: boolean;
  /** Raw `id:base64key` entries of `vault.keys`. */
  vaultKeys?: readonly unknown[];
}

function duration(ms: number): string {
  if (ms % DAY === 0) return `${ms / DAY} day${ms === DAY ? '' : 's'}`;
  if (ms % HOUR === 0) return `${ms / HOUR} hour${ms === HOUR ? '' : 's'}`;
  return `${Math.round((ms / HOUR) * 10) / 10} hours`;
}

/**
 * Why 32 bytes of key material are not a random key, or null. Never includes the key.
 * Refused: printable text (the base64 of a typed or placeholder string; 32 random bytes
 * are all printable once in 10^13 draws), and bytes with less than 128 bits of estimated
 * entropy (all-zero, repeated, sequential).
 */
export function keyMaterialWeakness(key: Uint8Array): string | null {
  const text = printableText(key);
  if (text !== null) {
    const placeholder = isPlaceholderSecret(text);
    return `is the base64 of a ${[...text].length}-character ${placeholder ? 'placeholder ' : ''}text, not ${key.length} random bytes`;
  }
  const bits = Math.floor(estimateBytesBits(key));
  return bits < MIN_SECRET_BITS ? `has too little entropy (about ${bits} bits estimated, needs >= ${MIN_SECRET_BITS}: all-zero, repeated or sequential bytes)` : null;
}

/**
 * Weak session secrets and vault keys, by position: refusals in production, warnings in
 * development. Never contains a secret.
 */
export function secretFindings(v: Pick<AuditView, 'secrets' | 'vaultKeys'>): string[] {
  const out: string[] = [];
  (v.secrets ?? []).forEach((secret, i) => {
    if (typeof secret !== 'string' || secret.length === 0) return;
    const weakness = secretWeakness(secret);
    if (weakness) out.push(`session.secrets[${i}]: ${weakness}. ${SECRET_FIX}`);
  });
  const seen: Array<{ id: string; index: number; key: Buffer }> = [];
  (Array.isArray(v.vaultKeys) ? v.vaultKeys : []).forEach((entry, i) => {
    if (typeof entry !== 'string') return;
    const at = `vault.keys[${i}]`;
    const parsed = parseVaultKeys([entry], [], at);
    if (parsed.size !== 1) return; // malformed: reported by validation
    const [id, key] = [...parsed][0]!;
    const twin = seen.find((s) => s.key.equals(key));
    seen.push({ id, index: i, key });
    if (twin) {
      out.push(`${at}: key '${id}' has the same key material as '${twin.id}' (vault.keys[${twin.index}]), so rotating to it changes nothing. ${KEY_FIX}`);
      return;
    }
    const weakness = keyMaterialWeakness(key);
    if (weakness) out.push(`${at}: key '${id}' ${weakness}. ${KEY_FIX}`);
  });
  return out;
}

/**
 * The startup self-audit on whatever parts of the options are valid: every setting that
 * production refuses, each with its fix.
 */
export function productionFindings(v: AuditView): string[] {
  const out: string[] = [];
  if (v.store?.volatile) {
    out.push(`session.store: the ${v.store.kind} store loses every session on restart and is not shared between instances. Use RedisStore (several instances) or SqliteStore (one machine).`);
  }
  if (v.cookie) {
    if (!v.cookie.secure) out.push('session.cookie.secure: must be true in production (the cookie would cross the network in clear text). Remove the option; serve over HTTPS.');
    if (v.cookie.sameSite === 'none') out.push("session.cookie.sameSite: 'none' sends the cookie on cross-site requests. Use 'strict' (default) or 'lax'.");
    const lower = v.cookie.name.toLowerCase();
    if (!lower.startsWith('__host-') && !lower.startsWith('__secure-')) {
      out.push(`session.cookie.name: ${show(v.cookie.name)} has no __Host- or __Secure- prefix, so a subdomain or plain-HTTP page could overwrite it. Use '__Host-sid' (default).`);
    }
  }
  out.push(...secretFindings({ secrets: v.secrets }));
  const { maxIdleTimeoutMs, maxAbsoluteTimeoutMs } = PRODUCTION_LIMITS;
  if (v.idleTimeoutMs !== undefined && v.idleTimeoutMs > maxIdleTimeoutMs) {
    out.push(
      `session.idleTimeoutMs: ${v.idleTimeoutMs} (${duration(v.idleTimeoutMs)}) is above the production limit of ${maxIdleTimeoutMs} (24 hours): an unused session, and a stolen cookie with it, stays valid that long. ` +
        `OWASP's session guidance suggests 15-30 minutes for most apps (2-5 for high-value ones). Set at most ${maxIdleTimeoutMs}; the default is 1800000 (30 minutes).`,
    );
  }
  if (v.absoluteTimeoutMs === null) out.push('session.absoluteTimeoutMs: null (no absolute timeout) lets a stolen session live forever. Set one, e.g. 12 hours (default).');
  else if (v.absoluteTimeoutMs !== undefined && v.absoluteTimeoutMs > maxAbsoluteTimeoutMs) {
    out.push(
      `session.absoluteTimeoutMs: ${v.absoluteTimeoutMs} (${duration(v.absoluteTimeoutMs)}) is above the production limit of ${maxAbsoluteTimeoutMs} (30 days): a stolen session kept busy stays valid that long. ` +
        `OWASP's session guidance ties it to how long the app is really used (e.g. 4-8 hours for a working day). Set at most ${maxAbsoluteTimeoutMs}; the default is 43200000 (12 hours).`,
    );
  }
  if (v.requireHttps === false) out.push('transport.requireHttps: false lets session cookies and keys travel over plain HTTP. Remove the option; terminate TLS in front of the app and set transport.trustProxy.');
  for (const svc of v.proxy?.values() ?? []) {
    if (svc.insecureTls) out.push(`proxy.services.${svc.name}.dangerouslyDisableTlsVerification: certificate checks are off, so anyone on the path can read the key. Remove it; add the upstream's CA instead.`);
  }
  out.push(...secretFindings({ vaultKeys: v.vaultKeys }));
  if (v.demoUsers) out.push('demoUsers: the app ships demo users with known passwords. Remove them (e.g. unset KEYWARD_DEMO_USERS) before running in production.');
  return out;
}

/**
 * The startup self-audit: every setting that production refuses, each with its fix.
 * Empty when the configuration is safe to run in production. (The HTTP listener is
 * judged at bootstrap, by {@link listenerFindings}.)
 */
export function auditProduction(o: ResolvedKeywardOptions): string[] {
  const s = o.session;
  const ids = o.keyRing?.ids ?? [];
  const material = o.keyRing?.material() ?? [];
  return productionFindings({
    store: s.store,
    cookie: s.cookie,
    secrets: s.secrets,
    idleTimeoutMs: s.idleTimeoutMs,
    absoluteTimeoutMs: s.absoluteTimeoutMs,
    requireHttps: o.transport.requireHttps,
    proxy: o.proxy,
    demoUsers: o.demoUsers,
    vaultKeys: ids.map((id, i) => `${id}:${material[i]!.toString('base64')}`),
  });
}

/**
 * What production warns about at startup without refusing: with no host name configured,
 * the Host allowlist answers only IP addresses and localhost (421 otherwise).
 */
export function productionWarnings(o: Pick<ResolvedKeywardOptions, 'production' | 'transport' | 'origin'>): string[] {
  if (!o.production || o.transport.publicOrigin || o.origin.allowedOrigins.size > 0 || o.origin.allowedHosts?.length) return [];
  return [
    'No host name is configured (transport.publicOrigin, origin.allowedHosts or origin.allowedOrigins): only IP addresses and localhost are answered, ' +
      'every request for a domain name gets 421 KW_HOST_NOT_ALLOWED (DNS-rebinding defence). Set transport.publicOrigin to the address users open.',
  ];
}

/**
 * The part of the self-audit that needs the HTTP server, run at application bootstrap:
 * in production, a plain-HTTP listener with no trusted proxy would answer every request
 * `403 KW_HTTPS_REQUIRED`, so it refuses to start instead. `listener` is null when the
 * app has no HTTP server of its own (an application context).
 */
export function listenerFindings(o: Pick<ResolvedKeywardOptions, 'production' | 'transport'>, listener: { tls: boolean } | null): string[] {
  const t = o.transport;
  // redirectHttp: this listener exists to send clients to the HTTPS origin (publicOrigin).
  if (!o.production || !t.requireHttps || !listener || listener.tls || t.trustsProxy || t.httpsServedElsewhere || t.redirectHttp) return [];
  return [
    'transport.trustProxy: production requires HTTPS, but this app listens on plain HTTP and trusts no proxy, so every request would be refused with 403 KW_HTTPS_REQUIRED. ' +
      "Behind a TLS-terminating proxy (nginx, a load balancer, an ingress), set transport.trustProxy to 'loopback' or to the proxy's IP addresses; " +
      'or serve HTTPS directly: NestFactory.create(AppModule, { httpsOptions: { key, cert } }); ' +
      'or, if clients reach this process over TLS through a server of your own or a serverless adapter, set transport.httpsServedElsewhere: true.',
  ];
}
