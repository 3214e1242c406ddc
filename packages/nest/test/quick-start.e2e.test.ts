// Issue 22, "Docs that a user copies must work": docs/quick-start.md, run end to end as a
// reader would, on Express and on Fastify. The app is built from the doc's own code blocks
// (read from the Markdown, never retyped: `// src/...` blocks), compiled with the
// repository's tsc, started as a process with the secrets step 2's own commands generate,
// against a real redis-server and the library's test upstream; then step 6's curl block runs
// in bash with real curl, and every answer is checked against what the doc's comments say
// (status, JSON body, headers) and against what the upstream received.
//
// Substitutions, the only ones: the partner's base URL `https://api.partner.example/v1/`
// becomes the test upstream's (plus `allowHttpToLoopback: true`, it is plain HTTP), and
// `APP=http://localhost:3000` gets the app's free port.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ADAPTERS } from './support/adapters.js';
import { compileSnippets, shellCommands, snippetCompilerOptions, snippetTree, snippetsOf, writeSnippets, type Snippet } from './support/doc-snippets.js';
import { RedisServer, freePort } from './support/redis-server.js';
import { startUpstream, type UpstreamHandle } from './support/upstream.js';
import { waitFor } from './support/wait-for.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const DOC = 'docs/quick-start.md';
const PARTNER = 'https://api.partner.example/v1/';

/** The doc's blocks under a section heading (`## 6. Try it with curl`: the blocks until the next `## `). */
function blocksOfSection(all: Snippet[], heading: RegExp): Snippet[] {
  const lines = readFileSync(join(ROOT, DOC), 'utf8').split('\n');
  const start = lines.findIndex((l) => heading.test(l));
  assert.ok(start >= 0, `${DOC} has no section ${heading}`);
  let end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  if (end < 0) end = lines.length;
  return all.filter((s) => s.line > start && s.line <= end);
}

/** Runs a bash script (asynchronously: the test upstream lives in this process); stdout, stderr and status. */
function bash(script: string, cwd: string): Promise<{ out: string; err: string; status: number | null }> {
  return new Promise((resolve) => {
    const p = spawn('bash', ['-c', script], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => process.kill(p.pid!, 'SIGKILL'), 60_000);
    p.on('close', (status) => {
      clearTimeout(timer);
      resolve({ out, err, status });
    });
  });
}

interface CurlAnswer {
  command: string;
  comment: string[];
  status: number;
  headers: Array<[string, string]>;
  body: string;
}

const header = (a: CurlAnswer, name: string): string[] => a.headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);

/** `curl -i` output: status line, headers, blank line, body. */
function parseCurl(command: string, comment: string[], text: string): CurlAnswer {
  const sep = text.indexOf('\r\n\r\n');
  assert.ok(sep >= 0, `no HTTP answer from: ${command}\n${text}`);
  const [statusLine, ...lines] = text.slice(0, sep).split('\r\n');
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine!)?.[1]);
  const headers = lines.map((l): [string, string] => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]);
  return { command, comment, status, headers, body: text.slice(sep + 4) };
}

/** A doc value with placeholders (`<id>.<sig>`, `...`) as a regular expression. */
function pattern(docValue: string): RegExp {
  const parts = docValue.split(/<[^>]+>|\.\.\./);
  return new RegExp(`^${parts.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^;\\s]+')}$`);
}

/** A doc JSON body: fields whose value is "..." are not compared. */
function checkBody(actual: unknown, claimed: unknown, where: string): void {
  if (claimed === '...') return;
  if (claimed && typeof claimed === 'object') {
    assert.ok(actual && typeof actual === 'object', `${where}: expected an object, got ${JSON.stringify(actual)}`);
    for (const [k, v] of Object.entries(claimed)) checkBody((actual as Record<string, unknown>)[k], v, `${where}.${k}`);
    return;
  }
  assert.deepEqual(actual, claimed, where);
}

/**
 * What a comment line under a curl command claims, checked: `# <status> <JSON>   Name: value   Name: value`.
 * Returns how many claims were checked.
 */
function checkClaims(a: CurlAnswer): number {
  const first = a.comment[0] ?? '';
  const m = /^(\d{3})\b[,:]?\s*(\{.*?\})?(?=\s{2,}|\s*$|:|,)(.*)$/.exec(first);
  if (!m) return 0;
  const what = `${DOC}: "${a.command}" claims "${first}"`;
  let checked = 1;
  assert.equal(a.status, Number(m[1]), `${what}; got ${a.status} ${a.body}`);
  if (m[2]) {
    checkBody(JSON.parse(a.body), JSON.parse(m[2].replace(/"\.\.\."/g, '"..."')), what);
    checked++;
  }
  for (const h of (m[3] ?? '').split(/\s{2,}/).map((s) => s.trim()).filter((s) => /^[A-Z][A-Za-z-]+: /.test(s))) {
    const name = h.slice(0, h.indexOf(':'));
    const value = h.slice(name.length + 1).trim();
    const got = header(a, name);
    // Shown without the cookie's value: a failure message never carries a session ID.
    const shown = got.map((v) => v.replace(/^([^=;]+)=[^;]+/, '$1=<value>'));
    assert.ok(got.some((v) => pattern(value).test(v)), `${what}; ${name} was ${JSON.stringify(shown)}`);
    checked++;
  }
  return checked;
}

