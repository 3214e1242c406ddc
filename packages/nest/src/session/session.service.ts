import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { SWEEP_BATCH, SessionEngine } from './session.engine.js';
import { EventLoopSlice } from './event-loop-slice.js';
import type { SessionInfo } from './session.types.js';

/**
 * Server-side session operations that do not start from a request: end every session of
 * a user (an admin action, a password change), list them. Also runs the expiry sweeper
 * (one instance at a time, under a store lease) and closes the store on shutdown.
 *
 * @example
 * await sessions.endAllForUser(user.id); // after a password change
 */
@Injectable()
export class SessionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Keyward');
  private readonly owner = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  /** The sweep under way, if any. */
  private sweeping: Promise<number> | undefined;
  private stopping = false;

  constructor(@Inject(SessionEngine) private readonly engine: SessionEngine) {}

  /** Ends every session of a user. Returns how many ended. */
  endAllForUser(userId: string): Promise<number> {
    return this.engine.endAllForUser(userId, 'revoked');
  }

  /** Live sessions of a user, newest first. */
  async list(userId: string): Promise<SessionInfo[]> {
    return (await this.engine.list(userId)).map((s) => this.engine.info(s));
  }

  /**
   * Ends every expired session now (revoking what listeners revoke). Runs under a store
   * lease so that only one of several instances sweeps at a time. Returns how many ended.
   */
  sweep(): Promise<number> {
    if (this.sweeping || this.stopping) return Promise.resolve(0);
    this.sweeping = this.sweepAll().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweepAll(): Promise<number> {
    const interval = Math.max(this.engine.options.sweepIntervalMs, 1000);
    const store = this.engine.store;
    if (!(await store.acquireLease('sweep', this.owner, interval * 2))) return 0;
    // Batch after batch, with a turn of the event loop between them (and within one when
    // its slice runs out), so requests are served while a large backlog ends. The lease is
    // renewed on each batch; if another instance took it meanwhile, this one stops. So does
    // a shutdown, after the batch under way.
    const slice = new EventLoopSlice();
    let total = 0;
    for (let n = await this.engine.sweep(SWEEP_BATCH, slice); n > 0; n = await this.engine.sweep(SWEEP_BATCH, slice)) {
      total += n;
      await slice.yield();
      if (this.stopping || !(await store.acquireLease('sweep', this.owner, interval * 2))) break;
    }
    return total;
  }

  onApplicationBootstrap(): void {
    const every = this.engine.options.sweepIntervalMs;
    if (every <= 0) return;
    this.timer = setInterval(() => {
      this.sweep().catch((e: unknown) => this.logger.warn(`Session sweep failed: ${e instanceof Error ? e.name : 'error'}; will retry.`));
    }, every);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    // A sweep under way stops after its current batch, before the store closes under it.
    this.stopping = true;
    await this.sweeping?.catch(() => 0);
    await this.engine.store.close();
  }
}
