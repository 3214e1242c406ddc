import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { analyzeSources, type SourceFinding } from '../src/audit/analyzer.js';

/* Where secrets and tokens come from, and the paths from a value to a sink that the analysis follows. */

const dir = mkdtempSync(join(tmpdir(), 'keyward-taint-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = join(dir, name);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
  return p;
}

/** Audits one file (files it imports are read from disk) and returns its findings. */
function audit(name: string, text: string, session: 'auto' | 'client' | 'server' = 'auto'): SourceFinding[] {
  return analyzeSources([{ path: write(name, text), text }], { cwd: dir, session });
}

const at = (fs: SourceFinding[]): string[] => fs.map((f) => `${f.line}:${f.ruleId}`);
const COOKIE_OPTS = "{ httpOnly: true, secure: true, sameSite: 'lax', maxAge: 60000 }";

describe('token modes: what counts as a secret depends on the sink', () => {
  const oauthFile = (sink: string) =>
    [
      "import { OAuth2Client } from 'google-auth-library';",
      'const client = new OAuth2Client();',
      'export async function cb(code: string, res: any, logger: any) {',
      '  const { tokens } = await client.getToken(code);',
      `  ${sink}`,
      '}',
      '',
    ].join('\n');

  test("a provider's access token is a secret in a cookie, a response body and a log", () => {
    assert.deepEqual(at(audit('m1.ts', oauthFile(`res.cookie('g', tokens.access_token, ${COOKIE_OPTS});`))), ['5:KW001']);
    assert.deepEqual(at(audit('m2.ts', oauthFile('res.json({ token: tokens.access_token });'))), ['5:KW004']);
    assert.deepEqual(at(audit('m3.ts', oauthFile("logger.log('tokens', tokens);"))), ['5:KW004']);
  });

  test("the app's own session JWT is not a leak in a cookie or a login response", () => {
    const own = (sink: string) => `export async function login(jwtService: any, res: any, user: any) {\n  const accessToken = await jwtService.signAsync({ sub: user.id });\n  ${sink}\n}\n`;
    assert.deepEqual(at(audit('own1.ts', own(`res.cookie('access_token', accessToken, ${COOKIE_OPTS});`))), []);
    assert.deepEqual(at(audit('own2.ts', own('res.json({ accessToken });'))), []);
  });

  test('in a log every token counts, with or without an OAuth flow in the file', () => {
    assert.deepEqual(at(audit('log-token.ts', "export function f(logger: any, refreshToken: string) {\n  logger.debug(`refresh with ${refreshToken}`);\n}\n")), ['2:KW004']);
    assert.deepEqual(at(audit('log-env.ts', 'export function f() {\n  console.log(process.env);\n}\n')), ['2:KW004']);
  });

  test('a bearer token is a secret at a client-visible sink without any OAuth flow in the file', () => {
    const text = `export function relay(req: any, res: any) {\n  const auth = req.headers.authorization;\n  res.cookie('upstream_auth', req.headers.authorization, ${COOKIE_OPTS});\n  return auth;\n}\n`;
    assert.deepEqual(at(audit('bearer.ts', text)), ['3:KW001']);
  });

  test('an access token outside an OAuth flow is not a secret at a response sink', () => {
    const text = 'export function f(res: any, accessToken: string) {\n  res.json({ accessToken });\n}\n';
    assert.deepEqual(at(audit('plain-token.ts', text)), []);
  });
});

describe('absent-value narrowing', () => {
  test('regression: a header that its branch proves absent is not a leak (403 that echoes a missing header)', () => {
    const text = [
      'export function check(req: any, res: any, logger: any) {',
      '  const bearer = req.headers.authorization;',
      "  if (typeof bearer !== 'undefined') {",
      '    return true;',
      '  } else {',
      '    logger.warn(`no token: ${bearer}`);',
      '    res.status(403).json({ got: bearer });',
      '  }',
      '}',
      '',
    ].join('\n');
    assert.deepEqual(at(audit('absent.ts', text)), []);
  });

  test('the same header in the branch where it is present is reported', () => {
    const text = 'export function check(req: any, logger: any) {\n  const bearer = req.headers.authorization;\n  if (bearer) logger.warn(`token: ${bearer}`);\n}\n';
    assert.deepEqual(at(audit('present.ts', text)), ['3:KW004']);
  });
});

describe('values passed through one helper or one import', () => {
  test('a helper that sets the cookie: the key passed by its caller is reported at the cookie', () => {
    const text = [
      'function setAuthCookie(res: any, value: string) {',
      `  res.cookie('auth', value, ${COOKIE_OPTS});`,
      '}',
      'export function handshake(res: any) {',
      '  setAuthCookie(res, process.env.OPENAI_API_KEY!);',
      '}',
      '',
    ].join('\n');
    const fs = audit('helper.ts', text);
    assert.deepEqual(at(fs), ['2:KW001']);
    assert.match(fs[0]!.message, /passed to `setAuthCookie` at line 5/);
  });

  test('the same helper called with an opaque session id is not reported', () => {
    const text = [
      "import { randomBytes } from 'node:crypto';",
      'function setAuthCookie(res: any, token: string) {',
      `  res.cookie('auth', token, ${COOKIE_OPTS});`,
      '}',
      "export function login(res: any) { setAuthCookie(res, randomBytes(32).toString('hex')); }",
      '',
    ].join('\n');
    assert.deepEqual(at(audit('helper-safe.ts', text)), []);
  });

  test('one level only: a parameter named like a name or an id is not followed to its callers', () => {
    const text = "function fail(name: string) { throw new Error(`no credential named ${name}`); }\nexport function f(svc: { credential: string }) { fail(svc.credential); }\n";
    assert.deepEqual(at(audit('helper-name.ts', text)), []);
  });

  test('inside a followed call, parameters are that call\'s arguments, not every caller\'s', () => {
    const text = [
      'function show(v: unknown) { return typeof v === "string" ? "a string" : String(v); }',
      'export function a(n: number) { throw new Error(`bad ${show(n)}`); }',
      'export function b() { return show(process.env.STRIPE_SECRET_KEY); }',
      '',
    ].join('\n');
    assert.deepEqual(at(audit('bound.ts', text)), []);
  });

  test("a token getter imported from another file (which runs the OAuth flow) is followed", () => {
    write(
      'lib/creds.ts',
      "import { OAuth2Client } from 'google-auth-library';\nconst client = new OAuth2Client();\nlet current: { access_token?: string } = {};\nexport async function exchange(code: string) { ({ tokens: current } = await client.getToken(code)); }\nexport function currentCredential() { return current.access_token; }\nexport function expiry() { return 3600; }\n",
    );
    const bad = audit('getter.ts', `import { currentCredential } from './lib/creds';\nexport function f(res: any) {\n  res.cookie('g', currentCredential(), ${COOKIE_OPTS});\n}\n`);
    assert.deepEqual(at(bad), ['3:KW001']);
    assert.match(bad[0]!.message, /returned by `currentCredential\(\)` in lib\/creds\.ts/);
    assert.deepEqual(at(audit('getter-safe.ts', `import { expiry } from './lib/creds';\nexport function f(res: any) {\n  res.cookie('g_exp', String(expiry()), ${COOKIE_OPTS});\n}\n`)), []);
  });
});

describe('serializers that keep token fields', () => {
  const controller = (ret: string, extra = '') =>
    `import { Controller, Get, Req } from '@nestjs/common';\nimport _ from 'lodash';\nimport { pick } from 'lodash';\nimport { Exclude, Expose, plainToInstance } from 'class-transformer';\n${extra}\n@Controller('me')\nexport class MeController {\n  @Get() me(@Req() req: any) {\n    return ${ret};\n  }\n}\n`;

  test('pick and _.pick of a token field, returned from a handler, are KW004', () => {
    assert.deepEqual(at(audit('pick1.ts', controller("pick(req.user, ['id', 'refreshToken'])"))).map((x) => x.split(':')[1]), ['KW004']);
    assert.deepEqual(at(audit('pick2.ts', controller("_.pick(req.user, 'id', 'accessToken')"))).map((x) => x.split(':')[1]), ['KW004']);
  });

  test('pick of profile fields, and of the app\'s own freshly issued tokens, are not', () => {
    assert.deepEqual(audit('pick3.ts', controller("pick(req.user, ['id', 'email', 'tokenExpiresAt'])")), []);
    assert.deepEqual(audit('pick4.ts', controller("pick(await this.auth.login(req.user), ['accessToken', 'refreshToken'])")), []);
  });

  test('class-transformer: @Expose() on a token field is KW004, @Exclude() is not', () => {
    const exposed = 'class UserDto { @Expose() id!: string; @Expose() accessToken!: string; }';
    const excluded = 'class UserDto { @Expose() id!: string; @Exclude() accessToken!: string; }';
    assert.deepEqual(at(audit('expose.ts', controller('plainToInstance(UserDto, req.user, { excludeExtraneousValues: true })', exposed))).map((x) => x.split(':')[1]), ['KW004']);
    assert.deepEqual(at(audit('expose-new.ts', controller('new UserDto()', exposed))).map((x) => x.split(':')[1]), ['KW004']);
    assert.deepEqual(audit('exclude.ts', controller('plainToInstance(UserDto, req.user, { excludeExtraneousValues: true })', excluded)), []);
  });
});
