import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.setTimeout(500);
    s.once('connect', () => s.write('PING\r\n'));
    // +PONG, or -NOAUTH from a server with a password: either way it is up
    s.once('data', (d) => {
      s.destroy();
      resolve(/^(?:\+PONG|-NOAUTH)/.test(d.toString()));
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

/**
 * A real redis-server of this test file's own, on a free loopback port, stopped by its PID (the
 * library's suite does the same in packages/nest/test/support/redis-server.ts; the CLI's tests do
 * not import the library's).
 */
export class RedisServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'kw-cli-redis-'));
  private proc: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  /** Starts a server; `args` go to redis-server (e.g. `['--requirepass', pw]`, `['--dbfilename', 'x.rdb']`). */
  static async launch(args: string[] = [], dir?: string): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    const workDir = dir ?? server.dir;
    const proc = spawn('redis-server', ['--port', String(server.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', workDir, ...args], { stdio: 'ignore' });
    server.proc = proc;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
      if (await answers(server.port)) return server;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('redis-server did not answer within 10 s');
  }

  url(password?: string): string {
    return `redis://${password ? `:${encodeURIComponent(password)}@` : ''}127.0.0.1:${this.port}`;
  }

  async destroy(): Promise<void> {
    const proc = this.proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      process.kill(proc.pid!, 'SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
