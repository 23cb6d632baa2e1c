// The transaction machine (machines/transaction.ts) on a simulated clock: Kafka's valid previous states are the
// only writes it accepts, a prepared transaction has its markers written (also when loaded), an open
// transaction is aborted when its timeout passes (from its start, not from its last write, and across a load),
// and an idle finished id expires after transactional.id.expiration.ms, while a new transaction keeps it alive.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, SimulatedClock } from 'xstate';
import { transactionMachine } from '../../machines/transaction.ts';
import { TXN_STATES, type TxnMetadata, type TxnState } from '../../src/txn/txn-metadata.ts';

const T0 = 1_700_000_000_000;
const TIMEOUT = 60_000;
const EXPIRATION = 600_000;

const meta = (over: Partial<TxnMetadata> = {}): TxnMetadata => ({
  transactionalId: 'tx',
  producerId: 7,
  producerEpoch: 3,
  timeoutMs: TIMEOUT,
  state: 'Empty',
  partitions: {},
  startTimestamp: -1,
  updateTimestamp: T0,
  ...over,
});

function start(txn: TxnMetadata, now = T0) {
  const clock = new SimulatedClock();
  const effects: string[] = [];
  const machine = transactionMachine.provide({
    actions: {
      writeMarkers: (_, p) => void effects.push(`markers:${p.txn.state}`),
      abortTimedOut: (_, p) => void effects.push(`timeout:${p.txn.startTimestamp}`),
      expireId: (_, p) => void effects.push(`expire:${p.txn.updateTimestamp}`),
    },
  });
  const actor = createActor(machine, { input: { txn, now, idExpirationMs: EXPIRATION }, clock }).start();
  let wall = now;
  const advance = (ms: number) => {
    clock.increment(ms);
    wall += ms;
  };
  const write = (over: Partial<TxnMetadata>) => {
    const next = { ...actor.getSnapshot().context.txn, ...over, updateTimestamp: wall };
    const event = { type: 'WRITTEN' as const, txn: next, now: wall };
    const allowed = actor.getSnapshot().can(event);
    if (allowed) actor.send(event);
    return allowed;
  };
  return { actor, effects, advance, write, state: () => actor.getSnapshot().value as string, now: () => wall };
}

test("writes follow Kafka's valid previous states only", () => {
  const allowed: string[] = [];
  for (const from of TXN_STATES.filter((s) => s !== 'Dead')) {
    for (const to of TXN_STATES) {
      const m = start(meta({ state: from, startTimestamp: from === 'Ongoing' ? T0 : -1 }));
      if (m.write({ state: to })) {
        allowed.push(`${from}>${to}`);
        assert.is(m.state(), to);
      } else assert.is(m.state(), from, `${from}>${to} refused and nothing changed`);
      m.actor.stop();
    }
  }
  const expected: Record<Exclude<TxnState, 'Dead'>, TxnState[]> = {
    Empty: ['Empty', 'Ongoing', 'Dead'],
    Ongoing: ['Ongoing', 'PrepareCommit', 'PrepareAbort', 'PrepareEpochFence'],
    PrepareCommit: ['CompleteCommit'],
    PrepareAbort: ['CompleteAbort'],
    CompleteCommit: ['Empty', 'Ongoing', 'Dead'],
    CompleteAbort: ['Empty', 'Ongoing', 'Dead'],
    PrepareEpochFence: ['PrepareAbort'],
  };
  assert.equal(allowed.sort(), Object.entries(expected).flatMap(([from, tos]) => tos.map((to) => `${from}>${to}`)).sort());
});

test('a prepared transaction has its markers written, once, whether it was just written or loaded', () => {
  const m = start(meta({ state: 'Ongoing', startTimestamp: T0, partitions: { t: [0] } }));
  assert.ok(m.write({ state: 'PrepareCommit' }));
  assert.equal(m.effects, ['markers:PrepareCommit']);
  assert.ok(m.write({ state: 'CompleteCommit', partitions: {} }));
  assert.equal(m.effects, ['markers:PrepareCommit'], 'completion writes no more markers');
  const loaded = start(meta({ state: 'PrepareAbort', startTimestamp: T0 - 5000, partitions: { t: [1] } }));
  assert.is(loaded.state(), 'PrepareAbort');
  assert.equal(loaded.effects, ['markers:PrepareAbort'], 'a new coordinator finishes what the last one prepared');
});

test('an open transaction is aborted when its timeout passes, counted from its start', () => {
  const m = start(meta());
  m.advance(1000);
  assert.ok(m.write({ state: 'Ongoing', startTimestamp: m.now(), partitions: { t: [0] } }));
  m.advance(TIMEOUT / 2);
  assert.ok(m.write({ partitions: { t: [0, 1] } }), 'adding a partition');
  m.advance(TIMEOUT / 2 - 1);
  assert.equal(m.effects, [], 'not before the timeout');
  m.advance(1);
  assert.equal(m.effects, [`timeout:${T0 + 1000}`], 'adding partitions did not restart the timer');
  // A commit before the timeout cancels it.
  const c = start(meta({ state: 'Ongoing', startTimestamp: T0, partitions: { t: [0] } }));
  assert.ok(c.write({ state: 'PrepareCommit' }));
  c.advance(2 * TIMEOUT);
  assert.equal(c.effects, ['markers:PrepareCommit']);
});

test('a transaction loaded by a new coordinator keeps the deadline it had', () => {
  const m = start(meta({ state: 'Ongoing', startTimestamp: T0 - TIMEOUT + 2000, partitions: { t: [0] } }));
  m.advance(1999);
  assert.equal(m.effects, []);
  m.advance(1);
  assert.is(m.effects.length, 1);
  const overdue = start(meta({ state: 'Ongoing', startTimestamp: T0 - 2 * TIMEOUT, partitions: { t: [0] } }));
  overdue.advance(0);
  assert.is(overdue.effects.length, 1, 'one already past its deadline is aborted at once');
});

test('a finished id expires after transactional.id.expiration.ms of idleness; a new transaction keeps it', () => {
  const m = start(meta({ state: 'CompleteCommit' }));
  m.advance(EXPIRATION - 1);
  assert.ok(m.write({ state: 'Ongoing', startTimestamp: m.now(), partitions: { t: [0] } }), 'a new transaction');
  m.advance(EXPIRATION);
  assert.ok(!m.effects.some((e) => e.startsWith('expire')), 'an open transaction never expires its id');
  assert.ok(m.write({ state: 'PrepareAbort' }));
  assert.ok(m.write({ state: 'CompleteAbort', partitions: {}, startTimestamp: -1 }));
  const finishedAt = m.now();
  m.advance(EXPIRATION - 1);
  assert.ok(m.write({ state: 'Empty', producerEpoch: 4 }), 'InitProducerId from CompleteAbort');
  m.advance(EXPIRATION - 1);
  assert.ok(!m.effects.some((e) => e.startsWith('expire')), 'InitProducerId restarted the idle timer');
  m.advance(1);
  assert.ok(m.effects.includes(`expire:${finishedAt + EXPIRATION - 1}`), m.effects.join());
  assert.ok(m.write({ state: 'Dead' }));
  assert.is(m.actor.getSnapshot().status, 'done');
});

test.run();
