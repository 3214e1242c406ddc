// Issue 22, point 3: helmet on the Nest routes sent X-Frame-Options: SAMEORIGIN and
// Referrer-Policy: no-referrer while Keyward's edge sent DENY and same-origin on proxied
// answers. `transport.securityHeaders` is the one set of security headers: the edge sets it
// on every response and sets it again just before a response's headers are written, so the
// app's middleware cannot make its routes differ; a different value is warned about once.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import helmet from 'helmet';
import { MemoryStore, ServerKeyProvider, resolveKeywardOptions, type KeywardModuleOptions } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { upstreamService } from './support/bff-options.js';
import { Client, PageClient } from './support/clients.js';
import { configError, problemAt } from './support/config-errors.js';
import { nodeRequest } from './support/raw-http.js';
import { secret, vaultKey } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { startUpstream, type UpstreamHandle } from './support/upstream.js';

const SERVER_KEY = secret();
let upstream: UpstreamHandle;
before(async () => {
  upstream = await startUpstream({ serverKeys: [SERVER_KEY], adminToken: secret() });
});
after(() => upstream?.close());

function options(transport: KeywardModuleOptions['transport'] = {}): KeywardModuleOptions {
  return {
    session: { secrets: [secret()], store: new MemoryStore(), sweepIntervalMs: 0 },
    vault: { keys: [vaultKey('k1')] },
    credentials: { server: new ServerKeyProvider({ keys: [SERVER_KEY] }) },
    proxy: { services: { server: upstreamService(upstream.url, 'server') } },
    transport,
  };
}

/** Every kind of answer, as a header lookup: a Nest route (and a second one), a proxied call, refusals at the edge and at the proxy route, a 404. */
async function answers(app: RunningApp): Promise<Record<string, (name: string) => string | null>> {
  const page = new PageClient(app.url);
  const login = await page.post('/login', { user: 'alice' });
  assert.equal(login.status, 200);
  const nest = await page.get('/healthz');
  assert.equal(nest.status, 200);
  const proxied = await page.get('/api/proxy/server/echo');
  assert.equal(proxied.status, 200);
  const noSession = await new Client(app.url).get('/api/proxy/server/echo');
  assert.equal(noSession.status, 401);
  const notFound = await page.get('/no-such-route');
  assert.equal(notFound.status, 404);
  const forged = await nodeRequest(app.url, 'GET', '/healthz', { host: 'evil.example' });
  assert.equal(forged.json?.code, 'KW_HOST_NOT_ALLOWED');
  const fromHeaders = (h: Headers) => (name: string) => h.get(name);
  return {
    'Nest route (login)': fromHeaders(login.headers),
    'Nest route (healthz)': fromHeaders(nest.headers),
    'proxied call': fromHeaders(proxied.headers),
    'proxy route refusal (401)': fromHeaders(noSession.headers),
    'Nest 404': fromHeaders(notFound.headers),
    'edge refusal (forged Host)': (name) => (forged.headers[name.toLowerCase()] as string | undefined) ?? null,
  };
}

function warningsAbout(app: RunningApp, header: string): string[] {
  return app.logger.lines.filter((l) => l.startsWith('warn ') && l.includes(`carry ${header}:`));
}

