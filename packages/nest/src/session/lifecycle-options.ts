import { duration, show } from '../util/option-checks.js';
import type { SessionStore } from '../stores/session-store.interface.js';

const DAY = 86_400_000;
/** Library defaults of the session lifecycle options. */
export const DEFAULT_ROTATE_EVERY_MS = 15 * 60_000;
export const DEFAULT_ROTATE_GRACE_MS = 60_000;
const MAX_PER_USER = 10_000;

/** The resolved lifecycle options (see `SessionOptions`). */
export interface ResolvedLifecycleOptions {
  rotateEveryMs: number | false;
  rotateGraceMs: number;
  maxPerUser: number | null;
}

/**
 * Validates `session.rotateEveryMs`, `session.rotateGraceMs` and `session.maxPerUser`,
 * pushing every problem (with the bad value and the fix) onto `problems`. Returns undefined
 * when any is wrong. `store` is checked for the methods these need only when it is
 * otherwise a SessionStore (pass undefined when it was already refused: one problem each).
 */
export function resolveLifecycleOptions(raw: Record<string, unknown>, store: unknown, problems: string[]): ResolvedLifecycleOptions | undefined {
  const before = problems.length;
  let rotateEveryMs: number | false | undefined = DEFAULT_ROTATE_EVERY_MS;
  if (raw.rotateEveryMs === false) rotateEveryMs = false;
  else if (raw.rotateEveryMs !== undefined) {
    if (raw.rotateEveryMs === null || raw.rotateEveryMs === 0) {
      problems.push(`session.rotateEveryMs: ${show(raw.rotateEveryMs)} is not a way to turn rotation off; pass \`false\` to turn it off, or a number of milliseconds (default ${DEFAULT_ROTATE_EVERY_MS}).`);
      rotateEveryMs = undefined;
    } else {
      rotateEveryMs = duration(raw.rotateEveryMs, 'session.rotateEveryMs', problems, 1000, 30 * DAY);
    }
  }
  // Unset, the grace follows a short rotation interval down (at most half of it), as the touch interval follows the idle timeout.
  const grace =
    raw.rotateGraceMs === undefined
      ? Math.min(DEFAULT_ROTATE_GRACE_MS, typeof rotateEveryMs === 'number' ? Math.max(500, Math.floor(rotateEveryMs / 2)) : DEFAULT_ROTATE_GRACE_MS)
      : duration(raw.rotateGraceMs, 'session.rotateGraceMs', problems, 1000, DAY);
  if (typeof rotateEveryMs === 'number' && grace !== undefined && grace >= rotateEveryMs) {
    problems.push(`session.rotateGraceMs: ${grace} must be shorter than session.rotateEveryMs (${rotateEveryMs}), or a previous ID would outlive the next rotation.`);
  }
  let maxPerUser: number | null = null;
  if (raw.maxPerUser !== undefined && raw.maxPerUser !== null) {
    const v = raw.maxPerUser;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_PER_USER) {
      problems.push(`session.maxPerUser: expected an integer between 1 and ${MAX_PER_USER} (sessions per user), or leave it unset for no cap; got ${show(v)}.`);
    } else maxPerUser = v;
  }
  const s = store as Partial<SessionStore> | null | undefined;
  if (s && typeof s === 'object') {
    if (rotateEveryMs !== false && typeof s.rotate !== 'function') {
      problems.push(`session.store: this store has no rotate(), which ID rotation needs (session.rotateEveryMs). Implement rotate() (see SessionStore), or set session.rotateEveryMs: false.`);
    }
    if (maxPerUser !== null && typeof s.trimUser !== 'function') {
      problems.push(`session.store: this store has no trimUser(), which session.maxPerUser needs. Implement trimUser() (see SessionStore), or leave maxPerUser unset.`);
    }
  }
  if (problems.length > before || rotateEveryMs === undefined || grace === undefined) return undefined;
  return { rotateEveryMs, rotateGraceMs: grace, maxPerUser };
}
