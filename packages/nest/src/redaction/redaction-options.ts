import { isPlainObject, show, unknownKeys } from '../util/option-checks.js';

/**
 * Bounds of the redaction registry (the one `liveSecrets` of the process), set with
 * `KeywardModule.forRoot({ redaction: { ... } })`. Every bound is per pool: one pool never
 * evicts another's entries. See docs/memory.md.
 *
 * @example KeywardModule.forRoot({ ..., redaction: { capacity: 50_000, perUser: 16 } })
 */
export interface RedactionOptions {
  /**
   * Run-time secrets (minted keys, values opened from the vault, `liveSecrets.add()`):
   * at most this many; past it the least recently used are forgotten.
   * @default 20_000
   */
  capacity?: number;
  /**
   * Run-time secrets: at most this many bytes of V8 heap (as {@link registryEntryBytes}
   * counts them; least recently used forgotten past it). The default holds `capacity`
   * (20,000) keys of up to 64 characters (about 2.9 KB each), so for ordinary keys the entry
   * count is the bound that applies; this one caps long values.
   * @default 64 MiB
   */
  maxBytes?: number;
  /**
   * Users' own keys (all users): at most this many.
   * @default 20_000
   */
  userCapacity?: number;
  /**
   * Users' own keys (all users): at most this many bytes of V8 heap (as for `maxBytes`).
   * @default 64 MiB
   */
  userMaxBytes?: number;
  /**
   * Keys one user may hold at a time, over all of the user's sessions: the user's own keys
   * and the values stored in any of their sessions (one per credential name and holder,
   * plus one being replaced).
   * @default 32
   */
  perUser?: number;
  /**
   * Bytes one user may hold over all of their sessions, counted as for `maxBytes` (a value being replaced is not counted).
   * @default 1 MiB
   */
  perUserBytes?: number;
  /**
   * A user's key not stored or opened for this long may be forgotten to make room for
   * another user's (its plaintext is then no longer in memory: the vault holds only
   * ciphertext, and opening it registers it again before it is revealed). A key used
   * more recently than this is never pushed out: the new one is refused instead.
   * @default 900_000 (15 minutes)
   */
  userIdleMs?: number;
}

/** @deprecated The registry's bounds are {@link RedactionOptions}, given to `KeywardModule.forRoot({ redaction })`. */
export type LiveSecretsLimits = RedactionOptions;

/** Every bound, resolved. */
export type ResolvedRedactionOptions = Required<RedactionOptions>;

export const REDACTION_DEFAULTS: ResolvedRedactionOptions = Object.freeze({
  capacity: 20_000,
  maxBytes: 64 * 1024 * 1024,
  userCapacity: 20_000,
  userMaxBytes: 64 * 1024 * 1024,
  perUser: 32,
  perUserBytes: 1024 * 1024,
  userIdleMs: 900_000,
});

const KEYS = Object.keys(REDACTION_DEFAULTS) as Array<keyof RedactionOptions>;
/** Each bound's floor: below it the registry could not hold what Keyward itself registers. */
const FLOOR: Record<keyof RedactionOptions, number> = { capacity: 100, maxBytes: 1024 * 1024, userCapacity: 100, userMaxBytes: 1024 * 1024, perUser: 1, perUserBytes: 16 * 1024, userIdleMs: 0 };

/** Validates `redaction` (every problem pushed, with its fix); defaults for what is not set. */
export function resolveRedactionOptions(raw: unknown, problems: string[]): ResolvedRedactionOptions {
  if (raw === undefined) return REDACTION_DEFAULTS;
  if (!isPlainObject(raw)) {
    problems.push(`redaction: expected an object of registry bounds (${KEYS.join(', ')}), got ${show(raw)}.`);
    return REDACTION_DEFAULTS;
  }
  unknownKeys(raw, KEYS, 'redaction.', problems);
  const out: Record<string, number> = { ...REDACTION_DEFAULTS };
  for (const key of KEYS) {
    const v = (raw as Record<string, unknown>)[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < FLOOR[key]) {
      problems.push(`redaction.${key}: expected a whole number >= ${FLOOR[key]} (default ${REDACTION_DEFAULTS[key]}), got ${show(v)}.`);
      continue;
    }
    out[key] = v;
  }
  if (out.perUserBytes! > out.userMaxBytes!) problems.push(`redaction.perUserBytes (${out.perUserBytes}) is more than redaction.userMaxBytes (${out.userMaxBytes}): one user could fill the whole pool.`);
  if (out.perUser! > out.userCapacity!) problems.push(`redaction.perUser (${out.perUser}) is more than redaction.userCapacity (${out.userCapacity}): one user could fill the whole pool.`);
  return Object.freeze(out) as ResolvedRedactionOptions;
}

