import assert from 'node:assert/strict';
import { KeywardConfigError } from '../../src/index.js';

/** The KeywardConfigError (a TypeError) that `fn` throws; fails the test if it throws none. */
export function configError(fn: () => unknown): KeywardConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KeywardConfigError, `expected KeywardConfigError, got ${String(e)}`);
    assert.ok(e instanceof TypeError, 'a configuration error is a TypeError');
    return e;
  }
  assert.fail('expected the options to be refused');
}

/** The one problem line about `path` (`path: ...` or `path ...`); fails unless there is exactly one. */
export function problemAt(err: KeywardConfigError, path: string): string {
  const found = err.problems.filter((p) => p.startsWith(`${path}:`) || p.startsWith(`${path} `));
  assert.equal(found.length, 1, `exactly one problem at ${path}; got:\n${err.problems.join('\n')}`);
  return found[0]!;
}
