// Log compaction in three whole brokers on the memory runtime (one simulated clock, in-memory transport and
// disks): a compacted topic refuses a batch with records without a key (INVALID_RECORD, each named in
// record_errors) and takes keyed ones; each broker's
// cleaner, leader and followers alike, compacts its own replica once the high watermark is past the sealed
// segments, so every replica ends with the same records at the same offsets: the latest value of every key and
// the tombstone of a deleted key, the active segment untouched. A Fetch from offset 0 and from an offset inside
// a gap returns the batches that are left; after the leader stops, the new leader serves the same records and
// takes new ones after them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryCluster } from '../../src/runtime/memory/memory-runtime.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { buildRecordBatch, forEachBatch, readRecords } from '../../src/protocol/record-batch.ts';
import type { PartitionLog } from '../../src/log/partition-log.ts';
import type { Broker } from '../../actors/broker-actor.ts';
import { ask, drive, startBrokers, stopBroker } from '../helpers/memory-brokers.ts';

const TOPIC = 'table';

type Rec = [key: string | null, value: string | null];

async function allRecords(log: PartitionLog): Promise<Array<[number, string | null, string | null]>> {
  const out: Array<[number, string | null, string | null]> = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const r = await log.read(offset, 1 << 20);
    if (r.data.length === 0) break;
    forEachBatch(r.data, (pos) => {
      for (const rec of readRecords(r.data, pos)) out.push([rec.offset, rec.key?.toString() ?? null, rec.value?.toString() ?? null]);
    });
    offset = r.nextOffset;
  }
  return out;
}

function fetchBody(offset: number) {
  return {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: BigInt(offset), logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [],
    rackId: '',
  };
}

test('a compacted topic on three brokers: keyless refused, every replica cleaned alike, reads across gaps, a new leader serves the same', async () => {
  const cluster = memoryCluster({ seed: 18 });
  const { brokers, stop } = await startBrokers(cluster);
  try {
    const created = await ask(cluster, brokers[0]!, ApiKey.CreateTopics, 4, {
      topics: [{
        name: TOPIC, numPartitions: 1, replicationFactor: 3, assignments: [],
        configs: [
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'segment.bytes', value: '600' },
          { name: 'min.cleanable.dirty.ratio', value: '0.01' },
        ],
      }],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    assert.is(created.topics[0]!.errorCode, ErrorCode.NONE);
    const replicaOn = (b: Broker) => b.services!.registry.get(TOPIC, 0);
    await drive(cluster, () => brokers.every((b) => replicaOn(b)?.log && replicaOn(b)?.role !== 'recovering'), 'every replica open');
    const leaderOf = () => brokers.find((b) => b.actor.getSnapshot().status === 'active' && replicaOn(b)?.role === 'leader');
    await drive(cluster, () => leaderOf() !== undefined, 'a leader');
    const produce = async (records: Rec[]) => {
      const r = await ask(cluster, leaderOf()!, ApiKey.Produce, 8, {
        transactionalId: null, acks: -1, timeoutMs: 10_000,
        topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: buildRecordBatch({ timestamp: cluster.clock.wall(), records: records.map(([key, value]) => ({ key, value })) }) }] }],
      });
      return r.responses[0]!.partitionResponses[0]!;
    };

    const keyless = await produce([['k1', 'fine'], [null, 'no key'], ['k2', 'fine'], [null, 'no key either']]);
    assert.is(keyless.errorCode, ErrorCode.INVALID_RECORD, 'a record without a key is refused');
    assert.match(keyless.errorMessage ?? '', /Compacted topic cannot accept message without key/);
    // KIP-467: every keyless record named by its index in the batch (librdkafka fails those with INVALID_RECORD).
    assert.equal(keyless.recordErrors?.map((e) => e.batchIndex), [1, 3]);
    for (let round = 0; round < 8; round++) {
      const p = await produce(Array.from({ length: 8 }, (_, k): Rec => [`k${k}`, round === 7 && k === 3 ? null : `v${round}-${k}`.padEnd(24, '.')]));
      assert.is(p.errorCode, ErrorCode.NONE);
    }
    // Other keys: this batch rolls a segment of its own, so the last round's is sealed and cleanable.
    assert.is((await produce(Array.from({ length: 8 }, (_, k): Rec => [`z${k}`, 'other'.padEnd(24, '.')]))).errorCode, ErrorCode.NONE);
    const before = await allRecords(replicaOn(leaderOf()!)!.log!);
    assert.is(before.length, 72);

    // Every broker's cleaner compacts its own replica (the default backoff is 15 s of simulated time).
    const cleanedEverywhere = () => brokers.every((b) => b.cleaner.stats.cleanings >= 1);
    await drive(cluster, cleanedEverywhere, 'every broker to clean its replica', 200);
    await drive(cluster, () => brokers.every((b) => b.cleaner.stats.maxDirtyRatio === 0), 'nothing dirty left', 200);
    const logs = brokers.map((b) => replicaOn(b)!.log!);
    const cleaned = await allRecords(logs[0]!);
    for (const log of logs.slice(1)) assert.equal(await allRecords(log), cleaned, 'every replica holds the same records at the same offsets');
    const activeBase = logs[0]!.segmentInfos().at(-1)!.baseOffset;
    const latest = new Map<string, [number, string | null, string | null]>();
    for (const r of before) if (r[0] < activeBase) latest.set(r[1]!, r);
    const expected = [...[...latest.values()].filter((r) => !before.some((o) => o[1] === r[1] && o[0] > r[0] && o[0] < activeBase)), ...before.filter((r) => r[0] >= activeBase)].sort((a, b) => a[0] - b[0]);
    assert.equal(cleaned, expected);
    assert.ok(cleaned.length < before.length, `${before.length} records cleaned to ${cleaned.length}`);
    assert.is(activeBase, 64);
    assert.equal(cleaned.map((r) => r[0]), [56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71], "only the last round's records and the active segment's are left");
    assert.equal(cleaned[3], [59, 'k3', null], 'the tombstone is kept (delete.retention.ms has not passed)');

    // Fetch from 0 and from inside a gap: the batches that are left, the first at or after the offset.
    const gapAt = before.find((r) => !cleaned.some((c) => c[0] === r[0]))!;
    for (const from of [0, gapAt[0]]) {
      const f = await ask(cluster, leaderOf()!, ApiKey.Fetch, 11, fetchBody(from));
      const part = f.responses[0]!.partitions[0]!;
      assert.is(part.errorCode, ErrorCode.NONE);
      const got: number[] = [];
      forEachBatch(part.records!, (pos) => got.push(...readRecords(part.records!, pos).map((r) => r.offset)));
      assert.equal(got, cleaned.filter((r) => r[0] >= from).map((r) => r[0]).filter((o) => got.includes(o)));
      assert.is(got[0], cleaned.find((r) => r[0] >= from)![0], `fetch from ${from}`);
    }

    // The leader stops: the new leader serves the same compacted records and appends after them.
    const old = leaderOf()!;
    await stopBroker(cluster, old);
    await drive(cluster, () => leaderOf() !== undefined && leaderOf() !== old, 'a new leader');
    const next = await produce([['k0', 'after the leader change']]);
    assert.is(next.errorCode, ErrorCode.NONE);
    assert.is(Number(next.baseOffset), before.at(-1)![0] + 1, 'offsets go on from the log end');
    const now = await allRecords(replicaOn(leaderOf()!)!.log!);
    assert.equal(now.slice(0, -1), cleaned);
    brokers.splice(brokers.indexOf(old), 1);
  } finally {
    await stop();
  }
});

test.run();
