import type { Clock } from '../../src/index.js';

/** A clock the test moves by hand, so expiry is tested without sleeping. */
export class FakeClock implements Clock {
  constructor(public t = Date.now()) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
