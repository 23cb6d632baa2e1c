// Transaction markers through whole brokers (memory runtime, three replicas): a transactional batch appended at
// the leader (as after the coordinator's verification) holds the last stable offset at its first offset; the
// marker writer (writeTxnMarkers, Kafka's WriteTxnMarkers) appends an ABORT and a COMMIT through the replicated
// append; a read_committed Fetch never reads past the LSO, is answered the aborted transaction for the range it
// returns, and ListOffsets read_committed answers the LSO for latest. After a leader change the new leader,
// whose log and producer state were built from the replicated batches only, answers the same. A client's
// transactional batch is refused (INVALID_TXN_STATE) and its control batch too (INVALID_RECORD).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Broker } from '../../actors/broker-actor.ts';
import { memoryCluster, type MemoryCluster } from '../../src/runtime/memory/memory-runtime.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch-builder.ts';
import { CONTROL_FLAG, forEachBatch } from '../../src/protocol/record-batch-layout.ts';
import { buildTxnMarkerBatch, type TxnMarkerType } from '../../src/log/txn-marker.ts';
import { writeTxnMarkers } from '../../src/broker/txn-markers.ts';
import { ask, createOrdersEverywhere, drive, produceBatch, startBrokers, stopBroker } from '../helpers/memory-brokers.ts';

const READ_UNCOMMITTED = 0;
const READ_COMMITTED = 1;

/** Moves the simulated clock until the promise settles; its value, or its rejection thrown. */
async function settle<T>(cluster: MemoryCluster, p: Promise<T>, what: string): Promise<T> {
  let out: { ok: true; value: T } | { ok: false; error: unknown } | null = null;
  p.then((value) => (out = { ok: true, value }), (error) => (out = { ok: false, error }));
  await drive(cluster, () => out !== null, what);
  const r = out as unknown as { ok: true; value: T } | { ok: false; error: unknown };
  if (!r.ok) throw r.error;
  return r.value;
}

function txnBatch(producerId: number, count: number): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({ value: `t${producerId}-${i}` }));
  return buildRecordBatch({ records, producerId, producerEpoch: 0, baseSequence: 0, isTransactional: true, timestamp: 1000 });
}

async function fetchFrom(cluster: MemoryCluster, broker: Broker, offset: number, isolationLevel: number) {
  const r = await ask(cluster, broker, ApiKey.Fetch, 4, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel,
    topics: [{ topic: 'orders', partitions: [{ partition: 0, fetchOffset: BigInt(offset), partitionMaxBytes: 1 << 20 }] }],
  });
  const p = r.responses[0]!.partitions[0]!;
  const batches: Array<{ base: number; last: number; control: boolean }> = [];
  forEachBatch(p.records ?? Buffer.alloc(0), (_pos, h) => batches.push({ base: h.baseOffset, last: h.baseOffset + h.lastOffsetDelta, control: (h.attributes & CONTROL_FLAG) !== 0 }));
  return {
    errorCode: p.errorCode,
    highWatermark: Number(p.highWatermark),
    lastStableOffset: Number(p.lastStableOffset),
    aborted: (p.abortedTransactions ?? []).map((a) => [Number(a.producerId), Number(a.firstOffset)]),
    end: batches.length > 0 ? batches.at(-1)!.last + 1 : offset,
    controls: batches.filter((b) => b.control).map((b) => b.base),
  };
}

async function latest(cluster: MemoryCluster, broker: Broker, isolationLevel: number): Promise<number> {
  const r = await ask(cluster, broker, ApiKey.ListOffsets, 2, { replicaId: -1, isolationLevel, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, timestamp: -1n }] }] });
  const p = r.topics[0]!.partitions[0]!;
  assert.is(p.errorCode, ErrorCode.NONE);
  return Number(p.offset);
}

function markers(svc: NonNullable<Broker['services']>, producerId: number, result: TxnMarkerType, coordinatorEpoch = 0) {
  return writeTxnMarkers(svc, [{ producerId, producerEpoch: 0, coordinatorEpoch, result, topics: [{ name: 'orders', partitions: [0] }] }], 10_000);
}

