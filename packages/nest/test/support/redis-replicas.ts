import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, RedisServer } from './redis-server.js';
import { waitFor } from './wait-for.js';

/** One reply of a short-lived ioredis connection to a loopback port (`INFO`, `SENTINEL ...`). */
export async function ask(port: number, ...args: Array<string | number>): Promise<unknown> {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: true });
  c.on('error', () => {});
  try {
    await c.connect();
    return await c.call(String(args[0]), ...args.slice(1));
  } finally {
    c.disconnect();
  }
}

/**
 * A master with replicas (`--replicaof`), real redis-server processes on loopback ports,
 * and optionally Sentinels watching the master as `mymaster` (`redis-server <conf>
 * --sentinel`, quick settings: down after 1 s). Every process is stopped by its PID;
 * `pause(i)` / `resume(i)` freeze a replica (SIGSTOP / SIGCONT) so it stays connected but
 * acknowledges nothing.
 */
export class RedisReplicas {
  readonly dir = mkdtempSync(join(tmpdir(), 'kw-replicas-'));
  readonly sentinelPorts: number[] = [];
  private readonly sentinels: ChildProcess[] = [];

  private constructor(
    /** Every data server; index 0 is the first master. */
    readonly servers: RedisServer[],
  ) {}

  static async launch(options: { replicas: number; sentinels?: number }): Promise<RedisReplicas> {
    const master = await RedisServer.launch();
    const replicas = await Promise.all(Array.from({ length: options.replicas }, () => RedisServer.launch(['--replicaof', '127.0.0.1', String(master.port)])));
    const set = new RedisReplicas([master, ...replicas]);
    await waitFor(async () => (await set.connectedReplicas(master.port)) === options.replicas, 10_000, () => `${options.replicas} replicas in sync`);
    for (let i = 0; i < (options.sentinels ?? 0); i++) await set.startSentinel(master.port);
    if (set.sentinelPorts.length > 0) {
      // Each Sentinel knows the others (for a quorum) and the replicas (to promote one).
      await waitFor(async () => {
        for (const p of set.sentinelPorts) {
          const m = fields(await ask(p, 'SENTINEL', 'MASTER', 'mymaster').catch(() => []));
          if (Number(m['num-other-sentinels']) !== set.sentinelPorts.length - 1 || Number(m['num-slaves']) !== options.replicas) return false;
        }
        return true;
      }, 20_000, () => 'sentinels that know each other and the replicas');
    }
    return set;
  }

  /** `host:port` of each Sentinel (the `sentinels` option). */
  get sentinelAddresses(): string[] {
    return this.sentinelPorts.map((p) => `127.0.0.1:${p}`);
  }

  /** Connected replicas the server on `port` reports (`INFO replication`). */
  async connectedReplicas(port: number): Promise<number> {
    const info = String(await ask(port, 'INFO', 'replication').catch(() => ''));
    return [...info.matchAll(/^slave\d+:.*state=online/gm)].length;
  }

  /** The port of the master the Sentinels name now. */
  async masterPort(): Promise<number> {
    const [, port] = (await ask(this.sentinelPorts[0]!, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster')) as [string, string];
    return Number(port);
  }

  server(port: number): RedisServer {
    const s = this.servers.find((x) => x.port === port);
    if (!s) throw new Error(`no server on port ${port}`);
    return s;
  }

  /** Freezes a server (SIGSTOP): its connections stay open, it answers nothing. */
  pause(server: RedisServer): void {
    process.kill(server.pid!, 'SIGSTOP');
  }

  resume(server: RedisServer): void {
    process.kill(server.pid!, 'SIGCONT');
  }

  private async startSentinel(masterPort: number): Promise<void> {
    const port = await freePort();
    const conf = join(this.dir, `sentinel-${port}.conf`);
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${this.dir}`,
        `sentinel monitor mymaster 127.0.0.1 ${masterPort} 2`,
        'sentinel down-after-milliseconds mymaster 1000',
        'sentinel failover-timeout mymaster 5000',
        'sentinel parallel-syncs mymaster 2',
        '',
      ].join('\n'),
    );
    const proc = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    this.sentinels.push(proc);
    this.sentinelPorts.push(port);
    await waitFor(async () => (await ask(port, 'PING').catch(() => '')) === 'PONG', 10_000, () => `sentinel on ${port}`);
  }

  async destroy(): Promise<void> {
    for (const p of this.sentinels) {
      if (p.exitCode === null && p.signalCode === null) {
        const exited = new Promise((r) => p.once('exit', r));
        process.kill(p.pid!, 'SIGKILL');
        await exited;
      }
    }
    for (const s of this.servers) {
      if (s.pid) process.kill(s.pid, 'SIGCONT');
      await s.destroy();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A flat `[name, value, ...]` reply as an object. */
function fields(reply: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const a = Array.isArray(reply) ? reply.map(String) : [];
  for (let i = 0; i + 1 < a.length; i += 2) out[a[i]!] = a[i + 1]!;
  return out;
}
