// Issue 22, point 3a: the framework's own 4xx refusals (Fastify's content-type parser,
// Express's body-parser) were answered `400 KW_HTTP_400 "Bad request."` and logged nothing,
// so a client sending `Content-Type: application/json` without a body could not tell what
// was wrong. Now the answer carries a fixed reason chosen by the framework's stable error
// code (never the framework's message, which can quote the body), and a debug line names
// that code.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryStore } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { AppClient, type Reply } from './support/clients.js';
import { findSecrets, secret } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';

for (const adapter of ADAPTERS) {
  describe(`framework body errors keep a safe reason: ${adapter}`, () => {
    let app: RunningApp;
    before(async () => {
      app = await startTestApp(adapter, { session: { secrets: [secret()], store: new MemoryStore(), sweepIntervalMs: 0 } });
    });
    after(() => app?.close());

    function assertAnswer(r: Reply, status: number, error: string): void {
      assert.equal(r.status, status, r.text);
      assert.deepEqual(r.body, { error, code: `KW_HTTP_${status}`, requestId: r.headers.get('x-request-id') });
      assert.equal(r.headers.get('cache-control'), 'no-store');
    }

    /** The debug line of this request: the framework's code or class, nothing of the request. */
    function debugLine(r: Reply): string {
      const lines = app.logger.lines.filter((l) => l.includes(`id=${r.headers.get('x-request-id')}`));
      assert.equal(lines.length, 1, app.logger.text);
      assert.ok(lines[0]!.startsWith('debug '), lines[0]);
      return lines[0]!;
    }

    it('invalid JSON: "Invalid JSON body.", never quoting it, in the answer or the log', async () => {
      const password = secret();
      const r = await new AppClient(app.url).request('POST', '/login', { headers: { 'content-type': 'application/json' }, body: `{"user":"alice","password":"${password}` });
      assertAnswer(r, 400, 'Invalid JSON body.');
      const line = debugLine(r);
      assert.match(line, adapter === 'fastify' ? /KW_HTTP_400 FastifyError FST_ERR_CTP_INVALID_JSON_BODY/ : /KW_HTTP_400 SyntaxError entity\.parse\.failed/);
      assert.deepEqual(findSecrets(r.text + app.logger.text, [password]), []);
    });

    if (adapter === 'fastify') {
      it('a bodiless POST with Content-Type: application/json says why', async () => {
        const r = await new AppClient(app.url).request('POST', '/login', { headers: { 'content-type': 'application/json' } });
        assertAnswer(r, 400, 'The request says Content-Type: application/json but has no body: send a JSON body, or no Content-Type.');
        assert.match(debugLine(r), /KW_HTTP_400 FastifyError FST_ERR_CTP_EMPTY_JSON_BODY/);
      });
      it('an unsupported media type', async () => {
        const r = await new AppClient(app.url).request('POST', '/login', { headers: { 'content-type': 'application/x-secret-format' }, body: 'x' });
        assertAnswer(r, 415, 'Unsupported Content-Type.');
        assert.doesNotMatch(r.text, /x-secret-format/, 'the content type is not echoed');
      });
    } else {
      it('a bodiless POST with Content-Type: application/json is read as an empty object', async () => {
        const r = await new AppClient(app.url).request('POST', '/login', { headers: { 'content-type': 'application/json' } });
        assert.equal(r.status, 200, r.text);
      });
      it('a body over the parser limit', async () => {
        const r = await new AppClient(app.url).request('POST', '/login', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'a'.repeat(200_000) }) });
        assertAnswer(r, 413, 'Request body too large.');
        assert.match(debugLine(r), /entity\.too\.large/);
      });
    }
  });
}
