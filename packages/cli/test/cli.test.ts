import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli, type CliIo } from '../src/cli.js';
import { sarifValidator } from './support/sarif-schema.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const vulnerable = fileURLToPath(new URL('../../../../apps/vulnerable/src', import.meta.url));
const corpus = fileURLToPath(new URL('../../test/fixtures/corpus', import.meta.url));

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env, cwd: repo };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

describe('keyward audit', () => {
  test('text: every HIGH finding of the vulnerable app, summary line, exit 1', async () => {
    const r = await run(['audit', vulnerable, '--no-color']);
    assert.equal(r.code, 1);
    for (const id of ['KW001', 'KW003', 'KW004', 'KW005']) assert.match(r.stdout, new RegExp(`HIGH +${id}`));
    assert.match(r.stdout, /✖ \d+ problems \(\d+ high, \d+ medium, \d+ low\)/);
    assert.match(r.stdout, /fix:/);
    assert.doesNotMatch(r.stdout, /\u001b\[/);
  });

  test('colours only when forced or on a TTY', async () => {
    const r = await run(['audit', vulnerable], { FORCE_COLOR: '1' });
    assert.match(r.stdout, /\u001b\[31m/);
  });

  test('--fail-on decides the exit code', async () => {
    assert.equal((await run(['audit', vulnerable, '--fail-on', 'none', '-f', 'json'])).code, 0);
    assert.equal((await run(['audit', vulnerable, '--fail-on', 'critical', '-f', 'json'])).code, 0);
    assert.equal((await run(['audit', vulnerable, '--fail-on', 'low', '-f', 'json'])).code, 1);
    assert.equal((await run(['audit', `${corpus}/s44-server-side-vault.ts`, '--fail-on', 'info'])).code, 0);
  });

  test('json format', async () => {
    const r = await run(['audit', vulnerable, '--format', 'json']);
    const body = JSON.parse(r.stdout) as { summary: { total: number; bySeverity: Record<string, number> }; findings: { ruleId: string; file: string; line: number; fix: string }[] };
    assert.ok(body.summary.total > 0);
    assert.ok(body.summary.bySeverity['high']! >= 5);
    assert.ok(body.findings.every((f) => f.file.startsWith('apps/vulnerable/src/') && f.line > 0 && f.fix.length > 0));
    assert.doesNotMatch(JSON.stringify(body.findings), /change-this-to-a-secure-random-value/);
  });

  test('sarif format validates against the SARIF 2.1.0 schema', async () => {
    const validate = sarifValidator();
    const r = await run(['audit', vulnerable, '--format', 'sarif', '--fail-on', 'none']);
    const log = JSON.parse(r.stdout) as { version: string; runs: { results: { ruleId: string; level: string }[]; tool: { driver: { rules: unknown[] } } }[] };
    const ok = validate(log);
    assert.ok(ok, JSON.stringify(validate.errors?.slice(0, 5)));
    assert.equal(log.version, '2.1.0');
    assert.ok(log.runs[0]!.results.some((x) => x.ruleId === 'KW001' && x.level === 'error'));
    // the validator does reject a broken log
    assert.equal(validate({ version: '2.1.0', runs: [{ results: [] }] }), false);
  });

  test('usage errors exit 2 with a message', async () => {
    assert.equal((await run(['audit', '--format', 'xml'])).code, 2);
    assert.equal((await run(['audit', '--fail-on', 'severe'])).code, 2);
    assert.equal((await run(['audit', 'no/such/dir'])).code, 2);
    assert.equal((await run(['audit', '--bogus'])).code, 2);
    assert.equal((await run(['explode'])).code, 2);
    assert.equal((await run(['probe', 'http://127.0.0.1:1/', '--header', 'X-A: b\r\nSet-Cookie: x=y'])).code, 2, 'CR/LF in a header is refused');
    assert.equal((await run(['probe', 'http://127.0.0.1:1/', '--header', 'no colon'])).code, 2);
    assert.equal((await run(['probe', 'ftp://127.0.0.1/'])).code, 2);
    assert.equal((await run(['probe', 'http://127.0.0.1:1/', '--max-requests', 'NaN'])).code, 2);
    const r = await run(['probe', 'http://127.0.0.1:1/', '--login-json', '{nope']);
    assert.equal(r.code, 2);
    assert.doesNotMatch(r.stderr, /nope/, 'the login body is never echoed');
  });

  test('help, version, rules', async () => {
    assert.match((await run(['--help'])).stdout, /keyward audit/);
    assert.match((await run(['--version'])).stdout, /^\d+\.\d+\.\d+/);
    const rules = (await run(['rules'])).stdout;
    for (const id of ['KW001', 'KW002', 'KW003', 'KW004', 'KW005', 'KW006']) assert.match(rules, new RegExp(id));
  });
});

describe('the Keyward demo and @keyward/nest come back clean', () => {
  test('keyward audit apps/demo packages/nest: nothing at medium or above', async () => {
    const r = await run(['audit', 'apps/demo', 'apps/demo-upstream', 'packages/nest/src', '--fail-on', 'medium', '--format', 'json']);
    const body = JSON.parse(r.stdout) as { findings: { ruleId: string; file: string; line: number; message: string }[] };
    assert.equal(r.code, 0, body.findings.map((f) => `${f.ruleId} ${f.file}:${f.line} ${f.message}`).join('\n'));
  });
});
