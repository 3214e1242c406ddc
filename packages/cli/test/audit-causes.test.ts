import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { auditPaths } from '../src/audit/audit.js';
import type { SourceFinding } from '../src/audit/analyzer.js';

/*
 * One regression test per cause measured in issue 26 ("Causes, measured"), each on a small fixture
 * under test/fixtures/causes/ (written for these tests). Each failed before provenance through the
 * program, the readable-cookie rule, the sink shapes and the per-app session kind.
 */

const CAUSES = fileURLToPath(new URL('../../test/fixtures/causes/', import.meta.url));

/** `keyward audit <folder>` (or files), findings as `file:line:rule`. */
function audit(folder: string, ...files: string[]): SourceFinding[] {
  const dir = join(CAUSES, folder);
  return auditPaths({ paths: files.length > 0 ? files : ['.'], cwd: dir }).findings;
}
const keys = (fs: SourceFinding[]): string[] => fs.map((f) => `${f.file}:${f.line}:${f.ruleId}`);
const high = (fs: SourceFinding[], rule: string): SourceFinding[] => fs.filter((f) => f.ruleId === rule && f.severity === 'high');

describe('cause 1: token provenance is followed through the program, not decided per file by names', () => {
  test('a service method in another file exchanges the code (token endpoint, grant_type body): its refresh token in a cookie is KW001, naming the source', () => {
    const fs = high(audit('c1-service-exchange'), 'KW001');
    assert.deepEqual(keys(fs), ['callback.controller.ts:8:KW001']);
    assert.match(fs[0]!.message, /token-endpoint request at identity\.service\.ts:4/);
    assert.match(fs[0]!.message, /cookie `rt`/);
  });

  test('@fastify/oauth2: getAccessTokenFromAuthorizationCodeFlow gives the provider token', () => {
    const fs = high(audit('c1-fastify-oauth2'), 'KW001');
    assert.deepEqual(keys(fs), ['routes.ts:7:KW001']);
    assert.match(fs[0]!.message, /@fastify\/oauth2/);
  });

  test('a token URL read from the environment: the whole token response sent to the browser is KW004', () => {
    assert.deepEqual(keys(high(audit('c1-env-token-url'), 'KW004')), ['server.ts:5:KW004']);
  });

  test('a provider token passed as a parameter into a JWT payload that goes into a cookie is KW001', () => {
    const fs = high(audit('c1-jwt-payload-param'), 'KW001');
    assert.deepEqual(keys(fs), ['session.ts:8:KW001']);
    assert.match(fs[0]!.message, /google-auth-library `getToken\(\)`/);
    assert.match(fs[0]!.message, /inside a JWT payload/);
  });

  test("the gate's misfire: an `.access_token` field of the app's own login result is not a provider token", () => {
    assert.deepEqual(keys(high(audit('c1-gate-misfire'), 'KW001')), []);
  });
});

describe("cause 2: the app's own token in a cookie page scripts can read is HIGH", () => {
  test('res.cookie without httpOnly and a raw Set-Cookie without HttpOnly are KW001 HIGH; HttpOnly+Secure stays quiet', () => {
    const fs = high(audit('c2-own-token-readable'), 'KW001');
    assert.deepEqual(keys(fs), ['login.ts:5:KW001', 'login.ts:6:KW001']);
    assert.match(fs[0]!.message, /without HttpOnly: any script in the page \(XSS\) can read it/);
    assert.match(fs[0]!.message, /app's own token from `sign\(\)`/);
  });
});

describe('cause 3: sink shapes', () => {
  test('a response object obtained from a call: ctx.getResponse().status(500).json({ api_key })', () => {
    assert.deepEqual(keys(high(audit('c3-sinks', 'filter.ts'), 'KW004')), ['filter.ts:5:KW004']);
  });

  test("the object form res.set({ 'Set-Cookie': … })", () => {
    assert.deepEqual(keys(high(audit('c3-sinks', 'set-object.ts'), 'KW001')), ['set-object.ts:3:KW001']);
  });

  test('a serializer that picks a computed field list', () => {
    assert.deepEqual(keys(high(audit('c3-sinks', 'serializer.ts'), 'KW004')), ['serializer.ts:13:KW004']);
  });

  test('cookie name and value both in variables (a helper called with them)', () => {
    const fs = high(audit('c3-sinks', 'cookie-helper.ts'), 'KW001');
    assert.deepEqual(keys(fs), ['cookie-helper.ts:2:KW001']);
    assert.match(fs[0]!.message, /cookie `partner_key`/);
  });

  test("a secret inside cookie-session's keys: [...] read from a config module", () => {
    assert.deepEqual(keys(high(audit('c3-sinks', 'cookie-session-keys.js'), 'KW003')), ['cookie-session-keys.js:4:KW003']);
  });

  test('a token logged after being read back from its cookie', () => {
    const fs = high(audit('c3-sinks', 'verify.js'), 'KW004');
    assert.deepEqual(keys(fs), ['verify.js:5:KW004']);
    assert.match(fs[0]!.message, /cookie `token`, read back from the request/);
  });

  test('reply.send of a session field that holds a provider token', () => {
    const fs = high(audit('c3-sinks', 'session-send.ts'), 'KW004');
    assert.deepEqual(keys(fs), ['session-send.ts:11:KW004']);
    assert.match(fs[0]!.message, /ession field `googleToken` \(written at line 7/);
  });
});

describe('cause 4: the session kind is decided per app, not per scan', () => {
  test('a folder with two apps gives each app the findings it gives alone', () => {
    const together = keys(audit('c4-two-apps'));
    const client = keys(audit('c4-two-apps', 'app-client')).filter((k) => k.startsWith('app-client/'));
    const server = keys(audit('c4-two-apps', 'app-server')).filter((k) => k.startsWith('app-server/'));
    assert.ok(client.includes('app-client/src/app.ts:6:KW001'), client.join(', '));
    assert.ok(server.includes('app-server/src/app.ts:7:KW007'), server.join(', '));
    assert.deepEqual(together, [...client, ...server]);
  });
});
