/**
 * The request mix of the canary harness: what each visitor does in a round (sessions, the
 * reflecting upstream, users' own keys, refusals, bad input, hostile cookies), the store
 * outage (Redis combinations) and the closing phase (every user logged in with a stored key,
 * then logged out everywhere). Statuses a concurrent visitor may cause are allowed as
 * alternatives.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisServerHandle } from './canary-rig.js';
import type { UserKeys } from './canary-secrets.js';
import { Visitor, type Traffic } from './canary-traffic.js';

/** Variations of a valid cookie that must all be refused. */
function hostileCookies(cookie: string): Array<[string, string]> {
  const eq = cookie.indexOf('=');
  const name = cookie.slice(0, eq);
  const value = cookie.slice(eq + 1);
  const flip = (s: string, at: number) => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);
  return [
    ['cookie-tampered-signature', `${name}=${flip(value, value.length - 2)}`],
    ['cookie-tampered-id', `${name}=${flip(value, 5)}`],
    ['cookie-truncated', `${name}=${value.slice(0, -7)}`],
    ['cookie-duplicated', `${name}=${value}; ${name}=${value}`],
    ['cookie-oversized', `${name}=${value}${'x'.repeat(6000)}`],
    ['cookie-unsigned', `${name}=${value.slice(0, 43)}`],
    ['cookie-json', `${name}=j:${encodeURIComponent(JSON.stringify({ id: value }))}`],
  ];
}

