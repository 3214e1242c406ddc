/** Who a session belongs to. `id` is required and stable; the rest is yours. */
export interface SessionUser {
  id: string;
  name?: string;
  [key: string]: unknown;
}

/**
 * Why a session ended; passed to lifecycle listeners. `cap`: a newer login of the same user
 * went past `session.maxPerUser`; `reuse`: a rotated-out ID was used after its grace period
 * (a stolen cookie), so the whole session ended; `backchannel`: the OpenID provider said the
 * user's session there ended (a back-channel logout token).
 */
export type SessionEndReason = 'logout' | 'logout-all' | 'revoked' | 'expired' | 'replaced' | 'cap' | 'reuse' | 'backchannel';

/** A session as users of the library see it (no store key, no cookie value). */
export interface SessionInfo {
  /** Public handle: safe to show and to pass to `revoke()`. */
  id: string;
  user: SessionUser;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  absoluteExpiresAt: Date;
  /** When the session's current ID was issued (login, a privilege change or a timed rotation). */
  idIssuedAt: Date;
}

/**
 * Something that must happen when a session is created, moved to a new ID, or ended
 * (the vault deletes its keys and revokes minted ones). Listener failures are reported,
 * never swallowed silently, and never stop the session from ending.
 */
export interface SessionLifecycleListener {
  /** After login created the session (best effort: a failure does not fail the login). */
  onSessionStarted?(session: import('../stores/session-store.interface.js').StoredSession): Promise<void>;
  /**
   * A same-user regenerate is moving the session's data from store key `from` to store key
   * `to`: return the data to store under `to`, with whatever is bound to the old key
   * re-bound (the vault re-wraps the session's data key). Synchronous and must not throw:
   * what cannot be re-bound is dropped (fail closed), never carried over unbound.
   */
  onSessionMoving?(data: Readonly<Record<string, string>>, from: string, to: string): Record<string, string>;
  onSessionEnded?(session: import('../stores/session-store.interface.js').StoredSession, reason: SessionEndReason): Promise<void>;
}
