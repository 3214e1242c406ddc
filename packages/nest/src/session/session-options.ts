import type { SessionStore } from '../stores/session-store.interface.js';
import type { Clock } from '../util/clock.js';

/** The session engine's options after validation, with every default filled in. */
export interface ResolvedSessionOptions {
  secrets: readonly string[];
  store: SessionStore;
  cookie: {
    name: string;
    secure: boolean;
    sameSite: 'strict' | 'lax' | 'none';
    path: string;
    domain: string | undefined;
  };
  idleTimeoutMs: number;
  absoluteTimeoutMs: number | null;
  touchIntervalMs: number;
  requireByDefault: boolean;
  sweepIntervalMs: number;
  /** ID rotation period while the user is active; false: never. */
  rotateEveryMs: number | false;
  /** How long the previous ID keeps working after a rotation. */
  rotateGraceMs: number;
  /** Sessions one user may hold; a login beyond it ends the oldest. null: no cap. */
  maxPerUser: number | null;
  clock: Clock;
}

/** The lifetime given to a session when the absolute timeout is disabled (development only): 100 years. */
const NO_ABSOLUTE_TIMEOUT = 100 * 365 * 86_400_000;

/** The absolute lifetime actually applied (a very long one when disabled). */
export function absoluteLifetime(s: ResolvedSessionOptions): number {
  return s.absoluteTimeoutMs ?? NO_ABSOLUTE_TIMEOUT;
}
