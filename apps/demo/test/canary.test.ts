/**
 * The canary suite (issue 5): plants random canary values for every kind of secret the
 * demo holds, drives >= 10,000 requests through the demo for both adapters and both
 * stores, and asserts that no canary appears, in any common encoding, in any response,
 * log line or store byte. A second part proves the detector is not blind: it finds every
 * form of a planted value, and it catches a key written past the redaction layers.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CanaryDetector, FORM_NAMES, canaryForms, type Hit } from './support/canary-detector.js';
import { plantSecrets, plantedCanaries, runCombination, runDeliberateLeak, stopAll, type CombinationResult } from './support/canary-harness.js';

const COMBINATIONS = [
  { adapter: 'express', store: 'sqlite' },
  { adapter: 'fastify', store: 'sqlite' },
  { adapter: 'express', store: 'redis' },
  { adapter: 'fastify', store: 'redis' },
] as const;
/** Concurrent visitors (bounded concurrency) and rounds of the request mix per visitor. */
const WORKERS = 24;
const ROUNDS = 2;
const MIN_TOTAL_REQUESTS = 10_000;

/** Statuses every combination must have produced, so a green run cannot be a run that never reached the paths. */
const MUST_SEE = [
  'login-ok 200', 'login-wrong-password 401', 'login-unknown-user 401', 'login-bad-json 400', 'logout 204', 'logout-all 204',
  'replay-after-logout 401', 'replay-after-logout-all 401', 'revoke-session 204', 'replay-after-revoke 401', 'session 200', 'sessions 200',
  'demo-reflect-1 200', 'demo-reflect-b64 200', 'demo-reflect-url 200',
  'session-reflect-1 200', 'session-reflect-b64 200', 'session-reflect-url 200',
  'byok-put 204', 'byok-list 200', 'byok-reflect-1 200', 'byok-reflect-b64 200', 'byok-reflect-url 200', 'byok-delete 204', 'byok-missing 409',
  'upstream-set-cookie 200', 'upstream-redirect 502', 'upstream-500 502', 'upstream-404 404', 'upstream-big 200', 'upstream-slow 200', 'upstream-too-big 502',
  'proxy-no-csrf 403', 'proxy-foreign-origin 403', 'byok-put-no-origin 403', 'proxy-no-session 401', 'proxy-escape-encoded 400', 'proxy-unknown-service 404',
  'byok-bad-json 400', 'byok-control-chars 400', 'cookie-tampered-signature 401', 'cookie-tampered-id 401', 'cookie-duplicated 401',
  'byok-oversized 413', 'proxy-oversized 413', 'proxy-crlf 400', 'login-proto 400', 'cookie-quoted 200',
];
/** The OAuth phase (issues 24, 25): OIDC sign-in, the demo-oauth connection across refreshes, disconnect, every logout. */
const MUST_SEE_OAUTH = [
  'oidc-signin 200', 'oidc-user 200', 'oauth-not-connected 401', 'oauth-connect 200', 'oauth-connections 200', 'oauth-call 200', 'oauth-call-post 200',
  'oauth-disconnect 204', 'oauth-after-disconnect 401', 'oauth-reconnect 200', 'oidc-rp-logout 200', 'oidc-after-logout 401',
  'oidc-backchannel-sent yes', 'oidc-after-backchannel 401',
];
/** The store outage (Redis combinations): requests fail closed, then the app recovers. */
const MUST_SEE_REDIS = ['outage-session 503', 'outage-proxy 503', 'outage-byok-put 503', 'outage-logout 503', 'outage-recovery 401'];

