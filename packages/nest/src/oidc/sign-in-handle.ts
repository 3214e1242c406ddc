import { SealedHandles } from '../oauth/sealed-handle.js';

/** A sign-in between its start and its callback. */
export interface PendingSignIn {
  /** The transaction's random id: its single-use mark in the store is named after it. */
  id: string;
  state: string;
  verifier: string;
  nonce: string;
  /** The same-origin path to send the browser to afterwards. */
  returnTo: string;
  redirectUri: string;
  /** When it started (ms since the epoch, the session clock). */
  createdAt: number;
  /** A silent re-authentication (`prompt=none`): the provider's "no session" comes back to `returnTo`. */
  silent?: boolean;
}

/**
 * The opaque value of the sign-in's `SameSite=Lax` cookie (there is no session yet to keep
 * the pending sign-in in): the whole pending sign-in sealed ({@link SealedHandles}, a label
 * of its own), so the browser carries
 * bytes it can neither read nor alter. It is single use through a mark the callback sets
 * in the store (`acquireLease('oidc-tx:<id>')`), so a replay fails on every instance, and
 * it expires with `oidc.transactionTtlMs`. The start writes nothing to the store: an
 * anonymous route cannot be used to fill it.
 */
export class SignInHandles extends SealedHandles<PendingSignIn> {
  /** `secrets`: the session secrets, newest first (the newest seals; all open). */
  constructor(secrets: readonly string[]) {
    super(secrets, 'keyward oidc sign-in handle v1', (p) => {
      const strings = [p.id, p.state, p.verifier, p.nonce, p.returnTo, p.redirectUri];
      const ok = strings.every((s) => typeof s === 'string') && typeof p.createdAt === 'number' && (p.silent === undefined || p.silent === true);
      return ok ? (p as unknown as PendingSignIn) : undefined;
    }, 3072);
  }
}
