// Issue 23.2: the echo scrubber missed common encodings of keys with `/ + = '` (AWS- and
// Azure-style keys): PHP's `\/`, .NET's `\u002B`, Python's `quote` (keeps `/`), lower-case
// `%2f`, all-`\u` escaping and HTML entities reached the browser, in bodies and in
// allow-listed headers.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MemoryStore, ServerKeyProvider } from '../src/index.js';
import { scrubBuffer, scrubString, secretForms } from '../src/proxy/scrub.js';
import { ADAPTERS } from './support/adapters.js';
import { bffOptions, upstreamService } from './support/bff-options.js';
import { PageClient } from './support/clients.js';
import { HttpKeyIssuer } from './support/key-issuer.js';
import { nodeRequest } from './support/raw-http.js';
import { TEXT_ENCODINGS, findSecrets, secret } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { startUpstream, type UpstreamHandle } from './support/upstream.js';

/** An AWS-style secret with every character the finding names, and the HTML- and JSON-special ones. */
const awsStyle = (): string => `wJal/rXUt+nFEMI=K7'MD"EN&G<bP>xRf/${randomBytes(18).toString('base64')}+==`;
/** A user's own key: the key alphabet users may store (no quotes or markup; see checkUserKey), still with / + =. */
const userKeyStyle = (): string => `wJal/rXUt+nFEMI=K7MDENG~bPxRf/${randomBytes(18).toString('base64')}+==`;
const MODES = ['1', 'b64', 'url', ...Object.keys(TEXT_ENCODINGS)];

describe('echo scrubber: escaped forms of a key (unit)', () => {
  const key = awsStyle();
  const forms = secretForms(key);

  for (const [name, encode] of Object.entries(TEXT_ENCODINGS)) {
    it(`${name}: removed from a body and from a header value, mid-text`, () => {
      const text = `{"a":"before ${encode(key)} after","b":"${encode(key)}"}`;
      const out = scrubBuffer(Buffer.from(text), forms);
      assert.equal(out.hits, 2, out.body.toString());
      assert.equal(out.body.toString(), '{"a":"before [REDACTED] after","b":"[REDACTED]"}');
      assert.deepEqual(findSecrets(out.body, [key]), []);
      const header = scrubString(`k=${encode(key)}; x`, forms);
      assert.equal(header.text, 'k=[REDACTED]; x');
    });
  }

  it('escapes mixed within one value (some characters escaped one way, some another, some not)', () => {
    let mixed = '';
    [...key].forEach((c, i) => {
      const ways = [c, `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`, `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`, `&#${c.charCodeAt(0)};`, `&#x${c.charCodeAt(0).toString(16)};`, `\\x${c.charCodeAt(0).toString(16)}`];
      mixed += ways[i % ways.length];
    });
    const out = scrubBuffer(Buffer.from(`[${mixed}]`), forms);
    assert.equal(out.body.toString(), '[[REDACTED]]');
  });

  it('leaves text alone that only looks similar: another key, a truncated key, escapes of other characters', () => {
    const other = awsStyle();
    const text = [TEXT_ENCODINGS['json-u-all']!(other), TEXT_ENCODINGS.pct!(key.slice(0, -1)), 'a &amp; b %2F \\/ &#x27;'].join(' | ');
    const out = scrubBuffer(Buffer.from(text), forms);
    assert.equal(out.hits, 0);
    assert.equal(out.body.toString(), text);
  });

  it('a key made of escape characters (%, \\, &) and a text that can be read two ways at every character: matched, in bounded work', () => {
    // Each character can be read as itself or as the start of an escape; without the memo of
    // failed states this is 2^64 paths (the test would never end).
    const nasty = '%'.repeat(32) + '&'.repeat(16) + '\\'.repeat(16);
    const f = secretForms(nasty);
    const text = '%25'.repeat(32) + '&amp;'.repeat(16) + '\\\\'.repeat(16);
    assert.equal(scrubBuffer(Buffer.from(text), f).body.toString(), '[REDACTED]');
    // 14 backslashes read plainly, 7 as escapes: one short either way.
    const near = '%25'.repeat(32) + '&amp;'.repeat(16) + '\\\\'.repeat(7) + 'x';
    assert.equal(scrubBuffer(Buffer.from(near.repeat(50)), f).hits, 0);
  });

  it('non-ASCII characters of a key, escaped as \\u surrogate pairs, as UTF-8 percent bytes, as references', () => {
    const k = `clé-😀-${secret()}`;
    const f = secretForms(k);
    for (const encode of Object.values(TEXT_ENCODINGS)) {
      const out = scrubBuffer(Buffer.from(`<${encode(k)}>`), f);
      assert.equal(out.body.toString(), '<[REDACTED]>', encode(k));
    }
  });
});

for (const adapter of ADAPTERS) {
  describe(`echo scrubber: escaped forms of a key through the proxy (${adapter})`, () => {
    const serverKey = awsStyle();
    const userKey = `byok/${userKeyStyle()}`;
    let upstream: UpstreamHandle;
    let bff: RunningApp;
    let page: PageClient;

    before(async () => {
      const adminToken = secret();
      upstream = await startUpstream({ serverKeys: [{ id: 'aws-style', key: serverKey }, { id: 'byok-style', key: userKey }], adminToken });
      const options = bffOptions({
        store: new MemoryStore(),
        upstreamUrl: upstream.url,
        serverKeys: [serverKey],
        issuer: new HttpKeyIssuer(upstream.url, adminToken),
        extraServices: { reflect: upstreamService(upstream.url, 'server', { responseHeaders: ['x-received-key'] }), 'reflect-byok': upstreamService(upstream.url, 'byok', { responseHeaders: ['x-received-key'] }) },
      });
      options.credentials!.server = new ServerKeyProvider({ keys: [serverKey] });
      bff = await startTestApp(adapter, options);
      page = new PageClient(bff.url);
      assert.equal((await page.post('/login', { user: `enc-${adapter}` })).status, 200);
      assert.equal((await page.put('/keys/byok', { key: userKey })).status, 204);
    });
    after(async () => {
      await bff?.close();
      await upstream?.close();
    });

    for (const [service, id, keyOf] of [['reflect', 'aws-style', () => serverKey], ['reflect-byok', 'byok-style', () => userKey]] as const) {
      it(`regression: a key with / + = ' " & < > reached the browser escaped as PHP, .NET, Python, percent-lower or HTML would write it (${service}); every form is scrubbed from the body and the allow-listed header`, async () => {
        const key = keyOf();
        for (const mode of MODES) {
          const r = await nodeRequest(bff.url, 'GET', `/api/proxy/${service}/echo?reflect=${mode}`, { cookie: page.cookieHeader, 'x-csrf': '1', origin: bff.url });
          assert.equal(r.status, 200, `${mode}: ${r.body}`);
          assert.equal(r.json.keyId, id, 'the upstream received exactly the key');
          assert.deepEqual(findSecrets(r.body, [key]), [], `reflect=${mode}: key in the body: ${r.body.slice(0, 300)}`);
          assert.deepEqual(findSecrets(r.rawHeaders, [key]), [], `reflect=${mode}: key in the headers`);
          // JSON.parse undoes a JSON escape: what the page's code reads is the mark, not the key.
          assert.equal(r.json.receivedKey, '[REDACTED]', `reflect=${mode}: the echo was not scrubbed`);
          assert.equal(r.headers['x-received-key'], '[REDACTED]', `reflect=${mode}: the header was not scrubbed`);
        }
        assert.deepEqual(findSecrets(bff.logger.text, [key]), [], 'the key is never logged');
      });
    }
  });
}
