// The dashboard's transaction view, pure: a coordinator's summaries (txn-listing.ts: Dead left out, open ones
// first and timed on its clock, bounded with the rest counted) and the cluster view built from the brokers'
// statuses (per coordinator, running time aged since the status arrived, overdue past the timeout, a gone
// broker's transactions dropped; each partition's LSO and LSO lag from its leader, none from a follower).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { txnSummaries } from '../../src/txn/txn-listing.ts';
import type { TxnMetadata, TxnState } from '../../src/txn/txn-metadata.ts';
import { buildClusterView } from '../../src/dashboard/cluster-view.ts';
import { StatusBoard } from '../../src/dashboard/status-board.ts';
import type { BrokerStatus, ReplicaStatus } from '../../src/dashboard/broker-status.ts';
import type { BrokerInfo, ClusterSnapshot } from '../../src/metadata/types.ts';

const NOW = 1_000_000;
const txn = (transactionalId: string, state: TxnState, startTimestamp = -1, partitions: Record<string, number[]> = {}): TxnMetadata => ({
  transactionalId,
  producerId: transactionalId.length,
  producerEpoch: 2,
  timeoutMs: 60_000,
  state,
  partitions,
  startTimestamp,
  updateTimestamp: NOW,
});

test('summaries: Dead left out, open ones first by running time, then by id; bounded, the rest counted', () => {
  const held = [txn('b-empty', 'Empty'), txn('dead', 'Dead'), txn('young', 'Ongoing', NOW - 10, { t: [0, 2], u: [1] }), txn('a-done', 'CompleteCommit'), txn('old', 'PrepareAbort', NOW - 50_000)];
  const all = txnSummaries(held, NOW, 10);
  assert.equal(
    all.transactions.map((t) => [t.transactionalId, t.state, t.runningMs]),
    [
      ['old', 'PrepareAbort', 50_000],
      ['young', 'Ongoing', 10],
      ['a-done', 'CompleteCommit', null],
      ['b-empty', 'Empty', null],
    ],
  );
  assert.equal(all.transactions[1]!.partitions, [
    { topic: 't', partition: 0 },
    { topic: 't', partition: 2 },
    { topic: 'u', partition: 1 },
  ]);
  assert.equal([all.transactions[1]!.producerEpoch, all.transactions[1]!.timeoutMs], [2, 60_000]);
  assert.is(all.omitted, 0);
  const bounded = txnSummaries(held, NOW, 2);
  assert.equal([bounded.transactions.map((t) => t.transactionalId), bounded.omitted], [['old', 'young'], 2]);
});

const broker = (id: number): BrokerInfo => ({ id, host: '127.0.0.1', port: 9000 + id, rack: null, incarnation: `inc-${id}`, registeredAt: 0 });

function snapshot(brokers: number[]): ClusterSnapshot {
  return {
    clusterId: 'c1',
    brokers: Object.fromEntries(brokers.map((b) => [b, broker(b)])),
    topics: {
      t: {
        name: 't',
        id: 'a'.repeat(32),
        partitions: [
          { partition: 0, leader: 1, leaderEpoch: 1, replicas: [1, 2], isr: [1, 2] },
          { partition: 1, leader: 2, leaderEpoch: 1, replicas: [2, 1], isr: [2, 1] },
        ],
        config: {},
        createdAt: 0,
      },
    },
    controller: { brokerId: 1, epoch: 1 },
    revision: 1,
  };
}

function status(brokerId: number, at: number, replicas: ReplicaStatus[], held: TxnMetadata[]): BrokerStatus {
  const { transactions, omitted } = txnSummaries(held, at, 100);
  return { brokerId, incarnation: `inc-${brokerId}`, http: null, at, throughput: { bytesIn: 0, bytesOut: 0, recordsIn: 0, recordsOut: 0 }, replicas, groups: [], transactions, transactionsOmitted: omitted };
}
const replica = (partition: number, role: string, highWatermark: number, lastStableOffset?: number): ReplicaStatus => ({
  topic: 't',
  partition,
  role,
  leaderEpoch: 1,
  logStartOffset: 0,
  logEndOffset: highWatermark,
  highWatermark,
  ...(lastStableOffset === undefined ? {} : { lastStableOffset }),
});

test('cluster view: transactions per coordinator, aged since their status, overdue past the timeout; LSO lag from the leader', () => {
  let clock = 0;
  const board = new StatusBoard(() => clock);
  // Broker 1's clock runs an hour ahead of the dashboard's: running times come from its own clock.
  clock = 5_000;
  board.put(status(1, NOW + 3_600_000, [replica(0, 'leader', 10, 4), replica(1, 'follower', 7)], [txn('t1', 'Ongoing', NOW + 3_600_000 - 59_000, { t: [0] }), txn('t0', 'Empty')]));
  board.put(status(2, NOW, [replica(1, 'leader', 7, 7), replica(0, 'follower', 10)], [txn('t2', 'PrepareCommit', NOW - 1000, { t: [1] })]));
  const known = new Map<number, BrokerInfo | null>([
    [1, broker(1)],
    [2, broker(2)],
  ]);
  const view = buildClusterView({ snapshot: snapshot([1, 2]), statuses: board.all(), known, now: 7_000 });
  assert.equal(
    view.transactions.map((t) => [t.coordinator, t.transactionalId, t.state, t.runningMs, t.overdue]),
    [
      [1, 't1', 'Ongoing', 61_000, true],
      [1, 't0', 'Empty', null, false],
      [2, 't2', 'PrepareCommit', 3_000, false],
    ],
  );
  assert.is(view.totals.openTransactions, 2);
  assert.is(view.transactionsOmitted, 0);
  const [p0, p1] = view.topics[0]!.partitions;
  assert.equal([p0!.highWatermark, p0!.lastStableOffset, p0!.lsoLag], [10, 4, 6]);
  assert.equal([p1!.highWatermark, p1!.lastStableOffset, p1!.lsoLag], [7, 7, 0]);

  // Broker 2 is gone: its transactions go with it, and its partition has no leader report.
  const after = buildClusterView({ snapshot: snapshot([1]), statuses: board.all(), known, now: 7_000 });
  assert.equal(after.transactions.map((t) => t.transactionalId), ['t1', 't0']);
  assert.equal([after.topics[0]!.partitions[1]!.lastStableOffset, after.topics[0]!.partitions[1]!.lsoLag], [null, null]);
});

test('a status without transactions or LSO (an older broker) shows none rather than failing', () => {
  const board = new StatusBoard(() => 0);
  const { transactions: _t, transactionsOmitted: _o, ...old } = status(1, 1, [{ topic: 't', partition: 0, role: 'leader', leaderEpoch: 1, logStartOffset: 0, logEndOffset: 3, highWatermark: 3 }], []);
  board.put(old);
  const view = buildClusterView({ snapshot: snapshot([1]), statuses: board.all(), known: new Map(), now: 0 });
  assert.equal([view.transactions, view.topics[0]!.partitions[0]!.lastStableOffset, view.topics[0]!.partitions[0]!.lsoLag], [[], null, null]);
});

test.run();
