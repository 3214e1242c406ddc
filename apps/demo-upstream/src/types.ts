/**
 * Public types of the demo upstream: its start options, the handle returned by
 * {@link startUpstream}, and the shapes of the values the handle exposes.
 *
 * @packageDocumentation
 */
import type { AccessTokenSettings } from './access-tokens.js';

/**
 * One of the application's own keys for the upstream. A bare string gets a
 * positional id (`server-1`, `server-2`, ...); an object names its id itself.
 */
export type ServerKeyInput = string | { readonly id: string; readonly key: string };

/** Options for {@link startUpstream}. */
export interface UpstreamOptions {
  /** Port to listen on; `0` (the default) picks a free port. */
  readonly port?: number | undefined;
  /** Address to bind; defaults to `127.0.0.1`. */
  readonly host?: string | undefined;
  /**
   * The application's own keys. Several are accepted at once so that a key can be
   * rotated without downtime. Key ids and key values must be unique and non-empty.
   */
  readonly serverKeys: ReadonlyArray<ServerKeyInput>;
  /** Bearer token that guards `/admin/*`. Must be non-empty. */
  readonly adminToken: string;
  /** Lifetime of keys minted without an explicit `ttlMs`; defaults to 24 hours. */
  readonly mintedKeyTtlMs?: number | undefined;
  /**
   * Also accept, on `/v1/`, JWT access tokens from this identity provider for this
   * audience (`Authorization: Bearer <jwt>`); off when omitted.
   * @default undefined
   */
  readonly accessTokens?: AccessTokenSettings | undefined;
}

/** Options for minting a key, through the handle or `POST /admin/keys`. */
export interface MintOptions {
  /** Lifetime in milliseconds (a positive integer); defaults to the server's `mintedKeyTtlMs`. */
  readonly ttlMs?: number | undefined;
  /** Free-form label shown by `GET /admin/keys` (at most 200 characters). */
  readonly label?: string | undefined;
}

/** A freshly minted key. `key` is the only place the key value is ever returned. */
export interface MintedKey {
  /** Public handle: `mk_` followed by 16 hex digits. */
  readonly id: string;
  /** The secret value: `dk_live_` followed by 32 random bytes in base64url. */
  readonly key: string;
  /** Expiry as an ISO 8601 timestamp. */
  readonly expiresAt: string;
}

/** Whether a minted key still authenticates. */
export interface KeyStatus {
  readonly id: string;
  /** `false` once the key is revoked or expired. */
  readonly active: boolean;
}

/** A minted key as listed by `GET /admin/keys` (never includes the key value). */
export interface KeyListing extends KeyStatus {
  readonly label: string | null;
  readonly expiresAt: string;
}

/** The counters served by `GET /admin/stats`. */
export interface AdminStats {
  /** Keys minted since start. */
  readonly minted: number;
  /** Keys revoked since start (revoking twice counts once). */
  readonly revoked: number;
  /** Minted keys that currently authenticate. */
  readonly active: number;
  /** Requests received since start (or since the last `resetStats()`). */
  readonly requests: number;
}

/** What the upstream saw of the most recent request (names only, never header values). */
export interface LastRequest {
  readonly method: string;
  /** The path exactly as received, without the query string. */
  readonly path: string;
  /** Sorted, lower-cased, de-duplicated names of the request headers. */
  readonly headerNames: readonly string[];
}

/** Test-facing counters returned by {@link UpstreamHandle.stats}. */
export interface UpstreamStats {
  /**
   * Requests whose (decoded, dot-segment-normalised) path is under `/internal`.
   * A proxy test asserts this stays `0`.
   */
  readonly internalHits: number;
  /** Requests received. */
  readonly requests: number;
  /** The most recent request, or `null` before the first one. */
  readonly lastRequest: LastRequest | null;
  /** `/v1/slow` requests that ended early because the client went away. */
  readonly slowCancelled: number;
}

/** A running demo upstream, as returned by {@link startUpstream}. */
export interface UpstreamHandle {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:4000`. */
  readonly url: string;
  /** The port actually bound (useful with `port: 0`). */
  readonly port: number;
  /** The bound address. */
  readonly host: string;
  /** Ids of the server keys currently accepted, in order. */
  readonly serverKeyIds: readonly string[];
  /** Stops listening and closes every connection, idle keep-alive ones included. Idempotent. */
  close(): Promise<void>;
  /** Mints a key in-process, exactly as `POST /admin/keys` would. */
  mint(options?: MintOptions): MintedKey;
  /** Revokes a minted key. Returns `false` if the id is unknown. */
  revoke(id: string): boolean;
  /** Status of a minted key, or `undefined` if the id is unknown. */
  keyStatus(id: string): KeyStatus | undefined;
  /**
   * Starts accepting another server key (for rotation tests).
   * @returns the key's id (the given one, or the next free `server-N`).
   */
  addServerKey(key: string, id?: string): string;
  /** Stops accepting a server key. Returns `false` if the id is unknown. */
  removeServerKey(id: string): boolean;
  /** Counters for tests; see {@link UpstreamStats}. */
  stats(): UpstreamStats;
  /** The counters served by `GET /admin/stats`. */
  adminStats(): AdminStats;
  /** Resets `requests`, `internalHits`, `slowCancelled` and `lastRequest`. */
  resetStats(): void;
}
