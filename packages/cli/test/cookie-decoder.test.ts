import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { decodeBase64Text, decodeCookieValue, decodeJwt, findWeakSigningSecret, signExpress, signKeygrip } from '../src/probe/cookie-decoder.js';
import { cookieLifetimeSeconds, isDeletion, parseSetCookie } from '../src/probe/set-cookie.js';

describe('parseSetCookie', () => {
  test('name, value and attributes', () => {
    const c = parseSetCookie('sid=abc; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=3600')!;
    assert.equal(c.name, 'sid');
    assert.equal(c.value, 'abc');
    assert.equal(c.attributes.get('httponly'), true);
    assert.equal(c.attributes.get('samesite'), 'Lax');
    assert.equal(cookieLifetimeSeconds(c), 3600);
  });
  test('hostile headers do not throw', () => {
    for (const h of ['', '=', '=v', ';;;', 'a', 'a=b\r\nSet-Cookie: x=y', 'x='.repeat(10_000), '\u0000=\u0000', 'n=v; Max-Age=NaN; Expires=not a date']) {
      const c = parseSetCookie(h);
      if (c) {
        assert.equal(typeof c.name, 'string');
        cookieLifetimeSeconds(c);
      }
    }
    assert.equal(parseSetCookie('=v'), undefined);
  });
  test('deletions', () => {
    assert.ok(isDeletion(parseSetCookie('sid=; Max-Age=0')!));
    assert.ok(isDeletion(parseSetCookie('sid=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT')!));
    assert.ok(!isDeletion(parseSetCookie('sid=x')!));
  });
});

describe('decodeCookieValue', () => {
  test('express signed s: with j: JSON', () => {
    const payload = 'j:' + JSON.stringify({ apiKey: 'k' });
    const value = encodeURIComponent(`s:${payload}.${signExpress(payload, 'keyboard cat')}`);
    const hows = decodeCookieValue(value).map((d) => d.how);
    assert.ok(hows.includes('express signed cookie (s:) payload'));
    assert.ok(decodeCookieValue(value).some((d) => d.text === JSON.stringify({ apiKey: 'k' })));
  });
  test('cookie-session base64 JSON', () => {
    const value = Buffer.from(JSON.stringify({ apiKey: 'abc' })).toString('base64');
    assert.ok(decodeCookieValue(value).some((d) => d.how === 'base64' && d.text.includes('apiKey')));
  });
  test('JWT payload', () => {
    const h = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');
    const p = Buffer.from('{"sub":"1","apiKey":"x"}').toString('base64url');
    const jwt = `${h}.${p}.${createHmac('sha256', 'secret').update(`${h}.${p}`).digest('base64url')}`;
    assert.equal(decodeJwt(jwt)?.payload, '{"sub":"1","apiKey":"x"}');
    assert.equal(findWeakSigningSecret('t', jwt, undefined, ['nope', 'secret'])?.scheme, 'JWT');
  });
  test('hostile values', () => {
    for (const v of ['', '%', '%E0%A4%A', 's:', 's:.', 'j:{', 'eyJ.eyJ.', '\u0000'.repeat(100), 'A'.repeat(100_000)]) {
      assert.doesNotThrow(() => decodeCookieValue(v));
      assert.doesNotThrow(() => findWeakSigningSecret('n', v, 'sig', ['secret']));
    }
    assert.equal(decodeBase64Text('////////'), undefined);
  });
});

describe('findWeakSigningSecret', () => {
  test('express s: signature from a weak secret', () => {
    const value = `s:abc123.${signExpress('abc123', 'keyboard cat')}`;
    assert.deepEqual(findWeakSigningSecret('connect.sid', value, undefined, ['secret', 'keyboard cat']), { scheme: 'express s:', secret: 'keyboard cat' });
  });
  test('cookie-session keygrip .sig from a weak secret', () => {
    const value = Buffer.from('{"apiKey":"x"}').toString('base64');
    const sig = signKeygrip(`session=${value}`, 'change-this-to-a-secure-random-value');
    assert.equal(findWeakSigningSecret('session', value, sig, ['change-this-to-a-secure-random-value'])?.scheme, 'cookie-session keygrip');
  });
  test('tampered or truncated signatures and strong secrets do not match', () => {
    const sig = signExpress('abc123', 'keyboard cat');
    assert.equal(findWeakSigningSecret('sid', `s:abc124.${sig}`, undefined, ['keyboard cat']), undefined);
    assert.equal(findWeakSigningSecret('sid', `s:abc123.${sig.slice(0, -2)}`, undefined, ['keyboard cat']), undefined);
    const strong = `s:abc123.${signExpress('abc123', 'q8ZtR2vLx9PmW4kJ7nB3cF6hD1sG5aYe')}`;
    assert.equal(findWeakSigningSecret('sid', strong, undefined, ['keyboard cat', 'secret']), undefined);
  });
});