/** One visitor's rounds of the request mix. Statuses a concurrent visitor may cause are allowed as alternatives. */
export async function visit(v: Visitor, w: number, rounds: number, keys: UserKeys): Promise<void> {
  const { byokKey, canaryKey } = keys;
  const P = '/api/proxy';
  await v.login();
  for (let r = 0; r < rounds; r++) {
    await v.send('session', 'GET', '/api/auth/session', { expect: [200] });
    await v.send('sessions', 'GET', '/api/auth/sessions', { expect: [200] });
    // The reflecting upstream: the key comes back raw, base64 and URL-encoded, in the body and a header.
    for (const reflect of ['1', 'b64', 'url']) {
      await v.send(`demo-reflect-${reflect}`, 'GET', `${P}/demo/echo?reflect=${reflect}&r=${r}`, { expect: [200] });
      await v.send(`session-reflect-${reflect}`, 'GET', `${P}/demo-session/echo?reflect=${reflect}`, { expect: [200] });
    }
    await v.send('demo-post-reflect', 'POST', `${P}/demo/echo?reflect=1`, { json: { hello: 'world', n: r, unicode: 'ünïcødé ✓', ctl: 'a\r\nb' }, expect: [200] });
    await v.send('session-put-reflect', 'PUT', `${P}/demo-session/echo?reflect=url`, { raw: 'plain body', contentType: 'text/plain', expect: [200] });
    // Bring your own key: PUT (write-only), list masked, use it through the proxy. Keys are per user,
    // and several visitors share a user, so a neighbour may have just replaced or deleted it.
    await v.send('byok-put', 'PUT', '/api/keys/demo-byok', { json: { key: byokKey(w, r) }, expect: [204] });
    await v.send('byok-list', 'GET', '/api/keys', { expect: [200] });
    for (const reflect of ['1', 'b64', 'url']) {
      await v.send(`byok-reflect-${reflect}`, 'GET', `${P}/demo-byok/echo?reflect=${reflect}`, { expect: [200, 409] });
    }
    // Upstream behaviours the proxy must contain.
    await v.send('upstream-set-cookie', 'GET', `${P}/demo/set-cookie`, { expect: [200] });
    await v.send('upstream-redirect', 'GET', `${P}/demo-session/redirect`, { expect: [502] });
    await v.send('upstream-500', 'GET', `${P}/demo/status/500`, { expect: [502] });
    await v.send('upstream-401', 'GET', `${P}/demo-byok/status/401`, { expect: [502, 409] });
    await v.send('upstream-404', 'GET', `${P}/demo-session/status/404`, { expect: [404] });
    await v.send('upstream-big', 'GET', `${P}/demo/big?bytes=${2048 * (1 + ((w + r) % 8))}`, { expect: [200] });
    await v.send('upstream-slow', 'GET', `${P}/demo-session/slow?ms=${5 + (w % 10)}`, { expect: [200] });
    await v.send('upstream-hop', 'GET', `${P}/demo/hop`, { expect: [200] });
    // Refusals: no CSRF header, foreign origin, no origin, no session, bad paths, unknown service.
    await v.send('proxy-no-csrf', 'GET', `${P}/demo/echo?reflect=1`, { csrf: false, expect: [403] });
    await v.send('proxy-foreign-origin', 'POST', `${P}/demo/echo?reflect=1`, { origin: 'http://evil.example', json: {}, expect: [403] });
    await v.send('logout-no-csrf', 'POST', '/api/auth/logout', { csrf: false, expect: [403] });
    await v.send('byok-put-no-origin', 'PUT', '/api/keys/demo-byok', { origin: null, json: { key: canaryKey(`no-origin-${w}-${r}`) }, expect: [403] });
    await v.send('proxy-no-session', 'GET', `${P}/demo/echo?reflect=1`, { cookie: null, expect: [401] });
    await v.send('session-no-session', 'GET', '/api/auth/session', { cookie: null, expect: [401] });
    await v.send('proxy-escape-encoded', 'GET', `${P}/demo/..%2f..%2finternal/marker`, { expect: [400] });
    await v.send('proxy-escape-dots', 'GET', `${P}/demo/%2e%2e/%2e%2e/internal/marker`, { expect: [400] });
    await v.send('proxy-escape-backslash', 'GET', `${P}/demo/..%5c..%5cinternal%5cmarker`, { expect: [400] });
    await v.send('proxy-crlf', 'GET', `${P}/demo/echo%0d%0aX-Injected:%201?reflect=1`, { expect: [400] });
    await v.send('proxy-nul', 'GET', `${P}/demo/echo%00?reflect=1`, { expect: [400] });
    await v.send('proxy-unknown-service', 'GET', `${P}/nope/echo`, { expect: [404] });
    await v.send('proxy-no-path', 'GET', `${P}/demo`, { expect: [400] });
    // Bad input: malformed JSON (one carrying a key), wrong types, unknown key service, control characters.
    const badJsonKey = canaryKey(`bad-json-${w}-${r}`);
    await v.send('login-bad-json', 'POST', '/api/auth/login', { raw: '{"username":"alice","password":', cookie: null, expect: [400] });
    await v.send('byok-bad-json', 'PUT', '/api/keys/demo-byok', { raw: `{"key":"${badJsonKey}"`, expect: [400] });
    await v.send('byok-not-json-key', 'PUT', '/api/keys/demo-byok', { raw: badJsonKey, expect: [400] });
    await v.send('byok-wrong-type', 'PUT', '/api/keys/demo-byok', { json: { key: { nested: badJsonKey } }, expect: [400] });
    await v.send('byok-control-chars', 'PUT', '/api/keys/demo-byok', { json: { key: `${badJsonKey}\r\nx` }, expect: [400] });
    await v.send('byok-padded', 'PUT', '/api/keys/demo-byok', { json: { key: ` ${badJsonKey} ` }, expect: [400] });
    await v.send('byok-unknown-service', 'PUT', '/api/keys/demo', { json: { key: badJsonKey }, expect: [404] });
    await v.send('login-wrong-types', 'POST', '/api/auth/login', { json: { username: { $ne: 1 }, password: 1 }, cookie: null, expect: [400] });
    await v.send('login-proto', 'POST', '/api/auth/login', { raw: '{"__proto__":{"admin":true},"constructor":{"prototype":{}}}', cookie: null, expect: [400] });
    // Hostile cookies.
    for (const [name, cookie] of hostileCookies(v.cookie!)) {
      await v.send(name, 'GET', '/api/auth/session', { cookie, expect: [401] });
    }
    await v.send('cookie-quoted', 'GET', '/api/auth/session', { cookie: v.cookie!.replace('=', '="') + '"', expect: [200] });
    // Delete the user key (a neighbour may have deleted it first).
    await v.send('byok-delete', 'DELETE', '/api/keys/demo-byok', { expect: [204, 404] });
    await v.send('byok-missing', 'GET', `${P}/demo-byok/echo`, { expect: [200, 409] });

    // Less frequent paths, spread over the visitors.
    if (r === 0 && w % 4 === 1) {
      await v.send('login-wrong-password', 'POST', '/api/auth/login', { json: { username: v.user.name, password: `${v.user.password}-wrong` }, cookie: null, expect: [401] });
      await v.send('login-unknown-user', 'POST', '/api/auth/login', { json: { username: `nobody-${w}\r\nforged log line`, password: 'x' }, cookie: null, expect: [401] });
    }
    if (r === 0 && w % 2 === 0) {
      // Logout, then the old cookie must never work again.
      const old = v.cookie!;
      await v.send('logout', 'POST', '/api/auth/logout', { expect: [204] });
      await v.send('replay-after-logout', 'GET', `${P}/demo-session/echo?reflect=1`, { cookie: old, expect: [401] });
      await v.login('login-again');
    }
    if (r === 1 && w % 4 === 0) {
      // A second session, revoked from the first one.
      const other = new Visitor(v.traffic, v.user);
      await other.login('login-second');
      const me = await other.send('sessions-second', 'GET', '/api/auth/sessions', { expect: [200] });
      const id = (me.json as Array<{ id: string; current: boolean }> | undefined)?.find((s) => s.current)?.id ?? 'unknown';
      await other.send('second-session-minted', 'GET', `${P}/demo-session/echo?reflect=b64`, { expect: [200] });
      await v.send('revoke-session', 'DELETE', `/api/auth/sessions/${encodeURIComponent(id)}`, { expect: [204] });
      await other.send('replay-after-revoke', 'GET', '/api/auth/session', { expect: [401] });
      await v.send('revoke-unknown-session', 'DELETE', '/api/auth/sessions/not-a-real-handle', { expect: [404] });
    }
    if (r === 1 && w < 2) {
      // Oversized bodies (one carrying a user key) and an upstream answer over the size limit.
      const big = `{"key":"${canaryKey(`oversized-${w}`)}","pad":"${'p'.repeat(1_100_000)}"}`;
      await v.send('byok-oversized', 'PUT', '/api/keys/demo-byok', { raw: big, expect: [413, 0] });
      await v.send('proxy-oversized', 'POST', `${P}/demo/echo?reflect=1`, { raw: big, expect: [413, 0] });
      await v.send('upstream-too-big', 'GET', `${P}/demo/big?bytes=11000000`, { expect: [502] });
    }
  }
}

