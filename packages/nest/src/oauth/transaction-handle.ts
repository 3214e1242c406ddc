import { SealedHandles } from './sealed-handle.js';

/** What the browser's transaction cookie points to: a session (its store key) and one pending transaction in it. */
export interface TransactionPointer {
  /** Store key of the session that started the flow (a hash of its ID, never the ID). */
  k: string;
  /** The transaction's random id (its sealed entry in the session is named after it). */
  t: string;
  /** The connection's name. */
  n: string;
}

/**
 * The opaque handle the browser carries from the start of a flow to its callback, in a
 * short-lived HttpOnly `SameSite=Lax` cookie: it must survive the provider's cross-site
 * redirect back, which a `SameSite=Strict` session cookie does not. Sealed
 * ({@link SealedHandles}); it holds no state, verifier or nonce: those stay in the session, on
 * the server. Not a bearer of anything alone: the transaction it names is single use and
 * bound to the session.
 */
export class TransactionHandles extends SealedHandles<TransactionPointer> {
  /** `secrets`: the session secrets, newest first (the newest seals; all open). */
  constructor(secrets: readonly string[]) {
    super(secrets, 'keyward oauth transaction handle v1', (p) =>
      typeof p.k === 'string' && typeof p.t === 'string' && typeof p.n === 'string' ? { k: p.k, t: p.t, n: p.n } : undefined,
    );
  }
}
