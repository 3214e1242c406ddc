import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './redis-server.js';

const run = promisify(execFile);

/**
 * A local Redis Cluster of three masters on free loopback ports, created with
 * `redis-server --cluster-enabled yes` and `redis-cli --cluster create`; stopped by PID.
 */
export class RedisCluster {
  private readonly procs: ChildProcess[] = [];
  readonly dir = mkdtempSync(join(tmpdir(), 'kw-cluster-'));

  private constructor(readonly ports: number[]) {}

  static async launch(masters = 3): Promise<RedisCluster> {
    const ports: number[] = [];
    while (ports.length < masters) {
      const p = await freePort();
      // Cluster bus port is port + 10000: keep both in range and distinct.
      if (p < 55_000 && !ports.includes(p)) ports.push(p);
    }
    const cluster = new RedisCluster(ports);
    for (const port of ports) {
      const dir = join(cluster.dir, String(port));
      await run('mkdir', ['-p', dir]);
      const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      cluster.procs.push(proc);
    }
    for (const port of ports) {
      for (let i = 0; i < 100; i++) {
        try {
          await run('redis-cli', ['-p', String(port), 'ping']);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (let i = 0; i < 100; i++) {
      const { stdout } = await run('redis-cli', ['-p', String(ports[0]), 'cluster', 'info']);
      if (stdout.includes('cluster_state:ok')) return cluster;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('cluster did not reach cluster_state:ok');
  }

  get nodes(): string[] {
    return this.ports.map((p) => `127.0.0.1:${p}`);
  }

  async destroy(): Promise<void> {
    await Promise.all(
      this.procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once('exit', () => resolve());
            process.kill(p.pid!, 'SIGKILL');
          }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}
