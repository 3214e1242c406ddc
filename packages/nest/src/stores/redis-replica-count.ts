import type { Send } from './redis-client.js';
import type { ResolvedDurableEnds } from './redis-options.js';

/** How old the master's replica count may be before an end asks again (`INFO replication`). */
export const REPLICA_COUNT_MAX_AGE_MS = 1000;

/**
 * How long a replica the master dropped from its list still counts. A master that stalled
 * while Sentinel promoted one of its replicas sees that replica leave before it is told it
 * is no longer the master: counting only the replicas left would let it confirm ends that
 * the new master never gets. A replica that died for good costs this long of 503s.
 */
export const REPLICA_GONE_HOLD_MS = 5000;

/**
 * The replicas one master has, as an end of a session needs them: how many acknowledgements
 * (`WAIT numreplicas`) make the end durable. With `replicas: 'all'`, every replica the master
 * lists (`connected_slaves`, which counts a replica that is connected but stalled until the
 * master's `repl-timeout` drops it), never fewer than one in mode `on`, and for
 * {@link REPLICA_GONE_HOLD_MS} after a replica leaves, the count before it left. The count
 * is asked at the first end of a connection, again when it is older than
 * {@link REPLICA_COUNT_MAX_AGE_MS}, and at once when a `WAIT` comes back short (so a replica
 * the master dropped stops being waited for, after the hold). A different `master_replid`
 * (another master behind the same link, or this one promoted) starts afresh.
 *
 * @example
 * const count = new ReplicaCount();
 * const needed = await count.needed(send, plan); // 0: no wait (`auto` on a master without replicas)
 */
export class ReplicaCount {
  private count: number | undefined;
  private replid: string | undefined;
  private at = 0;
  private held = 0;
  private heldUntil = 0;
  private asking: Promise<void> | undefined;

  /** A new connection: nothing known of its master yet. */
  reset(): void {
    this.count = undefined;
    this.replid = undefined;
    this.held = 0;
    this.heldUntil = 0;
  }

  /**
   * Acknowledgements an end written now needs: the number given, or (`'all'`) every replica
   * the master lists, at least one in mode `on`. 0 means no wait: mode `auto` on a master
   * that lists no replica and lost none in the last {@link REPLICA_GONE_HOLD_MS}.
   */
  async needed(send: Send, plan: ResolvedDurableEnds, fresh = false): Promise<number> {
    if (fresh || this.count === undefined || Date.now() - this.at > REPLICA_COUNT_MAX_AGE_MS) await this.ask(send);
    const listed = Math.max(this.count ?? 0, Date.now() < this.heldUntil ? this.held : 0);
    if (plan.mode === 'auto' && listed === 0) return 0;
    return plan.replicas === 'all' ? Math.max(1, listed) : plan.replicas;
  }

  private ask(send: Send): Promise<void> {
    this.asking ??= send(['INFO', 'replication'])
      .then((info) => this.update(String(info)))
      .finally(() => (this.asking = undefined));
    return this.asking;
  }

  private update(info: string): void {
    const count = Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0);
    const replid = /master_replid:(\w+)/.exec(info)?.[1];
    const now = Date.now();
    if (replid !== this.replid) {
      this.held = 0;
      this.heldUntil = 0;
    } else if (this.count !== undefined && count < this.count) {
      this.held = Math.max(this.count, now < this.heldUntil ? this.held : 0);
      this.heldUntil = now + REPLICA_GONE_HOLD_MS;
    }
    this.count = count;
    this.replid = replid;
    this.at = now;
  }
}
