import { inspect } from 'node:util';
import { REDACTED, maskTail, secretStrength } from '@keyward/core';
import { InvalidArgumentError, VaultError, VaultErrorCode } from '../keyward.errors.js';
import { MIN_SCRUBBABLE_LENGTH, liveSecrets } from '../redaction/live-secrets.js';

/** Marks a value the caller already registered (a user's key, held by its slot). */
const HELD: unique symbol = Symbol('kw.secret.held');

/**
 * A secret value that refuses to be printed: `toString`, `toJSON`, template strings and
 * `util.inspect` (so `console.log` and loggers) all show `[REDACTED]`. Call `reveal()`
 * only where the plaintext is needed, e.g. to set an outgoing header.
 *
 * @example
 * await vault.use(session, 'openai', (key) => client.call({ apiKey: key.reveal() }));
 */
export class Secret {
  readonly #value: string;

  /**
   * @param value the plaintext, at least {@link MIN_SCRUBBABLE_LENGTH} (8) characters: a
   * shorter value could not be scrubbed from logs, so it is refused (TypeError) rather
   * than used.
   */
  constructor(value: string, held?: typeof HELD) {
    if (typeof value !== 'string' || value.length === 0) throw new TypeError('A Secret needs a non-empty string.');
    if (value.length < MIN_SCRUBBABLE_LENGTH) {
      throw new TypeError(`A Secret must be at least ${MIN_SCRUBBABLE_LENGTH} characters: a shorter value cannot be scrubbed from logs reliably.`);
    }
    this.#value = value;
    if (held !== HELD) liveSecrets.add(value); // whatever holds it, it never reaches a log line
  }

