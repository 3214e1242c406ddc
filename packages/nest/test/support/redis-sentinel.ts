import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { infoField, RedisNode, tryCli, until } from './redis-node.js';
import { freePort } from './redis-server.js';

/** Loopback ports, all free and distinct. */
export async function freePorts(n: number, below = 65_535): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < n) {
    const p = await freePort();
    if (p < below && !ports.includes(p)) ports.push(p);
  }
  return ports;
}

/** What {@link RedisSentinel.killMaster} did. */
export interface Kill {
  /** The killed node's port. */
  port: number;
  /** `Date.now()` just before the SIGKILL. */
  at: number;
}

/**
 * A Sentinel-managed Redis on loopback: one master, two replicas, three sentinels
 * (`redis-server --sentinel`, quorum 2, `down-after-milliseconds` 2000, `failover-timeout`
 * 2000), every process stopped by PID. Data nodes keep nothing on disk (`--save ''
 * --appendonly no`) and leave `min-replicas-to-write` at its default (0): a master keeps
 * taking writes without replicas, as most deployments do, so that a lost write is possible
 * and what the store does about it is what a test sees.
 *
 * A killed master is restarted with `--replicaof <current master>`: it rejoins as a replica
 * (empty, then a full sync), as an operator's restarted node does once Sentinel has moved on.
 *
 * @example
 * const s = await RedisSentinel.launch();
 * const client = new Redis({ sentinels: s.sentinels, name: s.masterName });
 * const kill = await s.killMaster();
 * await s.waitForNewMaster(kill.port);
 * await s.restartKilled();
 * await s.destroy();
 */
export class RedisSentinel {
  readonly masterName = 'mymaster';
  /** 2 s, not less: with 1 s a sentinel starved of CPU for a second on a loaded machine (or a node forking for a full sync) started failovers nobody asked for. */
  readonly downAfterMs = 2000;
  readonly failoverTimeoutMs = 2000;
  private killed: RedisNode | undefined;

  private constructor(
    readonly dir: string,
    /** The data nodes; the first is the master at launch. */
    readonly nodes: RedisNode[],
    readonly sentinelNodes: RedisNode[],
  ) {}

  static async launch(): Promise<RedisSentinel> {
    const dir = mkdtempSync(join(tmpdir(), 'kw-sentinel-'));
    const ports = await freePorts(6);
    const nodes = ports.slice(0, 3).map((p) => new RedisNode(p, join(dir, `node-${p}`), (extra) => [...RedisNode.dataArgs(p, join(dir, `node-${p}`)), ...extra]));
    const sentinels = ports.slice(3).map((p) => {
      const d = join(dir, `sentinel-${p}`);
      return new RedisNode(p, d, () => [join(d, 'sentinel.conf'), '--sentinel']);
    });
    const topology = new RedisSentinel(dir, nodes, sentinels);
    try {
      const [master, ...replicas] = nodes;
      await master!.start();
      await Promise.all(replicas.map((r) => r.start(['--replicaof', '127.0.0.1', String(master!.port)])));
      await topology.waitForReplicas(master!.port, 2);
      for (const s of sentinels) {
        // Sentinel rewrites its configuration file: each gets a writable one of its own.
        writeFileSync(
          join(s.dir, 'sentinel.conf'),
          [
            `port ${s.port}`,
            'bind 127.0.0.1',
            `dir ${s.dir}`,
            `logfile ${join(s.dir, 'sentinel.log')}`,
            `sentinel monitor ${topology.masterName} 127.0.0.1 ${master!.port} 2`,
            `sentinel down-after-milliseconds ${topology.masterName} ${topology.downAfterMs}`,
            `sentinel failover-timeout ${topology.masterName} ${topology.failoverTimeoutMs}`,
            `sentinel parallel-syncs ${topology.masterName} 2`,
            '',
          ].join('\n'),
        );
      }
      await Promise.all(sentinels.map((s) => s.start()));
      await topology.waitStable(20_000);
      return topology;
    } catch (e) {
      await topology.destroy();
      throw e;
    }
  }

