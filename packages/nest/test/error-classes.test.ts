// Issue 16: one catalogue (keyward.errors.ts): every code has a row with its class and its
// status, and each family of codes is carried by its own class only.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as kw from '../src/index.js';
import { statusOf } from '../src/keyward.errors.js';

const { ERROR_CATALOGUE, KeywardErrorCode, ProxyErrorCode, VaultErrorCode } = kw;

describe('error catalogue: codes, classes, statuses (issue 16)', () => {
  it('every code of every family has a row; the row names an exported class (or a warning)', () => {
    for (const code of [...Object.values(KeywardErrorCode), ...Object.values(VaultErrorCode), ...Object.values(ProxyErrorCode)]) {
      const row = ERROR_CATALOGUE[code];
      assert.ok(row, `${code} has no row`);
      assert.ok(row.class === 'process warning' || typeof (kw as Record<string, unknown>)[row.class] === 'function', `${code}: ${row.class} is not exported`);
    }
  });

  it('the vault codes are VaultErrors, the proxy codes ProxyErrors, and no other class carries them', () => {
    for (const code of Object.values(VaultErrorCode)) assert.equal(ERROR_CATALOGUE[code]!.class, 'VaultError', code);
    for (const code of Object.values(ProxyErrorCode)) assert.equal(ERROR_CATALOGUE[code]!.class, 'ProxyError', code);
    const others = Object.entries(ERROR_CATALOGUE).filter(([c]) => !(Object.values(VaultErrorCode) as string[]).includes(c) && !(Object.values(ProxyErrorCode) as string[]).includes(c));
    assert.deepEqual(others.filter(([, r]) => r.class === 'VaultError' || r.class === 'ProxyError'), []);
  });

  it('a thrown error says what its row says', () => {
    const samples: kw.KeywardError[] = [
      new kw.SessionRequiredError(),
      new kw.SessionRequiredError(KeywardErrorCode.SessionExpired, 'expired'),
      new kw.OriginRefusedError(KeywardErrorCode.CsrfHeaderMissing, 'no header'),
      new kw.VaultError(VaultErrorCode.DecryptFailed, 'x'),
      new kw.ProxyError(ProxyErrorCode.Timeout, 'x'),
      new kw.BodyTooLargeError('x'),
      new kw.RedactionCapacityError(KeywardErrorCode.KeyLimit, 'x'),
      new kw.HostNotAllowedError(),
      new kw.HttpsRequiredError(),
      new kw.StoreUnavailableError(),
      new kw.StoreCorruptError('session'),
      new kw.InvalidArgumentError('x'),
    ];
    for (const e of samples) {
      assert.equal(e.name, ERROR_CATALOGUE[e.code]!.class, e.code);
      assert.equal(statusOf(e.code), ERROR_CATALOGUE[e.code]!.status, e.code);
    }
  });

  it('the catalogue is frozen: nothing can add a code or change a status at run time', () => {
    assert.ok(Object.isFrozen(ERROR_CATALOGUE) && Object.isFrozen(ERROR_CATALOGUE.KW_SESSION_REQUIRED));
    assert.throws(() => {
      (ERROR_CATALOGUE as Record<string, unknown>).KW_SESSION_REQUIRED = { class: 'X', status: 200 };
    }, TypeError);
    assert.equal(statusOf('KW_SESSION_REQUIRED'), 401);
  });
});
