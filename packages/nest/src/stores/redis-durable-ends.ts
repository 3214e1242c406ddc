import { AS_MAP, scriptRunner, withTimeout, type Emitter, type RedisClientLike, type RedisScript, type Send } from './redis-client.js';
import type { ResolvedDurableEnds } from './redis-options.js';
import { ReplicaCount } from './redis-replica-count.js';

/** What a durable write did: the script's reply, and how many replicas confirmed it (-1: unknown, the connection changed). */
export interface DurableReply {
  readonly reply: unknown;
  /** `Infinity` when no wait was needed (`auto` on a master without replicas). */
  readonly acked: number;
  /** How many acknowledgements the write needed (see {@link ReplicaCount}); fewer: not durable. */
  readonly needed: number;
}

/**
 * The connection(s) that take the writes ending a session, apart from the one that serves
 * session checks: `WAIT` blocks the connection it runs on, so a replica that does not
 * answer holds up only the ends, never the reads. On a Cluster, the write and its `WAIT`
 * go to the master that owns the key's slot, over that master's own connection.
 */
export interface EndsLink {
  /** Runs `script` on the master owning `keys[0]` (all of one slot), then (unless `auto` finds no replica there) `WAIT`s on the same connection. */
  write(script: RedisScript, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<DurableReply>;
  /** Connects again after a READONLY reply (a demoted master still connected). */
  reconnect(): void;
  close(): Promise<void>;
}

type IoInstance = Emitter & {
  status: string;
  options: { host?: string; port?: number };
  call(command: string, ...args: Array<string | number>): Promise<unknown>;
  connect(): Promise<void>;
  disconnect(reconnect?: boolean): void;
  quit(): Promise<unknown>;
  duplicate(override?: { autoResendUnfulfilledCommands?: boolean }): IoInstance;
};
type IoCluster = Emitter & {
  status: string;
  slots: string[][];
  nodes(role: 'master'): IoInstance[];
  duplicate(): IoCluster;
  refreshSlotsCache(): void;
  quit(): Promise<unknown>;
  disconnect(): void;
};
type NodeRedis = Emitter & {
  isReady: boolean;
  isOpen: boolean;
  sendCommand(...args: unknown[]): Promise<unknown>;
  connect(): Promise<unknown>;
  duplicate(): NodeRedis;
  close?(): Promise<unknown>;
  quit?(): Promise<unknown>;
  use?<T>(fn: (lease: { sendCommand(...a: unknown[]): Promise<unknown> }) => Promise<T>): Promise<T>;
};

/** One master connection: a raw send, a counter of its (re)connections, its master's replicas. */
class EndsNode {
  private generation = 0;
  private readonly replicas = new ReplicaCount();
  constructor(
    readonly send: Send,
    private readonly isReady: () => boolean,
    emitter: Emitter,
    private readonly connect: () => void,
    private readonly waitMs: number,
  ) {
    emitter.on('ready', () => {
      this.generation++;
      this.replicas.reset();
    });
    // A reply that comes after the connection closed came on another connection: ioredis
    // re-sends unanswered commands after it reconnects, and a WAIT re-sent there does not
    // cover the write (it counts the replicas at once).
    emitter.on('close', () => this.generation++);
  }

