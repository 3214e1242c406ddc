import { logId } from '../redaction/live-secrets.js';

/**
 * The security events Keyward reports. Each is logged once (one structured line with an
 * `event` field) and handed to every subscriber of `KeywardEvents`. See
 * docs/security-events.md for what each means and which ASVS requirement it serves.
 */
export type SecurityEventName =
  | 'session.created'
  | 'session.rotated'
  | 'session.ended'
  | 'login.failed'
  | 'request.refused'
  | 'credential.minted'
  | 'credential.revoked'
  | 'credential.revoke-failed'
  | 'store.unavailable'
  | 'store.recovered';

/** Why a session ended, as the `session.ended` event says it. */
export type SessionEndedReason = 'logout' | 'logout-all' | 'revoked' | 'idle' | 'absolute' | 'cap' | 'reuse' | 'replaced' | 'backchannel';

/**
 * One security event. Never carries a secret, a cookie value or a session ID: sessions,
 * users and keys appear only as keyed hashes (`*Ref`, see `logId`), stable within one
 * process, so lines about the same session correlate and nothing can be recovered.
 */
export interface SecurityEvent {
  event: SecurityEventName;
  /** ISO 8601 time of the event. */
  at: string;
  /** `info` for the normal lifecycle, `warn` for refusals and failures, `critical` for a likely attack (ID reuse). */
  severity: 'info' | 'warn' | 'critical';
  /** Keyed hash of the session's store key (never the ID). */
  sessionRef?: string;
  /** `session.rotated`: keyed hash of the successor's store key. */
  successorRef?: string;
  /** Keyed hash of the user ID (or, for `login.failed`, of the submitted username). */
  userRef?: string;
  /** `session.ended`, `login.failed`: why. OAuth `credential.revoked` / `revoke-failed`: which end (a session end reason, `disconnect`, `replaced`, `invalid_grant`). */
  reason?: string;
  /** `request.refused`: the stable KW_* code of the refusal. */
  code?: string;
  /** The request's id (the `X-Request-Id` answered), when known. */
  requestId?: string;
  /** `credential.*`: the credential's configured name (e.g. `demo-session`), never its value. */
  credentialName?: string;
  /** `credential.*`: keyed hash of the upstream's key id. */
  keyRef?: string;
  /** `store.*`: the store's kind (`redis`, `sqlite`, `memory`). */
  storeKind?: string;
  /** `credential.*`: how many keys an event covers, when more than one. */
  count?: number;
}

/** What emits events: the session engine, the providers and the app (login failures). */
export interface SecurityEventSink {
  emit(event: Omit<SecurityEvent, 'at' | 'severity'> & { severity?: SecurityEvent['severity'] }): void;
}

/** A sink that drops everything (an engine built without the module, e.g. in unit tests). */
export const NO_EVENTS: SecurityEventSink = { emit: () => undefined };

/** Keyed hash of a session store key, for events. */
export const sessionRef = (storeKey: string): string => logId(storeKey);
/** Keyed hash of a user ID or a submitted username, for events (namespaced: never equal to a sessionRef). */
export const userRef = (userId: string): string => logId(`user:${userId}`);
/** Keyed hash of an upstream key id, for events. */
export const keyRef = (keyId: string): string => logId(`key:${keyId}`);
