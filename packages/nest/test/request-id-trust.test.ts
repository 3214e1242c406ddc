/**
 * Issue 23.4 (info): a client-chosen `X-Request-Id` flowed into security events and error
 * bodies (log injection, correlation confusion: a client could make its refusals carry
 * another request's id). Now a client's id is never believed: only a proxy the app trusts
 * (`transport.trustProxy`) may pass one on, and only in a strict format (8-64 of
 * `A-Za-z0-9-_`, which a UUID is); otherwise the edge makes its own. Both adapters, real HTTP.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { KeywardEvents, MemoryStore, type KeywardModuleOptions, type SecurityEvent } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { rawGet } from './support/raw-http.js';
import { secret, vaultKey } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function options(transport: KeywardModuleOptions['transport']): KeywardModuleOptions {
  return { session: { secrets: [secret()], store: new MemoryStore(), sweepIntervalMs: 0 }, vault: { keys: [vaultKey('k1')] }, transport };
}

for (const adapter of ADAPTERS) {
  describe(`X-Request-Id is chosen by the edge, or by a trusted proxy (${adapter})`, () => {
    const apps: Record<string, RunningApp> = {};
    const events: Record<string, SecurityEvent[]> = {};
    before(async () => {
      const setups: Array<[string, KeywardModuleOptions['transport']]> = [['default', undefined], ['other proxy', { trustProxy: ['10.0.0.7'] }], ['loopback proxy', { trustProxy: 'loopback' }]];
      for (const [name, transport] of setups) {
        apps[name] = await startTestApp(adapter, options(transport));
        events[name] = [];
        apps[name]!.app.get(KeywardEvents).on((e) => events[name]!.push(e));
      }
    });
    after(async () => {
      for (const app of Object.values(apps)) await app.close();
    });

    /** A refused request (a rebound Host: a security event) with the given X-Request-Id; its answered id and its event's id. */
    async function refused(name: string, requestId: string): Promise<{ answered: string; body: string; event: string }> {
      const app = apps[name]!;
      events[name]!.length = 0;
      const r = await rawGet(app.port, '/me', { host: 'evil.example', 'x-request-id': requestId });
      assert.equal(r.status, 421, r.body);
      const answered = String(r.headers['x-request-id']);
      const event = events[name]!.find((e) => e.event === 'request.refused');
      assert.ok(event, 'no security event');
      return { answered, body: String((JSON.parse(r.body) as { requestId?: unknown }).requestId), event: String(event.requestId) };
    }

    it('regression 23.4: a client\'s well-formed id is replaced when no proxy is trusted, or the client is not the trusted proxy', async () => {
      for (const name of ['default', 'other proxy']) {
        for (const given of ['abcdefgh-1234', randomUUID(), 'victims-request-id-0001']) {
          const { answered, body, event } = await refused(name, given);
          assert.notEqual(answered, given, `${name}: the client chose the id`);
          assert.match(answered, UUID, name);
          assert.equal(body, answered, 'the body and the header agree');
          assert.equal(event, answered, 'the security event carries the edge\'s id');
        }
      }
    });

    it('a trusted proxy\'s id is kept when it is 8-64 of A-Za-z0-9-_ (a UUID is), and replaced otherwise', async () => {
      for (const given of ['abcdefgh-1234', randomUUID(), 'A_b-9'.repeat(12).slice(0, 64)]) {
        const { answered, body, event } = await refused('loopback proxy', given);
        assert.equal(answered, given);
        assert.equal(body, given);
        assert.equal(event, given);
      }
      for (const given of ['short', 'a'.repeat(65), 'dots.in.the.id', 'x id=forged session=deadbeef', 'abc%0d%0aforged', 'quote"quote"quote']) {
        const { answered, event } = await refused('loopback proxy', given);
        assert.notEqual(answered, given, JSON.stringify(given));
        assert.match(answered, UUID);
        assert.equal(event, answered);
      }
    });
  });
}
