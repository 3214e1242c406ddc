import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { infoField, RedisNode, tryCli, until } from './redis-node.js';
import { freePorts, type Kill } from './redis-sentinel.js';

const run = promisify(execFile);
const NODE_TIMEOUT_MS = 1000;

/** One line of `CLUSTER NODES`. */
export interface ClusterNodeView {
  id: string;
  port: number;
  role: 'master' | 'slave';
  /** Flagged `fail` or `fail?` by the node asked. */
  failing: boolean;
  /** A replica's master id (`-` for a master). */
  masterId: string;
  connected: boolean;
  /** Number of slot ranges (0: holds no slots). */
  slotRanges: number;
}

/**
 * A Redis Cluster on loopback with three masters and one replica each
 * (`redis-cli --cluster create --cluster-replicas 1`), `cluster-node-timeout` 1000 ms so
 * that a failover takes a couple of seconds, no persistence of data (`--save ''
 * --appendonly no`; each node keeps its `nodes.conf`, so a restarted node rejoins with its
 * identity). Every process stopped by PID.
 *
 * A killed master is restarted on its port with its `nodes.conf`: the cluster tells it its
 * slots moved, and it rejoins as a replica of the promoted node.
 *
 * @example
 * const c = await RedisClusterReplicas.launch();
 * new Cluster(c.seeds);
 * const kill = await c.killMaster();
 * await c.waitForPromotion(kill.port);
 * await c.restartKilled();
 */
export class RedisClusterReplicas {
  readonly nodeTimeoutMs = NODE_TIMEOUT_MS;
  private killed: RedisNode | undefined;

  private constructor(
    readonly dir: string,
    readonly nodes: RedisNode[],
  ) {}

  static async launch(): Promise<RedisClusterReplicas> {
    const dir = mkdtempSync(join(tmpdir(), 'kw-cluster-replicas-'));
    // The cluster bus listens on port + 10000: keep both in range.
    const ports = await freePorts(6, 55_000);
    const cluster = new RedisClusterReplicas(
      dir,
      ports.map((p) => {
        const d = join(dir, `node-${p}`);
        return new RedisNode(p, d, (extra) => [
          ...RedisNode.dataArgs(p, d),
          '--cluster-enabled', 'yes',
          '--cluster-config-file', join(d, 'nodes.conf'),
          '--cluster-node-timeout', String(NODE_TIMEOUT_MS),
          ...extra,
        ]);
      }),
    );
    try {
      await Promise.all(cluster.nodes.map((n) => n.start()));
      await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'], { timeout: 30_000 });
      await cluster.waitStable(30_000);
      return cluster;
    } catch (e) {
      await cluster.destroy();
      throw e;
    }
  }