  /** The plaintext. Keep it in a local variable for as short a time as possible. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}

/** At most the last 4 characters, never more than a quarter of the key. */
export function maskSecret(value: string): string {
  return maskTail(value);
}

/** Shortest user key accepted: shorter values are too easily confused with ordinary log text. */
export const USER_KEY_MIN_LENGTH = 16;
/** Longest user key accepted (real API keys and tokens are far shorter; it bounds the redaction registry). */
export const USER_KEY_MAX_LENGTH = 1024;
/**
 * The fewest bits a value a user brings must hold, as `@keyward/core`'s `secretStrength`
 * estimates it (which discounts words, repeats, runs, keyboard walks and dates). Every
 * provider key format we measured passes with room to spare (an AWS access key id at
 * least 78, 32 hex digits 128, `sk_live_` + 24 base62 172, a 40-character AWS secret or a
 * 44-character Azure key over 200); log text does not: the longest framework and Keyward
 * identifiers measured 50-62 (`RouterExplorerNestApplication` 58, `KW_PROXY_UPSTREAM_FAILED` 49).
 */
export const USER_KEY_MIN_BITS = 64;
/**
 * The characters a user-supplied secret may hold: letters, digits and `- _ . + / = ~`. It is
 * the alphabet of keys and tokens in the wild (base64 and base64url, hex, `sk_live_...`,
 * `ghp_...`, `AIza...`, JWTs, and RFC 6750's bearer-token syntax), and it leaves out every
 * character that gives log text its structure (quotes, braces, brackets, colons, commas,
 * whitespace, backslashes, `%`, `&`, `?`): a value a user chose can then only ever match inside
 * one field of a log line, never across a field's syntax.
 */
const KEY_ALPHABET = /^[A-Za-z0-9\-_.+/=~]+$/;
/** What a refusal says a key must look like (never the value). */
const KEY_SHAPE = 'a key must be the random string your provider issued: letters, digits and - _ . + / = ~ only (no spaces, quotes, colons or braces), not words, dates or repeated text';

function shapeProblem(value: string): string | null {
  if (/\s/.test(value)) return 'A key must not contain spaces, tabs or line breaks; paste the key alone.';
  if (!KEY_ALPHABET.test(value)) return `This does not look like an API key: ${KEY_SHAPE}.`;
  if (secretStrength(value).bits < USER_KEY_MIN_BITS) return `This does not look like an API key (too predictable to tell apart from log text): ${KEY_SHAPE}.`;
  return null;
}

/**
 * Checks a key a user submits (bring your own key) before anything else touches it: a
 * string of {@link USER_KEY_MIN_LENGTH}-{@link USER_KEY_MAX_LENGTH} characters of
 * `A-Z a-z 0-9 - _ . + / = ~`, holding at least {@link USER_KEY_MIN_BITS} bits as
 * `@keyward/core` estimates it. A stored key is scrubbed from every log line, so a value a
 * user chose must not be able to look like log text. Throws `InvalidArgumentError`
 * (`KW_INVALID_ARGUMENT`, 400) with a message that says what a key must look like and never
 * quotes the value.
 *
 * @example
 * checkUserKey(body.key); // then vault.putUser(...)
 */
export function checkUserKey(value: unknown): asserts value is string {
  if (typeof value !== 'string') throw new InvalidArgumentError('A key must be a string.');
  if (value.length < USER_KEY_MIN_LENGTH) {
    throw new InvalidArgumentError(`A key must be at least ${USER_KEY_MIN_LENGTH} characters long: shorter values cannot be told apart from ordinary log text, so they could not be kept out of logs.`);
  }
  if (value.length > USER_KEY_MAX_LENGTH) throw new InvalidArgumentError(`A key must be at most ${USER_KEY_MAX_LENGTH} characters long.`);
  const problem = shapeProblem(value);
  if (problem !== null) throw new InvalidArgumentError(problem);
}

/**
 * A value stored in a session (`vault.putSession`) joins the same user pool of the registry
 * as a user's keys, and an app may store what a client sent: it must have the same shape
 * (its length is checked by the vault).
 */
function checkSessionValue(value: string): void {
  const problem = shapeProblem(value);
  if (problem !== null) throw new InvalidArgumentError(problem);
}

/** Owner of held values: a user (their own keys) or a session (values stored in it). Memory only, never logged. */
function userGroup(userId: string): string {
  return `u\u0000${userId}`;
}
/** A session's values are grouped by its public handle, which stays the same across ID rotations. */
function sessionGroup(sessionHandle: string): string {
  return `s\u0000${sessionHandle}`;
}
/** The registry slot of a value: one per owner and credential name. */
function slotOf(group: string, name: string): string {
  return `${group}\u0000${name}`;
}

/** Per slot, the last queued put or delete: changes to one slot run one after the other in this process. */
const pending = new Map<string, Promise<unknown>>();

function serialised<T>(slot: string, fn: () => Promise<T>): Promise<T> {
  const run = (pending.get(slot) ?? Promise.resolve()).then(fn);
  const settled = run.catch(() => undefined);
  pending.set(slot, settled);
  void settled.then(() => {
    if (pending.get(slot) === settled) pending.delete(slot);
  });
  return run;
}

/**
 * Stores a (checked) value with `write`, keeping the redaction registry in step: the
 * value is registered before it is written (so it is scrubbed from the first moment it
 * can be used), the value it replaces is released once the write succeeded, and the new
 * one is released if the write failed. Puts and deletes of one slot are serialised in
 * this process, so the registry ends up holding the value stored last. Throws
 * `RedactionCapacityError` (nothing written) if the registry cannot take it.
 */
function storeHeld(group: string, account: string, name: string, value: string, write: () => Promise<void>): Promise<void> {
  const slot = slotOf(group, name);
  return serialised(slot, async () => {
    const added = liveSecrets.hold(slot, group, value, account);
    try {
      await write();
    } catch (e) {
      if (added) liveSecrets.release(slot, { only: value });
      throw e;
    }
    liveSecrets.release(slot, { keep: value });
  });
}

function removeHeld<T>(group: string, name: string, remove: () => Promise<T>): Promise<T> {
  const slot = slotOf(group, name);
  return serialised(slot, async () => {
    const result = await remove();
    liveSecrets.release(slot);
    return result;
  });
}

/** A value just opened from the vault, as a `Secret` held by its slot (a different value the slot held was replaced elsewhere and is released). */
function openedHeld(group: string, account: string, name: string, value: string): Secret {
  // A value stored before values had a minimum length: refuse to use it rather than leak it.
  if (value.length < MIN_SCRUBBABLE_LENGTH) throw new VaultError(VaultErrorCode.CredentialMissing, `The stored key for "${name}" is too short to be kept out of logs; store a new one.`);
  const slot = slotOf(group, name);
  // A value stored before keys had to look like keys could match log text: refuse to use it
  // (it would blank that text in every line) rather than hold it. Judged once per value held.
  if (!liveSecrets.holds(slot, value) && shapeProblem(value) !== null) {
    throw new VaultError(VaultErrorCode.CredentialMissing, `The stored key for "${name}" does not look like an API key, so it cannot be kept out of logs safely; store a new one.`);
  }
  liveSecrets.hold(slot, group, value, account);
  // While a replacement is being stored here, both stay scrubbed; the put settles the slot.
  if (!pending.has(slot)) liveSecrets.release(slot, { keep: value });
  return new Secret(value, HELD);
}

/** The session a value is stored in, and its user. */
type SessionHolder = { readonly handle: string; readonly userId: string };

/** A user's key: see {@link storeHeld}. @internal */
export const storeUserKey = (userId: string, name: string, value: string, write: () => Promise<void>): Promise<void> => storeHeld(userGroup(userId), userGroup(userId), name, value, write);
/** Deletes a user's key with `remove`, then stops scrubbing it (other holders of the value keep it scrubbed). @internal */
export const removeUserKey = (userId: string, name: string, remove: () => Promise<boolean>): Promise<boolean> => removeHeld(userGroup(userId), name, remove);
/** A user's key just opened. @internal */
export const openedUserKey = (userId: string, name: string, value: string): Secret => openedHeld(userGroup(userId), userGroup(userId), name, value);
/**
 * A value stored in a session: held by the session (released when it ends), counted against
 * its user's bounds with the user's own keys, so opening more sessions gains no room. See {@link storeHeld}. @internal
 */
export const storeSessionValue = (session: SessionHolder, name: string, value: string, write: () => Promise<void>): Promise<void> => {
  checkSessionValue(value);
  return storeHeld(sessionGroup(session.handle), userGroup(session.userId), name, value, write);
};
/** Removes a session value with `remove`, then stops scrubbing it. @internal */
export const removeSessionValue = (sessionHandle: string, name: string, remove: () => Promise<void>): Promise<void> => removeHeld(sessionGroup(sessionHandle), name, remove);
/** A session value just opened. @internal */
export const openedSessionValue = (session: SessionHolder, name: string, value: string): Secret => openedHeld(sessionGroup(session.handle), userGroup(session.userId), name, value);

/** A session ended: every value it held stops counting against the registry (and is no longer scrubbed unless held elsewhere). @internal */
export const releaseSessionValues = (sessionHandle: string): void => liveSecrets.releaseOwner(sessionGroup(sessionHandle));
