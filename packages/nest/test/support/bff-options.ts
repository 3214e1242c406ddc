import { MintedKeyProvider, ServerKeyProvider, UserKeyProvider, type Clock, type KeyIssuer, type KeywardModuleOptions, type ProxyServiceOptions, type SessionStore } from '../../src/index.js';
import { secret, vaultKey } from './secrets.js';

/** A proxy service on the test upstream's `/v1/`, with the key in `x-api-key`. */
export function upstreamService(upstreamUrl: string, credential: string, extra: Partial<ProxyServiceOptions> = {}): ProxyServiceOptions {
  return {
    baseUrl: `${upstreamUrl}/v1/`,
    credential,
    key: { header: 'x-api-key' },
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    allowHttpToLoopback: true,
    timeoutMs: 5000,
    ...extra,
  };
}

/**
 * Options of a BFF with the three providers (`server`, `minted`, `byok`) and a proxy
 * service for each, all on the test upstream.
 */
export function bffOptions(o: {
  store: SessionStore;
  upstreamUrl: string;
  serverKeys: string[];
  issuer: KeyIssuer;
  clock?: Clock;
  rotateEveryMs?: number;
  graceMs?: number;
  revokeRetryDelaysMs?: number[];
  vaultKeys?: string[];
  extraServices?: Record<string, ProxyServiceOptions>;
  session?: Partial<KeywardModuleOptions['session']>;
  rest?: Partial<KeywardModuleOptions>;
}): KeywardModuleOptions {
  return {
    session: { secrets: [secret()], store: o.store, sweepIntervalMs: 0, ...(o.clock ? { clock: o.clock } : {}), ...o.session },
    vault: { keys: o.vaultKeys ?? [vaultKey('k1')] },
    credentials: {
      server: new ServerKeyProvider({ keys: o.serverKeys }),
      minted: new MintedKeyProvider({ issuer: o.issuer, rotateEveryMs: o.rotateEveryMs ?? 900_000, graceMs: o.graceMs ?? 60_000, revokeRetryDelaysMs: o.revokeRetryDelaysMs }),
      byok: new UserKeyProvider(),
    },
    proxy: {
      services: {
        server: upstreamService(o.upstreamUrl, 'server'),
        minted: upstreamService(o.upstreamUrl, 'minted'),
        byok: upstreamService(o.upstreamUrl, 'byok'),
        ...o.extraServices,
      },
    },
    ...o.rest,
  };
}
