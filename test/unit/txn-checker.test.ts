// The transaction checker (src/testing/txn-checker.ts) on hand-built histories: a clean one passes, and each
// broken promise — a committed record lost, an aborted one visible, an unknown-outcome transaction half visible,
// records out of order or twice, a group offset that moved without its transaction (or did not move with it) —
// is reported, and only it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ReadRecord } from '../../src/testing/checker.ts';
import { checkTxnHistory, type AttemptedTxn, type TxnHistoryInput, type TxnOutcome } from '../../src/testing/index.ts';

const T = 'out';
const IN = 'in';
/** A transaction `name` with records `${name}-${partition}-${i}`, `count` per partition, and group offset `offset` of in-0. */
function txn(name: string, outcome: TxnOutcome, partitions: number[], offset: number, count = 2): AttemptedTxn {
  return {
    name,
    outcome,
    records: partitions.flatMap((partition) => Array.from({ length: count }, (_, i) => ({ id: `${name}-${partition}-${i}`, topic: T, partition }))),
    offsets: [{ topic: IN, partition: 0, offset }],
  };
}
const read = (partition: number, offset: number, value: string): ReadRecord => ({ topic: T, partition, offset, value });

/**
 * t0 committed on 0,1; t1 aborted on 0,1 (its records took offsets and a marker: read_committed skips them);
 * t2 unknown, turned out committed; t3 unknown, turned out aborted. The group's offset is t2's.
 */
function clean(): TxnHistoryInput {
  return {
    transactions: [txn('t0', 'committed', [0, 1], 1), txn('t1', 'aborted', [0, 1], 2), txn('t2', 'unknown', [0, 1], 3), txn('t3', 'unknown', [1], 4)],
    read: [
      read(0, 0, 't0-0-0'),
      read(0, 1, 't0-0-1'),
      read(0, 6, 't2-0-0'),
      read(0, 7, 't2-0-1'),
      read(1, 0, 't0-1-0'),
      read(1, 1, 't0-1-1'),
      read(1, 6, 't2-1-0'),
      read(1, 7, 't2-1-1'),
    ],
    groupOffsets: [{ topic: IN, partition: 0, offset: 3 }],
  };
}

const kinds = (input: TxnHistoryInput) => checkTxnHistory(input).violations.map((v) => v.kind);

test('a clean history passes, and unknown outcomes are resolved by what is visible', () => {
  const report = checkTxnHistory(clean());
  assert.ok(report.ok, JSON.stringify(report.violations));
  assert.equal(report.stats, { transactions: 4, committed: 1, aborted: 1, unknown: 2, unknownCommitted: 1, unknownAborted: 1, read: 8 });
});

test('a record of an acknowledged-committed transaction missing is lost', () => {
  const h = clean();
  h.read = h.read.filter((r) => r.value !== 't0-1-1');
  const report = checkTxnHistory(h);
  assert.equal(report.violations.map((v) => [v.kind, v.id, v.txn]), [['lost', 't0-1-1', 't0']]);
});

test('a record of an aborted transaction visible', () => {
  const h = clean();
  h.read.push(read(1, 3, 't1-1-1'));
  const report = checkTxnHistory(h);
  assert.equal(report.violations.map((v) => [v.kind, v.id, v.offset]), [['aborted-visible', 't1-1-1', 3]]);
});

test('an unknown-outcome transaction partly visible breaks all-or-nothing', () => {
  const h = clean();
  h.read = h.read.filter((r) => r.value !== 't2-1-0' && r.value !== 't2-1-1');
  const report = checkTxnHistory(h);
  assert.equal(kinds(h), ['partial']);
  assert.match(report.violations[0]!.message, /t2 \(outcome unknown\) is partly visible: t2-0-0@out-0, t2-0-1@out-0 visible but t2-1-0@out-1, t2-1-1@out-1 not/);
});

test('records of one partition out of production order', () => {
  const h = clean();
  // t2's records on partition 0 sit before t0's.
  h.read = h.read.map((r) => (r.partition !== 0 ? r : { ...r, offset: r.value.startsWith('t2') ? r.offset - 6 : r.offset + 6 }));
  const report = checkTxnHistory(h);
  assert.equal(kinds(h), ['order', 'order']);
  assert.match(report.violations[0]!.message, /t0-0-0 \(t0\) was produced before t2-0-1/);
});

test('a record visible twice is a duplicate', () => {
  const h = clean();
  h.read.push(read(0, 8, 't2-0-1'));
  assert.equal(kinds(h), ['duplicate']);
});

test('a visible record nobody sent is unexpected', () => {
  const h = clean();
  h.read.push(read(0, 9, 'stray'));
  assert.equal(kinds(h), ['unexpected']);
});

test("the group's offset is one an aborted transaction sent: offsets moved without their transaction", () => {
  const h = clean();
  h.groupOffsets = [{ topic: IN, partition: 0, offset: 2 }];
  const report = checkTxnHistory(h);
  assert.equal(report.violations.map((v) => [v.kind, v.txn]), [['offset-uncommitted', 't1']]);
});

test("the group's offset is one an unknown transaction that did not commit sent", () => {
  const h = clean();
  h.groupOffsets = [{ topic: IN, partition: 0, offset: 4 }];
  assert.equal(kinds(h), ['offset-uncommitted']);
});

test("the group's offset stayed behind the last committed transaction's: it did not move with it", () => {
  const h = clean();
  h.groupOffsets = [{ topic: IN, partition: 0, offset: 1 }];
  const report = checkTxnHistory(h);
  assert.equal(report.violations.map((v) => [v.kind, v.txn]), [['offset-lost', 't2']]);
});

test('no committed transaction: the group has no offset (-1)', () => {
  const h: TxnHistoryInput = { transactions: [txn('a', 'aborted', [0], 5)], read: [], groupOffsets: [{ topic: IN, partition: 0, offset: -1 }] };
  assert.ok(checkTxnHistory(h).ok);
  h.groupOffsets = [{ topic: IN, partition: 0, offset: 5 }];
  assert.equal(kinds(h), ['offset-uncommitted']);
});

test('an id sent twice in the history is bad input', () => {
  const h = clean();
  h.transactions.push({ name: 't9', outcome: 'aborted', records: [{ id: 't0-0-0', topic: T, partition: 0 }] });
  assert.equal(kinds(h), ['bad-input']);
});

test.run();