  /** Seed nodes (`host:port`), every node, as `RedisStore({ cluster })` takes them. */
  get seeds(): string[] {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`);
  }

  /** `CLUSTER NODES` as a running node sees it (the first that answers). */
  async view(): Promise<ClusterNodeView[]> {
    for (const n of this.nodes.filter((x) => x.running)) {
      const out = await tryCli(n.port, ['CLUSTER', 'NODES']);
      if (out) return parseNodes(out);
    }
    throw new Error('no cluster node answers CLUSTER NODES');
  }

  /** Ports of the masters that hold slots and are not failing, in port order. */
  async masters(): Promise<number[]> {
    return (await this.view()).filter((v) => v.role === 'master' && v.slotRanges > 0 && !v.failing).map((v) => v.port).sort((a, b) => a - b);
  }

  node(port: number): RedisNode {
    const n = this.nodes.find((x) => x.port === port);
    if (!n) throw new Error(`no cluster node on ${port}`);
    return n;
  }

  /** The replica of the master on `masterPort`. */
  async replicaOf(masterPort: number): Promise<RedisNode> {
    const view = await this.view();
    const master = view.find((v) => v.port === masterPort);
    const replica = view.find((v) => v.role === 'slave' && v.masterId === master?.id && !v.failing);
    if (!replica) throw new Error(`no replica of ${masterPort} in ${JSON.stringify(view)}`);
    return this.node(replica.port);
  }

  /** SIGKILL of a master that holds slots (`port`, or the `index`-th master in port order, wrapping). */
  async killMaster(which: { port?: number; index?: number } = {}): Promise<Kill> {
    if (this.killed) throw new Error('restart the killed node before killing another');
    const masters = await this.masters();
    const port = which.port ?? masters[(which.index ?? 0) % masters.length]!;
    const node = this.node(port);
    this.killed = node;
    const at = Date.now();
    await node.kill();
    return { port, at };
  }

  /**
   * Cuts the replication link of the master on `masterPort` until `resume()`: its replica is
   * paused (SIGSTOP) and the master drops its connection (`CLIENT KILL TYPE replica`), so
   * writes it acknowledges from now on reach no replica. Keep the window under
   * `cluster-node-timeout`.
   */
  async cutReplication(masterPort: number): Promise<{ resume(): void }> {
    const replica = await this.replicaOf(masterPort);
    replica.pause();
    const resume = (): void => replica.resume();
    try {
      await this.node(masterPort).cli(['CLIENT', 'KILL', 'TYPE', 'replica']);
    } catch (e) {
      resume();
      throw e;
    }
    return { resume };
  }

  /** Waits until the killed master's slots are served by a promoted replica and every running node says `cluster_state:ok`. */
  async waitForPromotion(oldPort: number, timeoutMs = 30_000): Promise<void> {
    let last = '';
    await until(
      async () => {
        const view = await this.view();
        const old = view.find((v) => v.port === oldPort);
        last = `node ${oldPort}: ${old ? `${old.role}${old.failing ? ' failing' : ''}, ${old.slotRanges} slot ranges` : 'unknown'}`;
        if (!old || old.slotRanges > 0) return undefined;
        const masters = view.filter((v) => v.role === 'master' && v.slotRanges > 0 && !v.failing).length;
        last += `; ${masters} masters with slots`;
        if (masters < 3) return undefined;
        return (await this.allOk()) ? true : ((last += '; cluster_state not ok everywhere'), undefined);
      },
      timeoutMs,
      `a replica to take over the slots of the killed master ${oldPort}`,
      () => last,
    );
  }

  /** Restarts the killed node on its port with its nodes.conf and waits until it is an in-sync replica. */
  async restartKilled(timeoutMs = 30_000): Promise<void> {
    const node = this.killed;
    if (!node) return;
    await node.start();
    this.killed = undefined;
    await this.waitStable(timeoutMs);
  }

  /** Waits until there are three masters with slots, each with a connected replica in sync, and every node says `cluster_state:ok`. */
  async waitStable(timeoutMs = 20_000): Promise<void> {
    let last = '';
    await until(
      async () => {
        const view = await this.view();
        const masters = view.filter((v) => v.role === 'master' && v.slotRanges > 0 && !v.failing);
        const replicas = view.filter((v) => v.role === 'slave' && !v.failing && v.connected && masters.some((m) => m.id === v.masterId));
        last = `${masters.length} masters with slots, ${replicas.length} connected replicas`;
        if (masters.length !== 3 || replicas.length !== 3 || masters.some((m) => !replicas.some((r) => r.masterId === m.id))) return undefined;
        for (const r of replicas) {
          const info = (await tryCli(r.port, ['INFO', 'replication'])) ?? '';
          if (infoField(info, 'master_link_status') !== 'up') return (last += `; replica ${r.port} link not up`), undefined;
        }
        return (await this.allOk()) ? true : ((last += '; cluster_state not ok everywhere'), undefined);
      },
      timeoutMs,
      'three masters with a replica each, in sync, and cluster_state:ok',
      () => last,
    );
  }

  private async allOk(): Promise<boolean> {
    const states = await Promise.all(this.nodes.filter((n) => n.running).map((n) => tryCli(n.port, ['CLUSTER', 'INFO'])));
    return states.every((s) => s !== undefined && infoField(s, 'cluster_state') === 'ok');
  }

  /** Kills every process by PID and removes the directory. */
  async destroy(): Promise<void> {
    for (const n of this.nodes) n.resume();
    await Promise.all(this.nodes.map((n) => n.kill()));
    // KW_KEEP_REDIS_LOGS=1 keeps the directory (every node's and sentinel's log) for a post-mortem.
    if (process.env.KW_KEEP_REDIS_LOGS) console.log(`# redis logs kept in ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

function parseNodes(out: string): ClusterNodeView[] {
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [id, addr, flags, masterId, , , , link, ...slots] = l.split(' ');
      const f = flags!.split(',');
      return {
        id: id!,
        port: Number(addr!.split('@')[0]!.split(':').pop()),
        role: f.includes('master') ? 'master' : 'slave',
        failing: f.includes('fail') || f.includes('fail?'),
        masterId: masterId!,
        connected: link === 'connected',
        slotRanges: slots.filter((s) => /^\d/.test(s)).length,
      } satisfies ClusterNodeView;
    });
}
