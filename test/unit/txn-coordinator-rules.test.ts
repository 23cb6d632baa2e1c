// The transaction coordinator's rules (src/txn/txn-metadata.ts), pure: Kafka's answers for InitProducerId,
// AddPartitionsToTxn, EndTxn, KIP-890 verification and timeouts in every state (the transitions Kafka allows: transaction-machine.test.ts),
// the __transaction_state record format round trip, and the partition side's KIP-890 guard and coordinator writes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { completed, decideAdd, decideEnd, decideInit, MAX_PRODUCER_EPOCH, mayExpire, timedOut, verifyPartition, type TxnMetadata, type TxnState } from '../../src/txn/txn-metadata.ts';
import { decodeTxn, decodeTxnKey, encodeTxn, txnKey } from '../../src/txn/txn-log-format.ts';
import { partitionForTransactionalId } from '../../src/txn/txn-topic.ts';
import { ProducerStateTable } from '../../src/producer-state/producer-state.ts';
import { TRANSACTIONAL_FLAG } from '../../src/protocol/record-batch-layout.ts';

const NOW = 1_700_000_000_000;
const base = (over: Partial<TxnMetadata> = {}): TxnMetadata => ({
  transactionalId: 'tx',
  producerId: 7,
  producerEpoch: 3,
  timeoutMs: 60_000,
  state: 'Empty',
  partitions: {},
  startTimestamp: -1,
  updateTimestamp: NOW - 1000,
  ...over,
});
const ongoing = (over: Partial<TxnMetadata> = {}) => base({ state: 'Ongoing', partitions: { orders: [0, 2] }, startTimestamp: NOW - 500, ...over });

test('InitProducerId: the next epoch from a finished state; an open transaction is fenced and aborted; a completing one is retried', () => {
  for (const state of ['Empty', 'CompleteCommit', 'CompleteAbort'] as TxnState[]) {
    const d = decideInit(base({ state, partitions: state === 'Empty' ? {} : { orders: [1] } }), 30_000, NOW);
    assert.equal(d.next, { ...base(), producerEpoch: 4, timeoutMs: 30_000, state: 'Empty', partitions: {}, startTimestamp: -1, updateTimestamp: NOW }, state);
  }
  const fenced = decideInit(ongoing(), 30_000, NOW);
  assert.equal([fenced.next?.state, fenced.next?.producerEpoch, fenced.next?.partitions], ['PrepareAbort', 4, { orders: [0, 2] }], 'aborted at the bumped epoch, with its partitions');
  for (const state of ['PrepareCommit', 'PrepareAbort', 'PrepareEpochFence'] as TxnState[]) {
    assert.is(decideInit(base({ state }), 30_000, NOW).errorCode, ErrorCode.CONCURRENT_TRANSACTIONS, state);
  }
  const exhausted = decideInit(base({ producerEpoch: MAX_PRODUCER_EPOCH }), 30_000, NOW, 99);
  assert.equal([exhausted.next?.producerId, exhausted.next?.producerEpoch], [99, 0], 'an exhausted epoch gets a new producer id');
});

