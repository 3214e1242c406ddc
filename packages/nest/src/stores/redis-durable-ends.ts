import { AS_MAP, scriptRunner, withTimeout, type RedisClientLike, type RedisScript, type Send } from './redis-client.js';
import type { ResolvedDurableEnds } from './redis-options.js';

/** What a durable write did: the script's reply, and how many replicas confirmed it (-1: unknown, the connection changed). */
export interface DurableReply {
  readonly reply: unknown;
  /** `Infinity` when no wait was needed (`auto` on a master without replicas). */
  readonly acked: number;
}

/**
 * The connection(s) that take the writes ending a session, apart from the one that serves
 * session checks: `WAIT` blocks the connection it runs on, so a replica that does not
 * answer holds up only the ends, never the reads. On a Cluster, the write and its `WAIT`
 * go to the master that owns the key's slot, over that master's own connection.
 */
export interface EndsLink {
  /** Runs `script` on the master owning `key`, then (unless `auto` finds no replica there) `WAIT`s on the same connection. */
  write(script: RedisScript, key: string, args: ReadonlyArray<string | number>): Promise<DurableReply>;
  /** Connects again after a READONLY reply (a demoted master still connected). */
  reconnect(): void;
  close(): Promise<void>;
}

interface Emitter {
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
}
type IoInstance = Emitter & {
  status: string;
  options: { host?: string; port?: number };
  call(command: string, ...args: Array<string | number>): Promise<unknown>;
  connect(): Promise<void>;
  disconnect(reconnect?: boolean): void;
  quit(): Promise<unknown>;
  duplicate(): IoInstance;
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

/** One master connection: a raw send, a counter of its (re)connections, its replicas when it last connected. */
class EndsNode {
  private generation = 0;
  private replicas: Promise<number> | undefined;
  constructor(
    readonly send: Send,
    private readonly isReady: () => boolean,
    emitter: Emitter,
    private readonly connect: () => void,
    private readonly waitMs: number,
  ) {
    emitter.on('ready', () => {
      this.generation++;
      this.replicas = undefined;
    });
  }

  /** Waits (at most `waitMs`) for the connection to be ready; throws if it is not. */
  async ready(): Promise<void> {
    if (this.isReady()) return;
    this.connect();
    const deadline = Date.now() + this.waitMs;
    while (!this.isReady() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (!this.isReady()) throw new Error('The connection for ends of sessions is not ready.');
  }

  /** Connected replicas (`INFO replication`) as of this connection's start: asked once per connection. */
  replicasAtConnect(): Promise<number> {
    this.replicas ??= this.send(['INFO', 'replication']).then((info) => {
      const m = /connected_slaves:(\d+)/.exec(String(info));
      return m ? Number(m[1]) : 0;
    });
    this.replicas.catch(() => (this.replicas = undefined));
    return this.replicas;
  }

  async write(script: RedisScript, key: string, args: ReadonlyArray<string | number>, plan: ResolvedDurableEnds): Promise<DurableReply> {
    await this.ready();
    const run = scriptRunner(this.send);
    if (plan.mode === 'auto' && (await this.replicasAtConnect()) === 0) return { reply: await run(script, [key], args), acked: Infinity };
    const at = this.generation;
    const reply = await run(script, [key], args);
    // Reconnected in between: a WAIT on the new connection would not cover the write.
    if (this.generation !== at || !this.isReady()) return { reply, acked: -1 };
    const acked = Number(await this.send(['WAIT', plan.replicas, plan.timeoutMs]));
    return { reply, acked: Number.isFinite(acked) ? acked : -1 };
  }
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
      write: (s, key, args) => node.write(s, key, args, plan),
      reconnect: () => {},
      close: async () => {
        await (dup.close ?? dup.quit)?.call(dup).catch(() => {});
      },
    };
  }
  const dup = (client as unknown as IoInstance).duplicate();
  dup.on('error', () => {});
  const node = ioNode(dup, commandTimeoutMs);
  return {
    write: (s, key, args) => node.write(s, key, args, plan),
    reconnect: () => dup.disconnect(true),
    close: () => quitIo(dup),
  };
}

/** On a Cluster: the write and its WAIT on the connection to the master owning the key's slot. */
function clusterLink(dup: IoCluster, plan: ResolvedDurableEnds, waitMs: number): EndsLink {
  dup.on('error', () => {});
  const nodes = new WeakMap<IoInstance, EndsNode>();
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
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return {
    async write(s, key, args) {
      try {
        return await (await masterOf(key)).write(s, key, args, plan);
      } catch (e) {
        // The slot moved (a failover or a resharding): learn the new owner; this write fails closed.
        if (e instanceof Error && /^(MOVED|ASK|CLUSTERDOWN|READONLY)/.test(e.message)) dup.refreshSlotsCache();
        throw e;
      }
    },
    reconnect: () => dup.refreshSlotsCache(),
    close: () => quitIo(dup),
  };
}

/** node-redis Sentinel: one leased master connection per write, so the WAIT runs where the write did. */
function sentinelLeaseLink(sentinel: NodeRedis, plan: ResolvedDurableEnds, waitMs: number): EndsLink {
  return {
    write: (s, key, args) =>
      sentinel.use!(async (lease) => {
        const send: Send = (a) => withTimeout(lease.sendCommand(false, a.map(String), AS_MAP), waitMs);
        const reply = await scriptRunner(send)(s, [key], args);
        const acked = Number(await send(['WAIT', plan.replicas, plan.timeoutMs]));
        return { reply, acked: Number.isFinite(acked) ? acked : -1 };
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
