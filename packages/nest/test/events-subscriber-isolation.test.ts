/**
 * Issue 23.2 (low): a `KeywardEvents.events$` subscriber that threw took the process down
 * (RxJS rethrows a subscriber's error from a timer: an uncaught exception), and any client
 * can trigger an event (a refused request). Now every subscriber is contained: a throwing or
 * rejecting one is reported once (process warning `KW_LISTENER_FAILED`, never the event's
 * content) and keeps receiving events; the others and the requests carry on.
 * Real HTTP on both adapters; the events are `request.refused` events caused by clients.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { filter, map } from 'rxjs';
import { KeywardEvents, MemoryStore, type SecurityEvent } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { rawGet } from './support/raw-http.js';
import { secret, vaultKey } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';

const EVENTS = 40;

for (const adapter of ADAPTERS) {
  describe(`KeywardEvents subscribers that fail (${adapter})`, () => {
    let app: RunningApp;
    const warnings: Error[] = [];
    const uncaught: unknown[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    const onUncaught = (e: unknown): void => void uncaught.push(e);
    before(async () => {
      app = await startTestApp(adapter, {
        session: { secrets: [secret()], store: new MemoryStore(), sweepIntervalMs: 0 },
        vault: { keys: [vaultKey('k1')] },
      });
      process.on('warning', onWarning);
      // Before the fix RxJS threw the subscriber's error again from a timer: the process died.
      // It is recorded here (so the test can say so) instead of ending the test run.
      process.prependListener('uncaughtException', onUncaught);
    });
    after(async () => {
      process.off('warning', onWarning);
      process.off('uncaughtException', onUncaught);
      await app?.close();
    });

    it('regression 23.2: a subscriber throwing on every event, one rejecting, one failing inside a pipe: reported once each; the others get every event; requests are answered', async () => {
      const events = app.app.get(KeywardEvents);
      const marker = `secret-looking-${secret()}`;
      const seenBySubscriber: SecurityEvent[] = [];
      const seenByPipe: string[] = [];
      const seenByListener: SecurityEvent[] = [];
      const subs = [
        events.events$.subscribe(() => {
          throw new TypeError(`boom ${marker}`);
        }),
        events.events$.subscribe(async () => {
          throw new RangeError(`async boom ${marker}`);
        }),
        events.events$.pipe(filter((e) => e.event === 'request.refused')).subscribe({
          next: () => {
            throw new SyntaxError(marker);
          },
        }),
        events.events$.pipe(map((e) => e.code ?? '')).subscribe((code) => seenByPipe.push(code)),
        events.events$.subscribe((e) => seenBySubscriber.push(e)),
      ];
      const offThrowing = events.on(() => {
        throw new Error(marker);
      });
      const offCounting = events.on((e) => seenByListener.push(e));
      warnings.length = 0;
      try {
        for (let i = 0; i < EVENTS; i++) {
          // A rebound Host: refused at the edge, reported as a security event, by any client.
          const r = await rawGet(app.port, '/me', { host: `evil-${i}.example` });
          assert.equal(r.status, 421, `request ${i} was not answered`);
        }
        // RxJS rethrows from a timer: give it the time to.
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        for (const s of subs) s.unsubscribe();
        offThrowing();
        offCounting();
      }
      assert.deepEqual(uncaught.map((e) => (e instanceof Error ? e.name : typeof e)), [], 'a subscriber\'s error escaped as an uncaught exception');
      const refused = (list: SecurityEvent[]) => list.filter((e) => e.event === 'request.refused' && e.code === 'KW_HOST_NOT_ALLOWED').length;
      assert.equal(refused(seenBySubscriber), EVENTS, 'a working subscriber missed events');
      assert.equal(refused(seenByListener), EVENTS, 'a working listener missed events');
      assert.equal(seenByPipe.filter((c) => c === 'KW_HOST_NOT_ALLOWED').length, EVENTS, 'a working pipe missed events');
      const failed = warnings.filter((w) => (w as Error & { code?: string }).code === 'KW_LISTENER_FAILED');
      assert.equal(failed.length, 4, `one warning per failing subscriber or listener: ${failed.map((w) => w.message).join(' | ')}`);
      for (const w of failed) {
        assert.ok(!w.message.includes(marker), 'the warning carries the error\'s message');
        assert.ok(!/evil-|KW_HOST_NOT_ALLOWED|request\.refused/.test(w.message), 'the warning carries the event');
      }
      assert.deepEqual(failed.map((w) => /\((\w+)\)/.exec(w.message)?.[1]).sort(), ['Error', 'RangeError', 'SyntaxError', 'TypeError']);
      // The app still answers.
      assert.equal((await rawGet(app.port, '/healthz', {})).status, 200);
    });
  });
}