  /** The sentinels, as ioredis' `sentinels` option takes them. */
  get sentinels(): Array<{ host: string; port: number }> {
    return this.sentinelNodes.map((s) => ({ host: '127.0.0.1', port: s.port }));
  }

  /** The sentinels as `host:port` strings. */
  get sentinelAddresses(): string[] {
    return this.sentinelNodes.map((s) => `127.0.0.1:${s.port}`);
  }

  /** The master's port as each sentinel names it (undefined for one that does not answer). */
  async mastersSeen(): Promise<Array<number | undefined>> {
    return Promise.all(
      this.sentinelNodes.map(async (s) => {
        const out = await tryCli(s.port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.masterName]);
        const port = Number(out?.split('\n')[1]);
        return Number.isInteger(port) && port > 0 ? port : undefined;
      }),
    );
  }

  /** The master's port, asked of the sentinels (the one a majority of them name). */
  async currentMaster(): Promise<number> {
    const seen = (await this.mastersSeen()).filter((p): p is number => p !== undefined);
    const votes = new Map<number, number>();
    for (const p of seen) votes.set(p, (votes.get(p) ?? 0) + 1);
    const best = [...votes].sort((a, b) => b[1] - a[1])[0];
    if (!best || best[1] < 2) throw new Error(`the sentinels do not agree on a master: ${JSON.stringify(seen)}`);
    return best[0];
  }

  /** The data node on `port`. */
  node(port: number): RedisNode {
    const n = this.nodes.find((x) => x.port === port);
    if (!n) throw new Error(`no data node on ${port}`);
    return n;
  }

  /** The running replicas of the current master. */
  async replicas(): Promise<RedisNode[]> {
    const master = await this.currentMaster();
    return this.nodes.filter((n) => n.port !== master && n.running);
  }

  /** SIGKILL of the current master, by PID. */
  async killMaster(): Promise<Kill> {
    if (this.killed) throw new Error('restart the killed node before killing another');
    const port = await this.currentMaster();
    const node = this.node(port);
    this.killed = node;
    const at = Date.now();
    await node.kill();
    return { port, at };
  }

  /**
   * Cuts the master's replication link and keeps it cut until `resume()`: its replicas are
   * paused (SIGSTOP) and the master drops their connections (`CLIENT KILL TYPE replica`), so
   * the writes it acknowledges from now on reach no replica. Keep the window well under
   * `down-after-milliseconds`, or the sentinels mark the paused replicas down.
   */
  async cutReplication(): Promise<{ resume(): void }> {
    const master = this.node(await this.currentMaster());
    const replicas = this.nodes.filter((n) => n !== master && n.running);
    for (const r of replicas) r.pause();
    const resume = (): void => {
      for (const r of replicas) r.resume();
    };
    try {
      await master.cli(['CLIENT', 'KILL', 'TYPE', 'replica']);
    } catch (e) {
      resume();
      throw e;
    }
    return { resume };
  }

  /** Waits until the sentinels agree on a master other than `oldPort` and that node answers as a master; returns its port. */
  async waitForNewMaster(oldPort: number, timeoutMs = 30_000): Promise<number> {
    let last = '';
    return until(
      async () => {
        const seen = await this.mastersSeen();
        last = JSON.stringify(seen);
        const port = seen[0];
        if (port === undefined || port === oldPort || seen.some((p) => p !== port)) return undefined;
        const info = await tryCli(port, ['INFO', 'replication']);
        return info && infoField(info, 'role') === 'master' ? port : undefined;
      },
      timeoutMs,
      `the sentinels to promote a replica after the master on ${oldPort} was killed`,
      () => `masters named by the sentinels: ${last}`,
    );
  }

  /** Restarts the killed node as a replica of the current master and waits until it is in sync. */
  async restartKilled(timeoutMs = 30_000): Promise<void> {
    const node = this.killed;
    if (!node) return;
    const master = await this.currentMaster();
    await node.start(['--replicaof', '127.0.0.1', String(master)]);
    this.killed = undefined;
    await this.waitStable(timeoutMs);
  }

  /** Waits until the master has `n` replicas online (link up, `state=online`). */
  async waitForReplicas(masterPort: number, n: number, timeoutMs = 20_000): Promise<void> {
    let last = '';
    await until(
      async () => {
        const info = (await tryCli(masterPort, ['INFO', 'replication'])) ?? '';
        last = `role ${infoField(info, 'role')}, ${(info.match(/state=online/g) ?? []).length} online`;
        return (info.match(/state=online/g) ?? []).length >= n ? true : undefined;
      },
      timeoutMs,
      `${n} replicas of ${masterPort} to be online`,
      () => last,
    );
  }

  /**
   * Waits until every sentinel names the same master, which has all running data nodes as
   * online replicas, and sees the other two sentinels and those replicas up (not `s_down`).
   */
  async waitStable(timeoutMs = 20_000): Promise<void> {
    let last = '';
    await until(
      async () => {
        const seen = await this.mastersSeen();
        const master = seen[0];
        last = `masters named: ${JSON.stringify(seen)}`;
        if (master === undefined || seen.some((p) => p !== master)) return undefined;
        const replicas = this.nodes.filter((n) => n.running && n.port !== master).length;
        await this.waitForReplicas(master, replicas, 1000).catch(() => undefined);
        const info = (await tryCli(master, ['INFO', 'replication'])) ?? '';
        if ((info.match(/state=online/g) ?? []).length < replicas) return (last += `; replicas online < ${replicas}`), undefined;
        for (const s of this.sentinelNodes) {
          const m = fields(await tryCli(s.port, ['SENTINEL', 'MASTER', this.masterName]));
          const up = valuesOf(await tryCli(s.port, ['SENTINEL', 'REPLICAS', this.masterName]), 'flags').filter((f) => f === 'slave').length;
          last += `; sentinel ${s.port}: flags ${m.get('flags')}, ${m.get('num-other-sentinels')} others, ${up} replicas up`;
          if (m.get('flags') !== 'master' || m.get('num-other-sentinels') !== '2' || up < replicas) return undefined;
        }
        return true;
      },
      timeoutMs,
      'the sentinels to agree on a master with every replica up',
      () => last,
    );
  }

  /** How many failovers the first sentinel has carried out or seen (`+switch-master` lines of its log): more than the kills means Sentinel failed a live master over. */
  switches(): number {
    try {
      return (readFileSync(join(this.sentinelNodes[0]!.dir, 'sentinel.log'), 'utf8').match(/\+switch-master/g) ?? []).length;
    } catch {
      return 0;
    }
  }

  /** Kills every process by PID and removes the directory. */
  async destroy(): Promise<void> {
    for (const n of [...this.nodes, ...this.sentinelNodes]) n.resume();
    await Promise.all([...this.nodes, ...this.sentinelNodes].map((n) => n.kill()));
    // KW_KEEP_REDIS_LOGS=1 keeps the directory (every node's and sentinel's log) for a post-mortem.
    if (process.env.KW_KEEP_REDIS_LOGS) console.log(`# redis logs kept in ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

function lines(out: string | undefined): string[] {
  return (out ?? '').split('\n').map((l) => l.trim());
}

/** The values of `field` in a raw reply of field/value lines (one per replica of `SENTINEL REPLICAS`). */
function valuesOf(out: string | undefined, field: string): string[] {
  const l = lines(out);
  return l.flatMap((x, i) => (x === field && i + 1 < l.length ? [l[i + 1]!] : []));
}

/** A `SENTINEL MASTER` reply (alternate field and value lines) as a map. */
function fields(out: string | undefined): Map<string, string> {
  const l = lines(out);
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < l.length; i += 2) m.set(l[i]!, l[i + 1]!);
  return m;
}