/**
 * A store outage: Redis is killed, requests must fail closed (503) and the failure paths must
 * not leak either; then it starts again (empty: the outage lost its data) and the phase waits
 * until a known cookie reads as unknown, not 503.
 */
export async function storeOutage(redis: RedisServerHandle, visitors: Visitor[], keys: UserKeys): Promise<void> {
  await redis.stop();
  await Promise.all(visitors.slice(0, 6).map(async (v, w) => {
    await v.send('outage-session', 'GET', '/api/auth/session', { expect: [503] });
    await v.send('outage-proxy', 'GET', '/api/proxy/demo-session/echo?reflect=1', { expect: [503] });
    await v.send('outage-byok-put', 'PUT', '/api/keys/demo-byok', { json: { key: keys.byokKey(2000 + w, 0) }, expect: [503] });
    await v.send('outage-logout', 'POST', '/api/auth/logout', { expect: [503] });
  }));
  await redis.start();
  const probe = visitors[0]!;
  for (let i = 0; i < 100; i++) {
    if ((await probe.send('outage-recovery', 'GET', '/api/auth/session', { expect: [503, 401] })).status === 401) break;
    await sleep(100);
  }
}

/**
 * Every user logs in, stores a key and has a key minted for the session; `snapshot` then
 * reads the store like that. Then every user logs out everywhere, and every visitor's cookie
 * is replayed (it must be refused).
 */
export async function liveThenLogoutAll(traffic: Traffic, users: Array<{ name: string; password: string }>, visitors: Visitor[], keys: UserKeys, snapshot: () => Promise<void>): Promise<void> {
  const closers: Visitor[] = [];
  for (const [i, user] of users.entries()) {
    const v = new Visitor(traffic, user);
    closers.push(v);
    await v.login('login-for-logout-all');
    await v.send('byok-put', 'PUT', '/api/keys/demo-byok', { json: { key: keys.byokKey(1000 + i, 0) }, expect: [204] });
    await v.send('session-reflect-1', 'GET', '/api/proxy/demo-session/echo?reflect=1', { expect: [200] });
  }
  await snapshot();
  // Log out everywhere, one user at a time, then replay every visitor's cookie.
  for (const v of closers) await v.send('logout-all', 'POST', '/api/auth/logout-all', { expect: [204] });
  await Promise.all(visitors.map((v) => v.send('replay-after-logout-all', 'GET', '/api/proxy/demo-session/echo?reflect=1', { expect: [401] })));
}