for (const adapter of ADAPTERS) {
  describe(`the same security headers on every route, with helmet on the Nest routes (${adapter})`, () => {
    it("defaults: every answer carries Keyward's values; helmet's different ones are replaced, warned about once per header", async () => {
      const app = await startTestApp(adapter, options(), { setup: (a) => a.use(helmet()) });
      try {
        const all = await answers(app);
        await answers(app); // twice: the warnings stay at one each
        const expected: Record<string, string> = {
          'X-Content-Type-Options': 'nosniff',
          'X-Frame-Options': 'DENY',
          'Referrer-Policy': 'same-origin',
          'Cross-Origin-Opener-Policy': 'same-origin',
          'Cross-Origin-Resource-Policy': 'same-origin',
        };
        for (const [what, get] of Object.entries(all)) {
          for (const [name, value] of Object.entries(expected)) assert.equal(get(name), value, `${what}: ${name}`);
        }
        // helmet did run on the Nest routes and the 404 (its CSP, outside Keyward's set, is there).
        for (const what of ['Nest route (login)', 'Nest route (healthz)', 'Nest 404']) assert.ok(all[what]!('content-security-policy'), `${what}: helmet ran`);
        const frame = warningsAbout(app, 'X-Frame-Options');
        assert.equal(frame.length, 1, app.logger.text);
        assert.match(frame[0]!, /X-Frame-Options: "SAMEORIGIN".*X-Frame-Options: "DENY".*transport\.securityHeaders: \{ 'X-Frame-Options': 'SAMEORIGIN' \}/);
        const referrer = warningsAbout(app, 'Referrer-Policy');
        assert.equal(referrer.length, 1, app.logger.text);
        assert.match(referrer[0]!, /"no-referrer".*"same-origin"/);
        // helmet's values equal Keyward's for these: no warning.
        for (const same of ['X-Content-Type-Options', 'Cross-Origin-Opener-Policy', 'Cross-Origin-Resource-Policy']) assert.deepEqual(warningsAbout(app, same), [], same);
      } finally {
        await app.close();
      }
    });

    it('transport.securityHeaders: other values, a header turned off and one added are the same on every answer', async () => {
      const csp = "default-src 'self'";
      const app = await startTestApp(
        adapter,
        options({ securityHeaders: { 'X-Frame-Options': 'SAMEORIGIN', 'referrer-policy': 'no-referrer', 'Cross-Origin-Resource-Policy': false, 'Content-Security-Policy': csp } }),
        { setup: (a) => a.use(helmet()) },
      );
      try {
        const all = await answers(app);
        for (const [what, get] of Object.entries(all)) {
          assert.equal(get('X-Frame-Options'), 'SAMEORIGIN', `${what}: X-Frame-Options`);
          assert.equal(get('Referrer-Policy'), 'no-referrer', `${what}: Referrer-Policy`);
          assert.equal(get('Cross-Origin-Resource-Policy'), null, `${what}: turned off, also where helmet set it`);
          assert.equal(get('Content-Security-Policy'), csp, `${what}: added, replacing helmet's own`);
          assert.equal(get('X-Content-Type-Options'), 'nosniff', `${what}: a default kept`);
        }
        // Now helmet agrees on the first two; it still sets the header turned off, and another CSP.
        assert.deepEqual(warningsAbout(app, 'X-Frame-Options'), []);
        assert.deepEqual(warningsAbout(app, 'Referrer-Policy'), []);
        assert.equal(warningsAbout(app, 'Cross-Origin-Resource-Policy').length, 1);
        assert.match(warningsAbout(app, 'Cross-Origin-Resource-Policy')[0]!, /no Cross-Origin-Resource-Policy/);
        assert.equal(warningsAbout(app, 'Content-Security-Policy').length, 1);
      } finally {
        await app.close();
      }
    });
  });
}

describe('transport.securityHeaders: validation', () => {
  const resolve = (securityHeaders: unknown) =>
    resolveKeywardOptions({ session: { secrets: [secret()], store: new MemoryStore() }, transport: { securityHeaders } as never }).transport.securityHeaders;
  const problem = (securityHeaders: unknown, at: string) => problemAt(configError(() => resolve(securityHeaders)), at);

  it("defaults to today's five headers and values", () => {
    assert.deepEqual(
      resolve(undefined).map((h) => [h.name, h.value]),
      [
        ['X-Content-Type-Options', 'nosniff'],
        ['X-Frame-Options', 'DENY'],
        ['Referrer-Policy', 'same-origin'],
        ['Cross-Origin-Opener-Policy', 'same-origin'],
        ['Cross-Origin-Resource-Policy', 'same-origin'],
      ],
    );
  });

  it('names ignore case; token values are sent in their canonical case; false turns a header off', () => {
    const got = Object.fromEntries(resolve({ 'x-frame-options': 'sameorigin', 'REFERRER-POLICY': 'no-referrer, Strict-Origin-When-Cross-Origin', 'Cross-Origin-Opener-Policy': false }).map((h) => [h.name, h.value]));
    assert.equal(got['X-Frame-Options'], 'SAMEORIGIN');
    assert.equal(got['Referrer-Policy'], 'no-referrer, strict-origin-when-cross-origin');
    assert.equal(got['Cross-Origin-Opener-Policy'], null);
  });

  it('refuses, each with its fix: an unknown header, HSTS (its own option), a value the header does not take, a line break, a name given twice, not an object', () => {
    assert.match(problem({ 'X-Powered-By': 'me' }, 'transport.securityHeaders["X-Powered-By"]'), /not a security header.*Content-Security-Policy/);
    assert.match(problem({ 'Strict-Transport-Security': 'max-age=1' }, 'transport.securityHeaders["Strict-Transport-Security"]'), /transport\.hsts/);
    assert.match(problem({ 'X-Frame-Options': 'ALLOW-FROM https://a.example' }, 'transport.securityHeaders["X-Frame-Options"]'), /'DENY', 'SAMEORIGIN', or false/);
    assert.match(problem({ 'Referrer-Policy': 'no-referrer, everything' }, 'transport.securityHeaders["Referrer-Policy"]'), /one or more \(comma-separated\)/);
    assert.match(problem({ 'Content-Security-Policy': "default-src 'self'\r\nSet-Cookie: a=b" }, 'transport.securityHeaders["Content-Security-Policy"]'), /printable ASCII/);
    assert.match(problem({ 'X-Frame-Options': true }, 'transport.securityHeaders["X-Frame-Options"]'), /got true/);
    assert.match(problem({ 'X-Frame-Options': 'DENY', 'x-frame-options': 'SAMEORIGIN' }, 'transport.securityHeaders["x-frame-options"]'), /named twice/);
    assert.match(problem('DENY', 'transport.securityHeaders'), /expected an object/);
  });
});
