// ListTransactions' filters (KIP-664, txn-listing.ts): state names matched exactly with unknown ones reported and
// matching nothing, producer ids, v1's duration (only open transactions running longer than it), Dead never listed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { txnListingFilter } from '../../src/txn/txn-listing.ts';
import type { TxnMetadata, TxnState } from '../../src/txn/txn-metadata.ts';

const NOW = 1_000_000;

function txn(transactionalId: string, state: TxnState, producerId: number, startTimestamp = -1): TxnMetadata {
  return { transactionalId, producerId, producerEpoch: 0, timeoutMs: 60_000, state, partitions: {}, startTimestamp, updateTimestamp: NOW };
}

const ALL = [
  txn('empty', 'Empty', 1),
  txn('old', 'Ongoing', 2, NOW - 50_000),
  txn('young', 'Ongoing', 3, NOW - 10),
  txn('committed', 'CompleteCommit', 4),
  txn('preparing', 'PrepareAbort', 5, NOW - 70_000),
  txn('dead', 'Dead', 6),
];

const listed = (filters: Parameters<typeof txnListingFilter>[0]) => {
  const f = txnListingFilter(filters, NOW);
  return { ids: ALL.filter((m) => f.includes(m)).map((m) => m.transactionalId), unknown: f.unknownStateFilters };
};

test('no filter: every transaction but the Dead ones', () => {
  assert.equal(listed({ stateFilters: [], producerIdFilters: [] }), { ids: ['empty', 'old', 'young', 'committed', 'preparing'], unknown: [] });
});

test('state filter: exact names; unknown names are reported and match nothing', () => {
  assert.equal(listed({ stateFilters: ['Ongoing', 'CompleteCommit'], producerIdFilters: [] }).ids, ['old', 'young', 'committed']);
  assert.equal(listed({ stateFilters: ['ongoing', 'Running'], producerIdFilters: [] }), { ids: [], unknown: ['ongoing', 'Running'] });
  assert.equal(listed({ stateFilters: ['Empty', 'Nope'], producerIdFilters: [] }), { ids: ['empty'], unknown: ['Nope'] });
  assert.equal(listed({ stateFilters: ['Dead'], producerIdFilters: [] }).ids, []);
});

test('producer id filter, as bigints (the wire) or numbers, combined with states', () => {
  assert.equal(listed({ stateFilters: [], producerIdFilters: [3n, 4n, 99n] }).ids, ['young', 'committed']);
  assert.equal(listed({ stateFilters: ['Ongoing'], producerIdFilters: [3, 4] }).ids, ['young']);
});

test('duration filter: open transactions running longer than it; -1 turns it off', () => {
  assert.equal(listed({ stateFilters: [], producerIdFilters: [], durationFilter: 20_000n }).ids, ['old', 'preparing']);
  assert.equal(listed({ stateFilters: [], producerIdFilters: [], durationFilter: 60_000n }).ids, ['preparing']);
  assert.equal(listed({ stateFilters: [], producerIdFilters: [], durationFilter: 0n }).ids, ['old', 'young', 'preparing']);
  assert.equal(listed({ stateFilters: [], producerIdFilters: [], durationFilter: -1n }).ids.length, 5);
});

test.run();
