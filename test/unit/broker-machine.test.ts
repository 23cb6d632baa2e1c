// The broker machine's running regions: with flush=interval a flush pass runs every flushIntervalMs, one at a
// time (a slow pass delays the next rather than overlapping it); with another flush policy none runs; a
// retention pass runs every retentionCheckIntervalMs; both end with the running state. Effects are test
// doubles and time is XState's SimulatedClock.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { brokerMachine } from '../../machines/broker.ts';

function start(flushIntervalMs: number | null, flushPass: () => Promise<void> = async () => {}) {
  const counts = { flush: 0, retention: 0 };
  const clock = new SimulatedClock();
  const machine = brokerMachine.provide({
    actors: {
      flushPass: fromPromise(async () => {
        counts.flush++;
        await flushPass();
      }),
      retentionPass: fromPromise(async () => {
        counts.retention++;
      }),
    },
  });
  const actor = createActor(machine, { clock, input: { brokerId: 1, incarnation: 'i', flushIntervalMs, retentionCheckIntervalMs: 300 } }).start();
  return { actor, clock, counts };
}

/** Lets promise callbacks run (the invoked passes and their onDone). */
const settle = () => new Promise<void>((r) => setImmediate(r));

async function advance(clock: SimulatedClock, ms: number, stepMs = 10): Promise<void> {
  for (let t = 0; t < ms; t += stepMs) {
    clock.increment(stepMs);
    await settle();
  }
}

test('flush and retention passes run on their intervals while running, and stop with it', async () => {
  const { actor, clock, counts } = start(100);
  await settle();
  await settle();
  assert.ok(actor.getSnapshot().matches({ running: { flush: 'waiting', retention: 'waiting' } }), JSON.stringify(actor.getSnapshot().value));
  await advance(clock, 1_000);
  assert.ok(counts.flush >= 9 && counts.flush <= 10, `flush passes in 1 s: ${counts.flush}`);
  assert.is(counts.retention, 3);
  actor.send({ type: 'SHUTDOWN' });
  await settle();
  const seen = { ...counts };
  await advance(clock, 1_000);
  assert.equal(counts, seen, 'no pass after the shutdown began');
});

test('a slow flush pass delays the next one instead of overlapping it', async () => {
  let inFlight = 0;
  let overlapped = false;
  let release: (() => void) | null = null;
  const { clock, counts } = start(100, async () => {
    if (++inFlight > 1) overlapped = true;
    await new Promise<void>((r) => (release = r));
    inFlight--;
  });
  await settle();
  await advance(clock, 1_000);
  assert.is(counts.flush, 1, 'one pass started and is still running');
  release!();
  await settle();
  await advance(clock, 110);
  assert.is(counts.flush, 2, 'the next pass starts an interval after the slow one ended');
  assert.is(overlapped, false);
});

test('no flush pass when appends flush themselves (flush=always) or the OS does (never)', async () => {
  const { actor, clock, counts } = start(null);
  await settle();
  await advance(clock, 1_000);
  assert.ok(actor.getSnapshot().matches({ running: { flush: 'off' } }));
  assert.is(counts.flush, 0);
  assert.is(counts.retention, 3);
});

test.run();