  /** Waits (at most `waitMs`) for the connection to be ready; throws if it is not. */
  async ready(): Promise<void> {
    if (this.isReady()) return;
    this.connect();
    const deadline = Date.now() + this.waitMs;
    while (!this.isReady() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (!this.isReady()) throw new Error('The connection for ends of sessions is not ready.');
  }

  async write(script: RedisScript, keys: readonly string[], args: ReadonlyArray<string | number>, plan: ResolvedDurableEnds): Promise<DurableReply> {
    await this.ready();
    const at = this.generation;
    return durableWrite(this.send, this.replicas, script, keys, args, plan, () => this.generation === at && this.isReady());
  }
}

/**
 * The write, then `WAIT` for the replicas it needs on the same connection; a `WAIT` that
 * comes back short asks the master for its replicas again (one it dropped is not waited for
 * any more, after the hold) and judges the acknowledgements by that count.
 */
async function durableWrite(
  send: Send,
  replicas: ReplicaCount,
  script: RedisScript,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
  plan: ResolvedDurableEnds,
  sameConnection: () => boolean,
): Promise<DurableReply> {
  const run = scriptRunner(send);
  const needed = await replicas.needed(send, plan);
  if (needed === 0) return { reply: await run(script, keys, args), acked: Infinity, needed };
  const reply = await run(script, keys, args);
  // Reconnected in between: a WAIT on the new connection would not cover the write.
  if (!sameConnection()) return { reply, acked: -1, needed };
  const raw = Number(await send(['WAIT', needed, plan.timeoutMs]));
  // The connection changed while the WAIT was out (re-sent after a reconnect): it says nothing of the write.
  if (!sameConnection()) return { reply, acked: -1, needed };
  const acked = Number.isFinite(raw) ? raw : -1;
  if (acked >= needed || plan.replicas !== 'all' || acked < 0) return { reply, acked, needed };
  return { reply, acked, needed: Math.max(1, await replicas.needed(send, plan, true)) };
}

function ioNode(inst: IoInstance, waitMs: number): EndsNode {
  return new EndsNode(
    (args) => inst.call(String(args[0]), ...args.slice(1)),
    () => inst.status === 'ready',
    inst,
    () => {
      if (inst.status === 'wait') inst.connect().catch(() => {});
    },
    waitMs,
  );
}

/**
 * The ends' link for a client of the given kind: a duplicate of it (ioredis `duplicate()`,
 * node-redis `duplicate()`), owned and closed by the store; for a node-redis Sentinel
 * client, a lease of one of its master connections per write (`use()`), since it pools them.
 */
export function endsLink(client: RedisClientLike, kind: string, plan: ResolvedDurableEnds, commandTimeoutMs: number): EndsLink {
  if (kind === 'ioredis-cluster') return clusterLink((client as unknown as IoCluster).duplicate(), plan, commandTimeoutMs);
  if (kind === 'node-redis-sentinel') return sentinelLeaseLink(client as unknown as NodeRedis, plan, commandTimeoutMs);
  if (kind === 'node-redis') {
    const dup = (client as unknown as NodeRedis).duplicate();
    dup.on('error', () => {});
    const send: Send = (args) => withTimeout(dup.sendCommand(args.map(String), AS_MAP), commandTimeoutMs);
    const node = new EndsNode(send, () => dup.isReady, dup, () => {
      if (!dup.isOpen) dup.connect().catch(() => {});
    }, commandTimeoutMs);
    return {
      write: (s, keys, args) => node.write(s, keys, args, plan),
      reconnect: () => {},
      close: async () => {
        await (dup.close ?? dup.quit)?.call(dup).catch(() => {});
      },
    };
  }
  // Nothing re-sent after a reconnect: a WAIT must run on the connection that took the write.
  const dup = (client as unknown as IoInstance).duplicate({ autoResendUnfulfilledCommands: false });
  dup.on('error', () => {});
  const node = ioNode(dup, commandTimeoutMs);
  return {
    write: (s, keys, args) => node.write(s, keys, args, plan),
    reconnect: () => dup.disconnect(true),
    close: () => quitIo(dup),
  };
}

/**
 * On a Cluster: the write and its WAIT on the connection to the master owning the key's slot.
 * The duplicate sends no command of its own, so nothing else refreshes its slot map: a slot
 * whose master is gone (not among the connected masters) or a failed write asks the cluster
 * again (at most every {@link SLOTS_REFRESH_MS}), so ends follow a failover by themselves.
 */
function clusterLink(dup: IoCluster, plan: ResolvedDurableEnds, waitMs: number): EndsLink {
  dup.on('error', () => {});
  const nodes = new WeakMap<IoInstance, EndsNode>();
  let refreshedAt = 0;
  const refresh = (): void => {
    if (Date.now() - refreshedAt < SLOTS_REFRESH_MS) return;
    refreshedAt = Date.now();
    dup.refreshSlotsCache();
  };
  const masterOf = async (key: string): Promise<EndsNode> => {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const owner = dup.slots[slotOf(key)]?.[0];
      const inst = owner === undefined ? undefined : dup.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner);
      if (inst) {
        let node = nodes.get(inst);
        if (!node) nodes.set(inst, (node = ioNode(inst, waitMs)));
        return node;
      }
      if (Date.now() >= deadline) throw new Error('No master owns this slot yet.');
      if ((dup.status as string) === 'wait') (dup as unknown as IoInstance).connect().catch(() => {});
      else if (dup.status === 'ready') refresh();
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return {
    async write(s, keys, args) {
      try {
        return await (await masterOf(keys[0]!)).write(s, keys, args, plan);
      } catch (e) {
        // The slot moved (a failover or a resharding) or its master is gone: learn the new owner; this write fails closed.
        refresh();
        throw e;
      }
    },
    reconnect: () => dup.refreshSlotsCache(),
    close: () => quitIo(dup),
  };
}

/** Least time between two slot-map refreshes of the ends' Cluster connection. */
const SLOTS_REFRESH_MS = 100;

/**
 * node-redis Sentinel: one leased master connection per write, so the WAIT runs where the
 * write did; the replica count is the link's (a new master shows as a new `master_replid`).
 */
function sentinelLeaseLink(sentinel: NodeRedis, plan: ResolvedDurableEnds, waitMs: number): EndsLink {
  const replicas = new ReplicaCount();
  return {
    write: (s, keys, args) =>
      sentinel.use!((lease) => {
        const send: Send = (a) => withTimeout(lease.sendCommand(false, a.map(String), AS_MAP), waitMs);
        return durableWrite(send, replicas, s, keys, args, plan, () => true);
      }),
    reconnect: () => {},
    close: async () => {},
  };
}

async function quitIo(c: { quit(): Promise<unknown>; disconnect(): void }): Promise<void> {
  try {
    await c.quit();
  } catch {
    c.disconnect();
  }
}

/** The Redis Cluster slot of a key (CRC16/XMODEM of the key, or of its `{hash tag}`, mod 16384). */
export function slotOf(key: string): number {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(key)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}
