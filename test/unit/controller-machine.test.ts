// The controller lease machine on a simulated clock: immediate creation of an empty lease, takeover only
// after a full TTL without a change, renewal every TTL/4, stepping down at 0.75·TTL without a renewal or
// at once when the lease is taken, resignation, and a back-off after a lost race. Lease writes are test
// doubles that the test resolves or rejects.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { controllerMachine } from '../../machines/controller.ts';
import { LeaseLostError } from '../../src/metadata/errors.ts';

const TTL = 1000;

interface Pending<T> {
  input: unknown;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

function harness(observedRevision: number, observedHolder: number | null) {
  const clock = new SimulatedClock();
  const calls: string[] = [];
  const acquires: Pending<{ revision: number }>[] = [];
  const renewals: Pending<{ revision: number }>[] = [];
  const resigns: unknown[] = [];
  const pending = <T>(list: Pending<T>[], input: unknown) => new Promise<T>((resolve, reject) => list.push({ input, resolve, reject }));
  const machine = controllerMachine.provide({
    actors: {
      acquireLease: fromPromise(({ input }) => pending(acquires, input)),
      renewLease: fromPromise(({ input }) => pending(renewals, input)),
      resignLease: fromPromise(async ({ input }) => void resigns.push(input)),
    },
    actions: {
      startActing: (_, { epoch }) => void calls.push(`start@${epoch}@${clock.now()}`),
      stopActing: () => void calls.push(`stop@${clock.now()}`),
    },
  });
  const actor = createActor(machine, { clock, input: { brokerId: 1, leaseTtlMs: TTL, observedRevision, observedHolder } }).start();
  const state = () => JSON.stringify(actor.getSnapshot().value);
  return { clock, actor, calls, acquires, renewals, resigns, state };
}

/** Lets promise callbacks (invoked actors settling) run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

test('an empty lease is created at once; the takeover revision is the epoch', async () => {
  const h = harness(0, null);
  assert.is(h.state(), '"acquiring"');
  assert.equal(h.acquires[0]!.input, { expectedRevision: null });
  h.acquires[0]!.resolve({ revision: 42 });
  await settle();
  assert.ok(h.actor.getSnapshot().matches('active'));
  assert.equal(h.calls, ['start@42@0']);
  assert.is(h.actor.getSnapshot().context.epoch, 42);
});

test('a held lease is taken over only after a full TTL without a change, by CAS on the last seen revision', async () => {
  const h = harness(7, 2);
  assert.equal(h.state(), '{"standby":"watching"}');
  h.clock.increment(TTL - 1);
  assert.is(h.acquires.length, 0);
  // The holder renews: the wait starts again.
  h.actor.send({ type: 'LEASE_OBSERVED', revision: 9, holder: 2 });
  h.clock.increment(TTL - 1);
  assert.is(h.acquires.length, 0);
  // A repeated (not newer) observation does not restart the wait.
  h.actor.send({ type: 'LEASE_OBSERVED', revision: 9, holder: 2 });
  h.clock.increment(1);
  assert.is(h.acquires.length, 1);
  assert.equal(h.acquires[0]!.input, { expectedRevision: 9 });
  h.acquires[0]!.resolve({ revision: 12 });
  await settle();
  assert.equal(h.calls, [`start@12@${2 * TTL - 1}`]);
});

test('a deleted lease (a resignation) is taken at once', () => {
  const h = harness(7, 2);
  h.actor.send({ type: 'LEASE_OBSERVED', revision: 8, holder: null });
  assert.is(h.state(), '"acquiring"');
  assert.equal(h.acquires[0]!.input, { expectedRevision: null });
});

test('the holder renews every TTL/4 with its last revision and stays active while renewals succeed', async () => {
  const h = harness(0, null);
  h.acquires[0]!.resolve({ revision: 5 });
  await settle();
  let rev = 5;
  for (let i = 0; i < 8; i++) {
    h.clock.increment(TTL / 4);
    assert.is(h.renewals.length, i + 1);
    assert.equal(h.renewals[i]!.input, { revision: rev, epoch: 5 });
    rev += 3;
    h.renewals[i]!.resolve({ revision: rev });
    await settle();
    assert.ok(h.actor.getSnapshot().matches('active'));
  }
  assert.equal(h.calls, ['start@5@0'], 'never stopped acting');
});

test('a holder whose renewals do not complete stops acting at 0.75·TTL, before a standby may take over', async () => {
  const h = harness(0, null);
  h.acquires[0]!.resolve({ revision: 5 });
  await settle();
  h.clock.increment(TTL / 4); // renewal sent, never answered
  assert.is(h.renewals.length, 1);
  h.clock.increment(TTL / 2 - 1);
  assert.ok(h.actor.getSnapshot().matches('active'));
  h.clock.increment(1);
  assert.ok(h.actor.getSnapshot().matches('standby'));
  assert.equal(h.calls, ['start@5@0', `stop@${TTL * 0.75}`]);
  // A late answer to the abandoned renewal changes nothing.
  h.renewals[0]!.resolve({ revision: 6 });
  await settle();
  assert.ok(h.actor.getSnapshot().matches('standby'));
});

test('a failed renewal (not a lost lease) is retried on the next interval; the hold limit still counts from the last success', async () => {
  const h = harness(0, null);
  h.acquires[0]!.resolve({ revision: 5 });
  await settle();
  h.clock.increment(TTL / 4);
  h.renewals[0]!.reject(new Error('timeout'));
  await settle();
  assert.ok(h.actor.getSnapshot().matches('active'));
  h.clock.increment(TTL / 4);
  assert.is(h.renewals.length, 2);
  assert.equal(h.renewals[1]!.input, { revision: 5, epoch: 5 });
  h.clock.increment(TTL / 4);
  assert.ok(h.actor.getSnapshot().matches('standby'), 'stopped at 0.75·TTL after the takeover');
});

test('a renewal that loses its compare-and-set steps down at once', async () => {
  const h = harness(0, null);
  h.acquires[0]!.resolve({ revision: 5 });
  await settle();
  h.clock.increment(TTL / 4);
  h.renewals[0]!.reject(new LeaseLostError(5));
  await settle();
  assert.ok(h.actor.getSnapshot().matches({ standby: 'watching' }));
  assert.equal(h.calls, ['start@5@0', `stop@${TTL / 4}`]);
});

test('seeing another broker take the lease steps down at once; our own renewals do not', async () => {
  const h = harness(0, null);
  h.acquires[0]!.resolve({ revision: 5 });
  await settle();
  h.actor.send({ type: 'LEASE_OBSERVED', revision: 5, holder: 1 });
  h.actor.send({ type: 'LEASE_OBSERVED', revision: 4, holder: 3 }); // older than our takeover: stale
  assert.ok(h.actor.getSnapshot().matches('active'));
  h.actor.send({ type: 'LEASE_OBSERVED', revision: 9, holder: 3 });
  assert.ok(h.actor.getSnapshot().matches({ standby: 'watching' }));
  assert.equal(h.calls, ['start@5@0', 'stop@0']);
});

test('resigning stops acting first, then deletes the lease at the held revision', async () => {
  const h = harness(0, null);
  h.acquires[0]!.resolve({ revision: 5 });
  await settle();
  h.clock.increment(TTL / 4);
  h.renewals[0]!.resolve({ revision: 8 });
  await settle();
  h.actor.send({ type: 'RESIGN' });
  await settle();
  assert.is(h.actor.getSnapshot().status, 'done');
  assert.equal(h.resigns, [{ revision: 8 }]);
  assert.equal(h.calls, ['start@5@0', `stop@${TTL / 4}`]);
});

test('a lost race backs off for TTL/4, then waits out the winner', async () => {
  const h = harness(0, null);
  h.acquires[0]!.reject(new LeaseLostError(null));
  await settle();
  assert.ok(h.actor.getSnapshot().matches({ standby: 'backoff' }));
  h.actor.send({ type: 'LEASE_OBSERVED', revision: 3, holder: 2 });
  assert.ok(h.actor.getSnapshot().matches({ standby: 'watching' }));
  h.clock.increment(TTL - 1);
  assert.is(h.acquires.length, 1);
  h.clock.increment(1);
  assert.equal(h.acquires[1]!.input, { expectedRevision: 3 });
});

test('a failure to create an empty lease retries after the back-off, not in a tight loop', async () => {
  const h = harness(0, null);
  h.acquires[0]!.reject(new Error('no responders'));
  await settle();
  assert.is(h.acquires.length, 1);
  h.clock.increment(TTL / 4 - 1);
  assert.is(h.acquires.length, 1);
  h.clock.increment(1);
  assert.is(h.acquires.length, 2);
});

test.run();
