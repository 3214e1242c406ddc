import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Every redis-server this module started and that is still alive: killed by PID if the test process exits without `destroy()`. */
const live = new Set<ChildProcess>();
let exitHooked = false;
function killLeftoversOnExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const p of live) {
      try {
        process.kill(p.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** Runs `redis-cli -p <port> <args>` (raw output, one reply element a line); rejects on refusal, error reply or after `timeoutMs`. */
export async function redisCli(port: number, args: readonly string[], timeoutMs = 3000): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: timeoutMs });
  if (/^(ERR|READONLY|LOADING|MASTERDOWN|CLUSTERDOWN|Could not connect)/m.test(stdout)) throw new Error(`redis-cli ${args[0]} on ${port}: ${stdout.split('\n')[0]}`);
  return stdout;
}

/** `redisCli`, or undefined when the node does not answer. */
export async function tryCli(port: number, args: readonly string[], timeoutMs = 2000): Promise<string | undefined> {
  try {
    return await redisCli(port, args, timeoutMs);
  } catch {
    return undefined;
  }
}

/** A field of an INFO reply (`role`, `master_link_status`, ...). */
export function infoField(info: string, field: string): string | undefined {
  const m = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return m?.[1]?.trim();
}

/** Polls `probe` every 100 ms until it returns a value other than undefined; throws `<what> (last seen: <detail>)` after `timeoutMs`. */
export async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string, detail: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail() ? ` (last seen: ${detail()})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * One redis-server process (a data node or a sentinel) on a fixed loopback port with a
 * directory of its own; started, killed (SIGKILL), paused (SIGSTOP) and resumed by PID.
 */
export class RedisNode {
  private proc: ChildProcess | undefined;

  /** `args(extra)`: the command line for a start with `extra` appended. */
  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly args: (extra: readonly string[]) => string[],
  ) {
    mkdirSync(dir, { recursive: true });
  }

  /** The common arguments of a data node: loopback, no persistence, full syncs without the default 5 s delay. */
  static dataArgs(port: number, dir: string): string[] {
    return ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--repl-diskless-sync-delay', '0', '--logfile', join(dir, 'redis.log')];
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get pid(): number | undefined {
    return this.running ? this.proc!.pid : undefined;
  }

  /** Starts the process and waits until it answers PING (10 s at most). */
  async start(extra: readonly string[] = []): Promise<void> {
    if (this.running) throw new Error(`redis node ${this.port} is already running`);
    killLeftoversOnExit();
    const proc = spawn('redis-server', this.args(extra), { stdio: 'ignore' });
    this.proc = proc;
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    await until(async () => {
      if (proc.exitCode !== null) throw new Error(`redis-server on ${this.port} exited with ${proc.exitCode} (log in ${this.dir})`);
      return (await tryCli(this.port, ['PING'], 1000))?.startsWith('PONG') ? true : undefined;
    }, 10_000, `redis-server on ${this.port} to answer PING`);
  }

  /** SIGKILL by PID, resolved once the process is gone. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || !this.running) return;
    const exited = new Promise((r) => proc.once('exit', r));
    process.kill(proc.pid!, 'SIGKILL');
    await exited;
  }

  /** SIGSTOP: the process stays alive and holds its sockets but reads nothing. */
  pause(): void {
    if (this.running) process.kill(this.proc!.pid!, 'SIGSTOP');
  }

  resume(): void {
    if (this.running) process.kill(this.proc!.pid!, 'SIGCONT');
  }

  cli(args: readonly string[], timeoutMs?: number): Promise<string> {
    return redisCli(this.port, args, timeoutMs);
  }

  /**
   * The client connections an app left open on this node (`CLIENT LIST TYPE normal`, less
   * this query itself and the Sentinels' own links, named `sentinel-*`): after every store
   * is closed, there must be none. Each as `addr=... name=... cmd=...`.
   */
  async appClients(): Promise<string[]> {
    if (!this.running) return [];
    const out = (await tryCli(this.port, ['CLIENT', 'LIST', 'TYPE', 'normal'])) ?? '';
    return out
      .split('\n')
      .filter((l) => l.includes('addr=') && !/\bcmd=client\|list\b/.test(l) && !/\bname=sentinel-/.test(l))
      .map((l) => ['addr', 'name', 'cmd'].map((f) => `${f}=${new RegExp(`\\b${f}=(\\S*)`).exec(l)?.[1] ?? ''}`).join(' '));
  }
}
