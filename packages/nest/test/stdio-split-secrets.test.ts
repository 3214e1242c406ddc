/**
 * Issue 23.3 (info): the stdio scrubber let a secret split across writes through when the
 * first piece pushed the unfinished line past 1 MiB, or when the second piece came more than
 * 20 ms later. Now the tail of a write that could be the start of a tracked form is held
 * until the next write shows whether the secret follows (or until exit), whatever the line's
 * length or the pause; everything else goes out at once, so what is held stays under the
 * longest tracked form. Real child processes, their stdout read through a pipe; no
 * wall-clock assertion (pauses are only there to be longer than the old 20 ms).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { waitFor } from './support/wait-for.js';

const INDEX = fileURLToPath(new URL('../src/index.js', import.meta.url));

interface Child {
  out: () => string;
  bytes: () => number;
  send: (text: string) => void;
  done: Promise<string>;
}

/** Runs `body` (an ES module body) in a child with stdio redaction installed; stdout is a pipe. */
function child(body: string): Child {
  const script = `import { installStdioRedaction, liveSecrets } from ${JSON.stringify(INDEX)};\ninstallStdioRedaction();\nconst pause = (ms) => new Promise((r) => setTimeout(r, ms));\n${body}`;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let size = 0;
  let err = '';
  proc.stdout.on('data', (d: Buffer) => {
    chunks.push(d);
    size += d.length;
  });
  proc.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const out = (): string => Buffer.concat(chunks).toString('utf8');
  const done = new Promise<string>((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code) => (code === 0 ? resolve(out()) : reject(new Error(`child exited ${code}: ${err}`))));
  });
  return { out, bytes: () => size, send: (text) => proc.stdin.write(text), done };
}

describe('stdio redaction: a secret split across writes (issue 23.3)', () => {
  it('regression 23.3: split at every position, with pauses longer than the old 20 ms flush, is scrubbed whole', async () => {
    const key = `sk_live_${randomBytes(24).toString('base64url')}`;
    const out = await child(`
      const key = ${JSON.stringify(key)};
      liveSecrets.add(key);
      for (let p = 1; p < key.length; p++) {
        process.stdout.write('line ' + p + ' ' + key.slice(0, p));
        if (p % 4 === 0) await pause(40);
        else await pause(0);
        process.stdout.write(key.slice(p) + ' end\\n');
      }
      // Three pieces, paused, and no newline before exit.
      process.stdout.write('last ' + key.slice(0, 5));
      await pause(40);
      process.stdout.write(key.slice(5, 30));
      await pause(40);
      process.stdout.write(key.slice(30));
    `).done;
    assert.ok(!out.includes(key.slice(0, 12)) && !out.includes(key.slice(-12)), 'a piece of the key reached stdout');
    const lines = out.split('\n');
    for (let p = 1; p < key.length; p++) assert.equal(lines[p - 1], `line ${p} [REDACTED] end`, `split at ${p}`);
    assert.equal(lines.at(-1), 'last [REDACTED]');
  });

  it('regression 23.3: a first piece that takes the line past 1 MiB does not let the secret through', async () => {
    const key = `ghp_${randomBytes(27).toString('base64url')}`;
    const c = child(`
      const key = ${JSON.stringify(key)};
      liveSecrets.add(key);
      process.stdout.write('x'.repeat(1536 * 1024) + ' ' + key.slice(0, 10));
      await pause(40);
      process.stdout.write(key.slice(10) + ' tail\\n');
      process.stdout.write('y'.repeat(3 * 1024 * 1024) + key.slice(0, 1));
      process.stdout.write(key.slice(1, 2));
      process.stdout.write(key.slice(2) + '\\n');
    `);
    const out = await c.done;
    assert.ok(!out.includes(key.slice(0, 10)) && !out.includes(key.slice(10)), 'the key reached stdout');
    const [first, second] = out.split('\n');
    assert.equal(first!.length, 1536 * 1024 + ' [REDACTED] tail'.length);
    assert.ok(first!.endsWith('x [REDACTED] tail'));
    assert.ok(second!.endsWith('y[REDACTED]'), second!.slice(-40));
  });

  it('what is held stays bounded: a 5 MiB line without a newline reaches the pipe while the child still waits', async () => {
    const key = `sk_live_${randomBytes(24).toString('base64url')}`;
    const total = 5 * 1024 * 1024;
    const c = child(`
      liveSecrets.add(${JSON.stringify(key)});
      const piece = 'z'.repeat(64 * 1024);
      for (let i = 0; i < ${total / (64 * 1024)}; i++) process.stdout.write(piece);
      // Wait for the parent: it answers only once it has read (nearly) the whole line.
      await new Promise((r) => process.stdin.once('data', r));
      process.stdout.write('\\n');
      process.exit(0);
    `);
    await waitFor(() => c.bytes() >= total - 4096, 20_000, () => 'the unfinished line to be written while the child waits');
    c.send('go\n');
    const out = await c.done;
    assert.equal(out, `${'z'.repeat(total)}\n`);
  });

  it('a prompt (no newline) that cannot begin a secret is written at once', async () => {
    const key = `sk_live_${randomBytes(24).toString('base64url')}`;
    const c = child(`
      liveSecrets.add(${JSON.stringify(key)});
      process.stdout.write('continue? [y/N] ');
      await new Promise((r) => process.stdin.once('data', r));
      process.stdout.write('ok\\n');
      process.exit(0);
    `);
    await waitFor(() => c.out().includes('continue? [y/N] '), 20_000, () => 'the prompt');
    c.send('y\n');
    assert.equal(await c.done, 'continue? [y/N] ok\n');
  });
});