test('AddPartitionsToTxn: opens or extends the transaction; the wrong producer or epoch, or a completing transaction, is refused', () => {
  const opened = decideAdd(base(), 7, 3, { orders: [2, 0] }, NOW);
  assert.equal(opened.next, { ...base(), state: 'Ongoing', partitions: { orders: [0, 2] }, startTimestamp: NOW, updateTimestamp: NOW });
  const extended = decideAdd(ongoing(), 7, 3, { orders: [1], audit: [0] }, NOW);
  assert.equal([extended.next?.partitions, extended.next?.startTimestamp], [{ orders: [0, 1, 2], audit: [0] }, NOW - 500], 'the timeout still counts from the start');
  assert.equal(decideAdd(ongoing(), 7, 3, { orders: [2] }, NOW), { next: null }, 'nothing new: nothing written');
  assert.equal(decideAdd(base({ state: 'CompleteCommit', partitions: {} }), 7, 3, { orders: [5] }, NOW).next?.partitions, { orders: [5] }, 'a new transaction starts empty');
  assert.is(decideAdd(undefined, 7, 3, { orders: [0] }, NOW).errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  assert.is(decideAdd(ongoing(), 8, 3, { orders: [0] }, NOW).errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  assert.is(decideAdd(ongoing(), 7, 2, { orders: [0] }, NOW).errorCode, ErrorCode.PRODUCER_FENCED);
  assert.is(decideAdd(base({ state: 'PrepareCommit' }), 7, 3, { orders: [0] }, NOW).errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
});

test('EndTxn: Ongoing prepares; a retry of a finished end is answered as it was; the opposite end or no transaction is INVALID_TXN_STATE', () => {
  assert.is(decideEnd(ongoing(), 7, 3, true, NOW).next?.state, 'PrepareCommit');
  assert.is(decideEnd(ongoing(), 7, 3, false, NOW).next?.state, 'PrepareAbort');
  const cases: Array<[TxnState, boolean, number | null]> = [
    ['PrepareCommit', true, ErrorCode.CONCURRENT_TRANSACTIONS],
    ['PrepareCommit', false, ErrorCode.INVALID_TXN_STATE],
    ['PrepareAbort', false, ErrorCode.CONCURRENT_TRANSACTIONS],
    ['PrepareAbort', true, ErrorCode.INVALID_TXN_STATE],
    ['CompleteCommit', true, null],
    ['CompleteCommit', false, ErrorCode.INVALID_TXN_STATE],
    ['CompleteAbort', false, null],
    ['CompleteAbort', true, ErrorCode.INVALID_TXN_STATE],
    ['Empty', true, ErrorCode.INVALID_TXN_STATE],
  ];
  for (const [state, commit, code] of cases) {
    const d = decideEnd(base({ state }), 7, 3, commit, NOW);
    if (code === null) assert.equal(d, { next: null }, `${state} ${commit}`);
    else assert.is(d.errorCode, code, `${state} commit=${commit}`);
  }
  assert.is(decideEnd(ongoing(), 7, 2, true, NOW).errorCode, ErrorCode.PRODUCER_FENCED);
});

test('completion, timeouts and KIP-890 verification', () => {
  assert.equal(completed(base({ state: 'PrepareCommit', partitions: { orders: [0] }, startTimestamp: 5 }), NOW), { ...base(), state: 'CompleteCommit', updateTimestamp: NOW });
  assert.is(completed(base({ state: 'PrepareAbort' }), NOW).state, 'CompleteAbort');
  // When a transaction times out is the machine's timer (test/unit/transaction-machine.test.ts); what it becomes is this.
  const expired = timedOut(ongoing({ startTimestamp: NOW - 60_000 }), NOW);
  assert.equal([expired?.state, expired?.producerEpoch], ['PrepareAbort', 4], 'aborted, its producer fenced');
  assert.is(timedOut(base({ state: 'PrepareCommit', startTimestamp: 0 }), NOW), null, 'only open transactions expire');
  assert.equal((['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort'] as TxnState[]).filter((state) => mayExpire(base({ state }))), ['Empty', 'CompleteCommit', 'CompleteAbort'], 'only idle ids expire');
  assert.is(verifyPartition(ongoing(), 7, 3, 'orders', 2), ErrorCode.NONE);
  assert.is(verifyPartition(ongoing(), 7, 3, 'orders', 1), ErrorCode.INVALID_TXN_STATE, 'a partition not added');
  assert.is(verifyPartition(base({ state: 'CompleteCommit', partitions: {} }), 7, 3, 'orders', 2), ErrorCode.INVALID_TXN_STATE, 'a late batch of an ended transaction');
  assert.is(verifyPartition(ongoing(), 7, 2, 'orders', 2), ErrorCode.PRODUCER_FENCED);
});

test('__transaction_state records round-trip; unknown keys and versions are skipped, not misread', () => {
  const m = ongoing({ partitions: { orders: [0, 2], audit: [1] } });
  assert.equal(decodeTxnKey(txnKey('tx')), 'tx');
  assert.equal(decodeTxn('tx', encodeTxn(m)), m);
  assert.is(decodeTxnKey(Buffer.from(JSON.stringify(['offset', 'g', 't', 0]))), null);
  assert.is(decodeTxn('tx', Buffer.from(JSON.stringify({ v: 9, state: 'Ongoing' }))), null);
  assert.is(decodeTxn('tx', Buffer.from(JSON.stringify({ v: 1, state: 'Sideways', partitions: [] }))), null);
  // Java's "my-txn".hashCode() is -1061187895, as Kafka's partitionFor uses: the partition a Kafka cluster picks.
  assert.is(partitionForTransactionalId('my-txn', 50), 45);
});

test('partition side: a marker voids a KIP-890 verification; a coordinator write skips sequences but not epochs', () => {
  const t = new ProducerStateTable();
  const txn = { producerId: 5, producerEpoch: 1, baseSequence: 0, lastOffsetDelta: 0, maxTimestamp: NOW, attributes: TRANSACTIONAL_FLAG };
  const guard = t.markerCount(5);
  t.apply(txn, 0);
  t.apply({ ...txn, baseSequence: 1 }, 1, { type: 'COMMIT', coordinatorEpoch: 0 });
  assert.is.not(t.markerCount(5), guard, 'the verification taken before the marker no longer holds');
  const offsets = { producerId: 9, producerEpoch: 2, baseSequence: -1, lastOffsetDelta: 1, maxTimestamp: NOW, attributes: TRANSACTIONAL_FLAG };
  assert.equal(t.check(offsets, 'coordinator'), { kind: 'append' });
  assert.is(t.check(offsets).kind, 'error', "a client's batch without a sequence is refused");
  t.apply(offsets, 2);
  assert.is(t.openTransaction(9), 2, "the coordinator's write opens the transaction");
  assert.is((t.check({ ...offsets, producerEpoch: 1 }, 'coordinator') as { errorCode: number }).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
});

test.run();