describe(`${DOC}, run as written`, () => {
  const all = snippetsOf(ROOT, DOC);
  // main.ts is the test's own (adapter and port, as the doc's sentence on main.ts says); a main.ts
  // block in the doc, if any, is compiled by doc-snippets.test.ts.
  const appFiles = all.filter((s) => s.lang === 'ts' && s.path?.startsWith('src/') && s.path !== 'src/main.ts');
  const [secretsBlock] = blocksOfSection(all, /^## \d+\. Generate the secrets/).filter((s) => s.lang === 'sh');
  const [curlBlock] = blocksOfSection(all, /^## \d+\. Try it with curl/).filter((s) => s.lang === 'sh');
  let dir: string;
  let redis: RedisServer;

  before(() => {
    assert.ok(appFiles.some((s) => s.path === 'src/app.module.ts'), `${DOC} has no \`// src/app.module.ts\` block`);
    assert.ok(secretsBlock && curlBlock, `${DOC}: the secrets block of step 2 and the curl block of step 6`);
    dir = snippetTree(ROOT, 'quick-start-app');
    const app = appFiles.map((s) => {
      if (s.path !== 'src/app.module.ts') return s;
      assert.ok(s.code.includes(`baseUrl: '${PARTNER}'`), `${DOC}:${s.line}: the module no longer calls ${PARTNER}; update this test's substitution`);
      return { ...s, code: s.code.replaceAll(`baseUrl: '${PARTNER}'`, "baseUrl: process.env.QUICK_START_UPSTREAM!, allowHttpToLoopback: true") };
    });
    const written = writeSnippets(dir, app);
    // main.ts as the doc says: `NestFactory.create(AppModule)` (Express) or `NestFactory.create(AppModule, new FastifyAdapter())`.
    writeFileSync(
      join(dir, 'docs__quick-start', 'src', 'main.ts'),
      [
        "import { NestFactory } from '@nestjs/core';",
        "import { FastifyAdapter } from '@nestjs/platform-fastify';",
        "import { AppModule } from './app.module.js';",
        "const app = process.env.ADAPTER === 'fastify' ? await NestFactory.create(AppModule, new FastifyAdapter()) : await NestFactory.create(AppModule);",
        "await app.listen(Number(process.env.PORT), '127.0.0.1');",
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: snippetCompilerOptions({ outDir: 'out', rootDir: 'docs__quick-start/src' }), include: ['docs__quick-start/src/**/*.ts'] }));
    const { diagnostics, output, status } = compileSnippets(ROOT, dir, written, []);
    assert.deepEqual(diagnostics, [], `the quick start's code does not compile:\n${output}`);
    assert.equal(status, 0, output);
  });
  before(async () => {
    redis = await RedisServer.launch();
  });
  after(() => redis?.destroy());

  it('the step that generates the secrets prints them a session secret and a vault key in the documented forms', async () => {
    const r = await bash(secretsBlock!.code, dir);
    assert.equal(r.status, 0, r.err);
    const [secret, vaultKey] = r.out.trim().split('\n');
    assert.match(secret!, /^[A-Za-z0-9_-]{43}$/);
    assert.match(vaultKey!, /^k1:[A-Za-z0-9+/]{43}=$/);
  });

  for (const adapter of ADAPTERS) {
    describe(`on ${adapter}`, () => {
      let upstream: UpstreamHandle;
      let proc: ChildProcess | undefined;
      let port: number;
      let log = '';
      const partnerKey = `sk_live_${randomBytes(24).toString('base64url')}`;

      before(async () => {
        upstream = await startUpstream({ serverKeys: [partnerKey], adminToken: randomBytes(24).toString('base64url') });
        // The key step 6 puts into the session is the user's key at the partner: the partner knows it.
        const put = shellCommands(curlBlock!.code).find((c) => c.command.includes('/api/session-key'));
        const sessionKey = put && /"key":"([^"]+)"/.exec(put.command)?.[1];
        assert.ok(sessionKey, `${DOC}:${curlBlock!.line}: no PUT of a key to /api/session-key`);
        upstream.addServerKey(sessionKey, 'session-key');
        const [secret, vaultKey] = (await bash(secretsBlock!.code, dir)).out.trim().split('\n');
        port = await freePort();
        const env: Record<string, string> = {
          ...(process.env as Record<string, string>),
          KEYWARD_SESSION_SECRETS: secret!,
          KEYWARD_VAULT_KEYS: vaultKey!,
          REDIS_URL: redis.url,
          PARTNER_API_KEY: partnerKey,
          DEMO_PASSWORD: 'alice-password',
          QUICK_START_UPSTREAM: `${upstream.url}/v1/`,
          ADAPTER: adapter,
          PORT: String(port),
        };
        delete env.NODE_ENV;
        proc = spawn(process.execPath, [join(dir, 'out', 'main.js')], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
        proc.stdout!.on('data', (d: Buffer) => (log += d.toString()));
        proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
        await waitFor(
          async () => {
            if (proc!.exitCode !== null) throw new Error(`the quick-start app exited (${proc!.exitCode}):\n${log}`);
            return fetch(`http://127.0.0.1:${port}/api/auth/session`).then(() => true, () => false);
          },
          30_000,
          () => `the quick-start app on port ${port}:\n${log}`,
        );
      });
      after(async () => {
        await upstream?.close();
        if (proc && proc.exitCode === null) {
          const exited = new Promise((r) => proc!.once('exit', r));
          process.kill(proc.pid!, 'SIGTERM');
          await exited;
        }
      });

      it('the curl commands get the answers the doc shows', async () => {
        const work = join(dir, `curl-${adapter}`);
        mkdirSync(work, { recursive: true });
        const commands = shellCommands(curlBlock!.code);
        const script = ['set -u'];
        commands.forEach((c, i) => {
          const line = c.command.replace(/^APP=http:\/\/localhost:3000$/, `APP=http://localhost:${port}`);
          script.push(c.command.startsWith('curl ') ? `printf '\\n@@kw %d\\n' ${i}; ${line} 2>/dev/null` : line);
        });
        const r = await bash(script.join('\n'), work);
        assert.equal(r.status, 0, `the curl block failed:\n${r.err}\n${r.out}`);
        const answers = new Map<number, CurlAnswer>();
        for (const part of r.out.split(/\n@@kw (\d+)\n/).slice(1).reduce<string[][]>((acc, x, i) => (i % 2 === 0 ? acc.push([x]) : acc[acc.length - 1]!.push(x), acc), [])) {
          const i = Number(part[0]);
          answers.set(i, parseCurl(commands[i]!.command, commands[i]!.comment, part[1]!));
        }
        const curls = commands.map((c, i) => ({ c, i })).filter(({ c }) => c.command.startsWith('curl '));
        assert.equal(answers.size, curls.length, `${answers.size} answers for ${curls.length} curl commands:\n${r.out}`);
        const find = (what: string): CurlAnswer => {
          const hit = [...answers.values()].find((a) => a.command.includes(what));
          assert.ok(hit, `${DOC}: no curl command with ${what}`);
          return hit;
        };

        // Every "# <status> ..." comment, checked as written.
        let claims = 0;
        for (const a of answers.values()) claims += checkClaims(a);
        assert.ok(claims >= 8, `only ${claims} claims checked`);

        // Login: the cookie the doc names, and nothing of a key in it.
        const login = find('/api/auth/login');
        const cookie = header(login, 'set-cookie').find((v) => v.startsWith('sid='));
        assert.ok(cookie, `login set no sid cookie: ${JSON.stringify(login.headers.map(([n]) => n))}`);

        // The proxied call: the partner's own answer (it knows the key, so not a 401 -> 502), the key attached, the browser's cookie and X-CSRF dropped.
        const proxied = find('/api/proxy/partner/models');
        assert.equal(proxied.status, 404, `the partner's answer to /v1/models (404 from the test partner): ${proxied.status} ${proxied.body}`);
        assert.deepEqual(JSON.parse(proxied.body), { error: 'not found' });
        assert.ok(!proxied.body.includes(partnerKey) && !proxied.headers.some(([, v]) => v.includes(partnerKey)));

        // The session's own key, put by PUT /api/session-key, attached by SessionKeyProvider.
        const sessionCall = find('/api/proxy/partner-session/models');
        assert.equal(sessionCall.status, 404, `the partner's answer with the session's key: ${sessionCall.status} ${sessionCall.body}`);
        const seen = upstream.stats();
        assert.ok(seen.requests >= 2, 'the partner got both calls');

        // Logout clears the cookie; the old value, sent again, is refused with the code the doc names.
        const logout = find('/api/auth/logout');
        assert.ok(header(logout, 'set-cookie').some((v) => /^sid=; Max-Age=0/.test(v)), `logout cleared the cookie: ${JSON.stringify(header(logout, 'set-cookie'))}`);
        const replay = /gets (\d{3}) (\{.*\})/.exec(logout.comment.join(' '));
        assert.ok(replay, `${DOC}: the logout comment says what the old cookie gets`);
        const old = cookie.split(';')[0]!;
        const again = await bash(`curl -si -H 'Origin: http://localhost:${port}' -H 'X-CSRF: 1' -H 'Cookie: ${old}' http://localhost:${port}/api/auth/session`, work);
        const answer = parseCurl('replay', [], again.out);
        assert.equal(answer.status, Number(replay[1]), `the logged-out cookie: ${answer.status} ${answer.body}`);
        checkBody(JSON.parse(answer.body), JSON.parse(replay[2]!.replace(/,\.\.\.\}/, '}')), `${DOC}: the logged-out cookie`);
        const again2 = await bash(`curl -si -H 'Origin: http://localhost:${port}' -H 'X-CSRF: 1' -H 'Cookie: ${old}' http://localhost:${port}/api/proxy/partner-session/models`, work);
        assert.equal(parseCurl('replay proxy', [], again2.out).status, 401, 'the session key is not usable with the old cookie');
      });
    });
  }
});