test('read_committed on the leader and, after a leader change, on the new one: LSO, aborted transactions, markers', async () => {
  const cluster = memoryCluster({ seed: 17 });
  const { brokers, stop } = await startBrokers(cluster);
  try {
    const first = await createOrdersEverywhere(cluster, brokers);
    const leader = brokers[first.leader - 1]!;
    const replica = leader.services!.registry.get('orders', 0)!;
    assert.is((await produceBatch(cluster, leader, 'a')).errorCode, ErrorCode.NONE); // 0-2

    // A transactional batch the coordinator did not verify is refused (KIP-890 part 1), and a marker from a client always.
    const refused = async (records: Buffer) =>
      (await ask(cluster, leader, ApiKey.Produce, 7, { transactionalId: null, acks: -1, timeoutMs: 10_000, topicData: [{ name: 'orders', partitionData: [{ index: 0, records }] }] })).responses[0]!.partitionResponses[0]!.errorCode;
    assert.is(await refused(txnBatch(500, 1)), ErrorCode.INVALID_TXN_STATE);
    assert.is(await refused(buildTxnMarkerBatch(500, 0, { type: 'ABORT', coordinatorEpoch: 0 }, 1000)), ErrorCode.INVALID_RECORD);

    // Producer 1000's transaction (verified, as the coordinator's KIP-890 check will allow): 3-4.
    await settle(cluster, replica.produce(txnBatch(1000, 2), -1, 10_000, { verified: 0 }), 'the transactional append');
    let c = await fetchFrom(cluster, leader, 0, READ_COMMITTED);
    assert.equal([c.highWatermark, c.lastStableOffset, c.end, c.aborted], [5, 3, 3, []], 'read_committed stops at the open transaction');
    const u = await fetchFrom(cluster, leader, 0, READ_UNCOMMITTED);
    assert.equal([u.lastStableOffset, u.end], [3, 5], 'read_uncommitted reads to the high watermark; the LSO is still the real one');
    assert.equal([await latest(cluster, leader, READ_COMMITTED), await latest(cluster, leader, READ_UNCOMMITTED)], [3, 5]);
    assert.equal((await fetchFrom(cluster, leader, 3, READ_COMMITTED)).end, 3, 'nothing at or past the LSO');

    // The coordinator aborts it: the marker at 5, answered once replicated.
    const aborted = await settle(cluster, markers(leader.services!, 1000, 'ABORT'), 'the ABORT marker');
    assert.equal(aborted[0]!.topics[0]!.partitions, [{ partition: 0, errorCode: ErrorCode.NONE }]);
    c = await fetchFrom(cluster, leader, 0, READ_COMMITTED);
    assert.equal([c.highWatermark, c.lastStableOffset, c.end, c.controls, c.aborted], [6, 6, 6, [5], [[1000, 3]]]);

    // Producer 2000's transaction 6-7 is committed at 8; producer 1000's stale epoch and coordinator are fenced.
    await settle(cluster, replica.produce(txnBatch(2000, 2), -1, 10_000, { verified: 0 }), 'the second transactional append');
    assert.equal([await latest(cluster, leader, READ_COMMITTED), await latest(cluster, leader, READ_UNCOMMITTED)], [6, 8]);
    await settle(cluster, markers(leader.services!, 2000, 'COMMIT', 1), 'the COMMIT marker');
    const stale = await settle(cluster, markers(leader.services!, 2000, 'COMMIT', 0), 'a marker of an older coordinator');
    assert.is(stale[0]!.topics[0]!.partitions[0]!.errorCode, ErrorCode.TRANSACTION_COORDINATOR_FENCED);
    c = await fetchFrom(cluster, leader, 6, READ_COMMITTED);
    assert.equal([c.lastStableOffset, c.end, c.aborted], [9, 9, []], 'the committed transaction is not reported aborted');
    assert.equal((await fetchFrom(cluster, leader, 0, READ_COMMITTED)).aborted, [[1000, 3]]);
    assert.is(await latest(cluster, leader, READ_COMMITTED), 9);
    const leaderIndex = replica.producers.table.aborted.all();

    // A follower's state came from the replicated batches alone; it is the same.
    const followers = brokers.filter((b) => b !== leader);
    for (const f of followers) {
      const r = f.services!.registry.get('orders', 0)!;
      assert.is(r.log!.logEndOffset, 9);
      assert.equal(r.producers.table.aborted.all(), leaderIndex, `broker ${f.config.brokerId}'s aborted index`);
    }

    // A third transaction opens (9), then the leader stops: the new leader holds it open too.
    await settle(cluster, replica.produce(txnBatch(3000, 1), -1, 10_000, { verified: 0 }), 'the third transactional append');
    await stopBroker(cluster, leader);
    const now = () => followers[0]!.services!.metadata.snapshot().topics['orders']!.partitions[0]!;
    await drive(cluster, () => now().leader !== first.leader && now().leader > 0 && brokers[now().leader - 1]!.services!.registry.get('orders', 0)?.role === 'leader', 'a new leader');
    const next = brokers[now().leader - 1]!;
    await drive(cluster, () => next.services!.registry.get('orders', 0)!.log!.highWatermark === 10, 'the new leader\'s high watermark');
    c = await fetchFrom(cluster, next, 0, READ_COMMITTED);
    assert.equal([c.highWatermark, c.lastStableOffset, c.end, c.controls, c.aborted], [10, 9, 9, [5, 8], [[1000, 3]]]);
    assert.is(await latest(cluster, next, READ_COMMITTED), 9);
    await settle(cluster, markers(next.services!, 3000, 'ABORT', 1), 'an ABORT at the new leader');
    c = await fetchFrom(cluster, next, 6, READ_COMMITTED);
    assert.equal([c.lastStableOffset, c.end, c.aborted], [11, 11, [[3000, 9]]]);
  } finally {
    await stop();
  }
});

test.run();
