import type { StoredSession } from '../stores/session-store.interface.js';
import type { Clock } from '../util/clock.js';

/**
 * Clock differences between this instance and the store (or another instance) up to this
 * many milliseconds are treated as noise (round trip, scheduling); beyond it, the later
 * clock is believed.
 */
export const MAX_CLOCK_SKEW_MS = 2_000;
/**
 * The most this instance moves its clock forward on another instance's word (a record last
 * seen later than this clock's now). Another host's clock may be wrong: one an hour fast
 * would otherwise make this instance end every live session as expired. A store with a
 * clock of its own (Redis `TIME`) is believed without a bound, and then no instance's word
 * counts at all.
 */
export const MAX_LEARNED_LEAD_MS = 60_000;
/** How often a store with a clock is asked its time (in the background; only the first ask is waited for). */
export const STORE_TIME_REFRESH_MS = 10_000;

/** What the clock needs of the store: its time, when it has a clock of its own. */
export interface TimedStore {
  time?(): Promise<number>;
}

/**
 * The time by which this instance judges sessions: its own clock, moved forward when the
 * store has shown that this clock lags; never backward.
 *
 * A store with a clock of its own (`SessionStore.time`: Redis `TIME`) is the authority: it
 * is asked once before the first session is judged, then every {@link STORE_TIME_REFRESH_MS}
 * in the background, and its touches report its time too; nothing else is believed. A store
 * without one (SQLite, memory: shared by instances on one host or a volume) gives only
 * another instance's word, a record last seen later than this clock's now, which can only
 * raise the lead, and at most to {@link MAX_LEARNED_LEAD_MS}.
 */
export class StoreClock {
  private leadMs = 0;
  private warned = false;
  private askedAt = -Infinity;
  private asking: Promise<void> | undefined;
  private readonly storeHasClock: boolean;

  constructor(
    private readonly clock: Clock,
    private readonly store: TimedStore,
  ) {
    this.storeHasClock = typeof store.time === 'function';
  }

  /**
   * Asks the store's clock when it is due: a promise to wait for before the first judgement
   * (or after {@link STORE_TIME_REFRESH_MS} without an answer), else nothing (a refresh runs
   * in the background). Stores without a clock: nothing.
   */
  sync(): Promise<void> | undefined {
    if (!this.storeHasClock) return undefined;
    const local = this.clock.now();
    if (local - this.askedAt < STORE_TIME_REFRESH_MS) return undefined;
    const first = this.askedAt === -Infinity;
    this.asking ??= this.ask().finally(() => (this.asking = undefined));
    if (first) return this.asking;
    void this.asking;
    return undefined;
  }

  private async ask(): Promise<void> {
    const before = this.clock.now();
    // Asked again only after the refresh interval, answer or not: an outage is not asked about per request.
    this.askedAt = before;
    let storeNow: number;
    try {
      storeNow = await this.store.time!();
    } catch {
      return;
    }
    const lead = storeNow - (before + this.clock.now()) / 2;
    this.set(lead > MAX_CLOCK_SKEW_MS ? lead : 0);
  }

  /** This instance's own clock. */
  local(): number {
    return this.clock.now();
  }

  /** The time sessions are judged by. */
  now(): number {
    return this.clock.now() + this.leadMs;
  }

  /** How far this instance's clock is believed to lag (0 when in sync). */
  get lead(): number {
    return this.leadMs;
  }

  /** Learns from a record just read, `local` being this clock's time when it was read. */
  observe(record: StoredSession, local: number): void {
    if (record.storeNow !== undefined) {
      const lead = record.storeNow - local;
      this.set(lead > MAX_CLOCK_SKEW_MS ? lead : 0);
      return;
    }
    // Another instance's write: believed only when the store has no clock to ask, and only so far.
    if (this.storeHasClock) return;
    const seenAhead = record.lastSeenAt - local;
    if (seenAhead - this.leadMs > MAX_CLOCK_SKEW_MS) this.set(Math.min(seenAhead, MAX_LEARNED_LEAD_MS));
  }

  private set(lead: number): void {
    if (lead > 0 && !this.warned) {
      this.warned = true;
      process.emitWarning(
        `Keyward: this instance's clock is about ${Math.round(lead / 1000)} s behind the session store's${this.storeHasClock ? '' : " (or another instance's)"}; sessions are judged by the later time. Fix the time sync (NTP) of every host.`,
        { code: 'KW_CLOCK_SKEW' },
      );
    }
    this.leadMs = lead;
  }
}