function mb(bytes: number): string {
  return bytes < 100 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function n(value: number): string {
  return value.toLocaleString('en-US');
}

function describeHits(hits: Hit[]): string {
  const shown = hits.slice(0, 20).map((h) => `  - ${h.canary} (${h.kind}) as ${h.form} in ${h.source} @${h.offset}: ${h.context}`);
  return `${hits.length} canary occurrence(s):\n${shown.join('\n')}${hits.length > 20 ? `\n  ... and ${hits.length - 20} more` : ''}`;
}

describe('canary suite: no secret in any response, log line or store byte', () => {
  const secrets = plantSecrets(8);
  const detector = new CanaryDetector();
  const results: CombinationResult[] = [];

  after(async () => {
    await stopAll();
  });

  for (const combo of COMBINATIONS) {
    it(`${combo.adapter} + ${combo.store}: zero canaries${combo.store === 'redis' ? ' (with a store outage)' : ''}`, async () => {
      const r = await runCombination({ ...combo, secrets, detector, workers: WORKERS, rounds: ROUNDS, oauth: true });
      results.push(r);
      const bytes = r.bytes.responses + r.bytes.logs + r.bytes.store;
      console.log(
        `[canary] ${r.name}: ${n(r.requests)} requests, ${n(r.logLines)} log lines, ${mb(bytes)} searched ` +
          `(responses ${mb(r.bytes.responses)}, logs ${mb(r.bytes.logs)}, store ${mb(r.bytes.store)} in ${n(r.storeSources)} objects), ` +
          `${n(r.canaries)} canaries (${r.minted} minted keys; ${n(r.canariesSearched)} searched incl. earlier combinations) x ${FORM_NAMES.length} forms = ${n(r.patterns)} patterns, ` +
          `${r.redactedEchoes} echoed keys scrubbed by the proxy, ${r.hits.length} hits, ${(r.ms / 1000).toFixed(1)} s; ` +
          `OAuth tokens learned: ${r.oauthTokens!.access_token} access, ${r.oauthTokens!.refresh_token} refresh, ${r.oauthTokens!.id_token} ID; ${r.idTokenHints.masked} id_token_hint(s) masked in RP-logout answers (${r.idTokenHints.detected} caught by the detector unmasked)`,
      );
      assert.equal(r.hits.length, 0, describeHits(r.hits));
      assert.deepEqual(r.unexpected.slice(0, 20), [], `${r.unexpected.length} unexpected status(es)`);
      const missing = [...MUST_SEE, ...MUST_SEE_OAUTH, ...(combo.store === 'redis' ? MUST_SEE_REDIS : [])].filter((k) => !r.statusCounts.has(k));
      assert.deepEqual(missing, [], 'the traffic did not reach these paths');
      assert.ok(r.minted > WORKERS, `expected a minted key per session at least, got ${r.minted}`);
      assert.ok(r.redactedEchoes > WORKERS, `the reflecting upstream's echoes were not seen being scrubbed (${r.redactedEchoes})`);
      // The tap saw the sign-in's and the connections' tokens, refreshes included: the OAuth canaries are real values.
      const t = r.oauthTokens!;
      assert.ok(t.id_token >= 6 && t.access_token >= 12 + 6 && t.refresh_token >= 12, `too few OAuth tokens learned: ${JSON.stringify(t)}`);
      // The ID token the app hands out on purpose (id_token_hint of RP-initiated logout) is masked there only, and the detector sees it unmasked.
      assert.ok(r.idTokenHints.masked >= 2, `RP-initiated logouts: ${r.idTokenHints.masked}`);
      assert.equal(r.idTokenHints.detected, r.idTokenHints.masked, 'the detector missed an ID token shown to it unmasked');
    });
  }

  it(`totals: at least ${n(MIN_TOTAL_REQUESTS)} requests, zero canaries`, () => {
    assert.equal(results.length, COMBINATIONS.length, 'every combination ran');
    const requests = results.reduce((a, r) => a + r.requests, 0);
    const lines = results.reduce((a, r) => a + r.logLines, 0);
    const bytes = results.reduce((a, r) => a + r.bytes.responses + r.bytes.logs + r.bytes.store, 0);
    const hits = results.reduce((a, r) => a + r.hits.length, 0);
    const kinds = Object.entries(detector.countsByKind()).map(([k, c]) => `${k} ${c}`).join(', ');
    console.log(
      `[canary] total: ${n(requests)} requests, ${n(lines)} log lines, ${mb(bytes)} (${n(bytes)} bytes) searched, ` +
        `${n(detector.canaryCount)} canaries (${kinds}), ${FORM_NAMES.length} forms (${FORM_NAMES.join(', ')}; base64/base64url at all 3 byte alignments), ` +
        `${n(detector.patternTotal)} patterns, ${hits} hits`,
    );
    assert.ok(requests >= MIN_TOTAL_REQUESTS, `only ${requests} requests`);
    assert.equal(hits, 0);
  });
});

describe('canary suite: the detector is not blind', () => {
  after(async () => {
    await stopAll();
  });

  it('finds every form of a canary, also inside larger encoded blobs at any offset', () => {
    const secrets = plantSecrets(1);
    const detector = new CanaryDetector();
    for (const c of plantedCanaries(secrets)) detector.add(c);
    const key = secrets.serverKeys[0]!;
    const raw = secrets.vaultKeys[0]!.bytes;
    const samples: Array<[string, Buffer]> = [
      ['raw text', Buffer.from(`log: key=${key} end`)],
      ['base64', Buffer.from(`x ${Buffer.from(key).toString('base64')} y`)],
      ['base64url, unpadded', Buffer.from(Buffer.from(key).toString('base64url'))],
      ['hex', Buffer.from(`0x${Buffer.from(key).toString('hex')}`)],
      ['HEX', Buffer.from(Buffer.from(key).toString('hex').toUpperCase())],
      ['URL-encoded', Buffer.from(`?k=${encodeURIComponent(`${key}/+= `)}`)],
      ['every byte percent-encoded', Buffer.from([...Buffer.from(key)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''))],
      ['inside a JSON blob, base64 at offset 1', Buffer.from(Buffer.from(`{"a":"${key}"}`).toString('base64'))],
      ['inside a JSON blob, base64 at offset 2', Buffer.from(Buffer.from(`{"ab":"${key}"}`).toString('base64url'))],
      ['vault key raw bytes in binary', Buffer.concat([Buffer.from([0, 1, 2]), raw, Buffer.from([255])])],
      ['vault key bytes base64 (the env text)', Buffer.from(`KEYWARD_VAULT_KEYS=kwv2:${raw.toString('base64')}`)],
      ['vault key bytes hex', Buffer.from(raw.toString('hex'))],
    ];
    for (const [what, bytes] of samples) {
      assert.ok(detector.scan(what, bytes).length >= 1, `missed: ${what}`);
    }
    assert.equal(detector.scan('clean', Buffer.from('nothing to see here '.repeat(100))).length, 0);
    // Every form of every planted canary is found when written on its own.
    for (const c of plantedCanaries(secrets)) {
      for (const f of canaryForms(c.value)) assert.ok(detector.scan(`${c.label} ${f.form}`, Buffer.concat([Buffer.from('<'), f.bytes, Buffer.from('>')])).length >= 1);
    }
  });

  it('catches a server key written to stdout past every redaction layer (KEYWARD_DEMO_LEAK_ROUTE)', async () => {
    const secrets = plantSecrets(1);
    const detector = new CanaryDetector();
    const { hits, status, logBytes } = await runDeliberateLeak(secrets, detector);
    const serverKeyHits = hits.filter((h) => h.kind === 'server-key' && h.canary === 'server key #1');
    console.log(`[canary] deliberate leak: GET /api/debug/leak -> ${status}; ${n(logBytes)} bytes of stdout searched; ${hits.length} hit(s): ${hits.map((h) => `${h.canary} as ${h.form}`).join(', ')}`);
    assert.equal(status, 200);
    assert.ok(serverKeyHits.length >= 1, `the detector missed the deliberate leak: ${describeHits(hits)}`);
  });
});
