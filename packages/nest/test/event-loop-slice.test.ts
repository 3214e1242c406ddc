import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventLoopSlice, IDLE_TURN_MS, OTHERS_PER_SLICE, SLICE_BUDGET_MS } from '../src/session/event-loop-slice.js';

/**
 * The sweep's share of a busy event loop, on a clock the test moves: the test's "requests"
 * (a chain of immediates) each take `requestMs` of that clock, the sweep's slice takes its
 * budget. No wall-clock figure is asserted.
 */
function busyLoop(clock: { t: number }, requestMs: number): { stop(): void; turns(): number } {
  let stopped = false;
  let turns = 0;
  const next = () => {
    if (stopped) return;
    turns++;
    clock.t += requestMs;
    setImmediate(next);
  };
  setImmediate(next);
  return { stop: () => void (stopped = true), turns: () => turns };
}

describe('EventLoopSlice: slices, and the rest of a busy loop gets its share', () => {
  it('within its budget a slice goes on without a turn; past it, it yields', async () => {
    const clock = { t: 0 };
    const slice = new EventLoopSlice(SLICE_BUDGET_MS, () => clock.t);
    let turned = false;
    setImmediate(() => (turned = true));
    clock.t += SLICE_BUDGET_MS - 1;
    await slice.pause();
    assert.equal(turned, false, 'no turn while the slice has time left');
    clock.t += 1;
    await slice.pause();
    assert.equal(turned, true, 'the loop turned once the budget was used');
  });

  it(`on a busy loop, after a slice the others get ${OTHERS_PER_SLICE}x its time before the next one`, async () => {
    const clock = { t: 0 };
    const slice = new EventLoopSlice(SLICE_BUDGET_MS, () => clock.t);
    const requests = busyLoop(clock, 2);
    for (let i = 0; i < 5; i++) {
      const sliceStart = clock.t;
      clock.t += SLICE_BUDGET_MS; // the sweep's own work
      const othersBefore = requests.turns();
      await slice.pause();
      const othersGot = clock.t - sliceStart - SLICE_BUDGET_MS;
      assert.ok(othersGot >= OTHERS_PER_SLICE * SLICE_BUDGET_MS, `slice ${i}: the others got ${othersGot} ms after a ${SLICE_BUDGET_MS} ms slice`);
      assert.ok(othersGot <= OTHERS_PER_SLICE * SLICE_BUDGET_MS + 2, 'and not much more: the sweep still progresses');
      assert.ok(requests.turns() - othersBefore >= (OTHERS_PER_SLICE * SLICE_BUDGET_MS) / 2);
    }
    requests.stop();
  });

  it('on an idle loop, one quick turn and the sweep goes on at full speed', async () => {
    const clock = { t: 0 };
    const slice = new EventLoopSlice(SLICE_BUDGET_MS, () => clock.t);
    const loop = busyLoop(clock, 0); // turns of the loop that cost nothing: nothing is waiting
    for (let i = 0; i < 5; i++) {
      clock.t += SLICE_BUDGET_MS;
      const before = loop.turns();
      await slice.pause();
      const turns = loop.turns() - before;
      assert.ok(turns <= 2, `slice ${i}: resumed after ${turns} turn(s) of an idle loop (a turn under ${IDLE_TURN_MS} ms)`);
    }
    loop.stop();
  });

  it('several callers past the budget share one wait', async () => {
    const clock = { t: 0 };
    const slice = new EventLoopSlice(SLICE_BUDGET_MS, () => clock.t);
    clock.t += SLICE_BUDGET_MS;
    const a = slice.pause();
    const b = slice.pause();
    assert.equal(a, b);
    await a;
  });
});
