// How a follower's log becomes the leader's, between three brokers in one process (test/helpers/replication-harness.ts):
// fetching, truncating a diverged tail by leader epoch (KIP-101, KIP-279), starting over at the leader's log start
// after retention or DeleteRecords, fencing by leader epoch (KIP-320), and the limits of one fetch (NATS max_payload,
// one request per leader). The ISR and the high watermark are test/unit/replication-isr.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readPartitionTopicId } from '../../src/log/partition-metadata.ts';
import type { Storage } from '../../src/log/storage.ts';
import { PartitionReplica } from '../../src/broker/partition-replica.ts';
import { encodeFetchRequest, decodeFetchResponse } from '../../src/replication/replication-codec.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch.ts';
import type { Assignment } from '../../machines/partition-replica.ts';
import { batchOf, recordsIn } from '../helpers/log-fixtures.ts';
import { bytesBelow, harness, rf3, settle, TOPIC_ID, until } from '../helpers/replication-harness.ts';

test('a follower with un-replicated records of an old epoch truncates them and ends identical to the new leader', async () => {
  const h = harness();
  try {
    await h.create(0, rf3(1, 0));
    const old = h.replica(1);
    await old.produce(batchOf('a', 3), 1, 1000);
    for (const b of [2, 3, 2, 3]) await h.round(b, 1);
    assert.is(old.log!.highWatermark, 3);
    await old.produce(batchOf('lost', 2), 1, 1000); // never replicated
    assert.is(old.log!.logEndOffset, 5);
    // Broker 2 is elected in epoch 1 and writes other records at offsets 3..6.
    h.assignAll(0, rf3(2, 1, [2, 3]));
    const leader = h.replica(2);
    assert.is(leader.role, 'leader');
    assert.is(old.role, 'follower');
    await leader.produce(batchOf('new', 4), 1, 1000);
    await h.round(3, 2);
    await h.round(1, 2); // divergence: epoch 0 ends at 3 on the new leader
    assert.is(old.log!.logEndOffset, 3, 'the old leader cut its epoch-0 tail');
    await h.round(1, 2); // and fetches the new epoch's records
    await h.round(3, 2);
    await h.round(1, 2);
    const hw = leader.log!.highWatermark;
    assert.is(hw, 7);
    const want = await bytesBelow(leader, hw);
    for (const b of [1, 3]) assert.ok((await bytesBelow(h.replica(b), hw)).equals(want), `broker ${b} is byte-identical up to the HW`);
    assert.not.ok(recordsIn(await bytesBelow(old, old.log!.logEndOffset)).some(([, v]) => v.startsWith('lost')));
    assert.equal(old.log!.epochs.entries(), [{ epoch: 0, startOffset: 0 }, { epoch: 1, startOffset: 3 }]);
    assert.is(old.log!.highWatermark, 7);
  } finally {
    await h.close();
  }
});

test('a follower whose epoch ended where the leader\'s did, but named an epoch it never wrote, converges', async () => {
  const h = harness();
  try {
    await h.create(0, rf3(1, 0));
    await h.replica(1).produce(batchOf('a', 2), 1, 1000);
    for (const b of [2, 3, 2, 3]) await h.round(b, 1);
    // Broker 3 leads epoch 1 briefly without writing, then broker 2 leads epoch 2.
    h.assignAll(0, rf3(3, 1));
    // The epoch begins on the log's write chain, after anything queued before it.
    await until(() => h.replica(3).log!.epochs.latestEpoch() === 1, 'epoch 1 begun on broker 3');
    h.assignAll(0, rf3(2, 2));
    await h.replica(2).produce(batchOf('b', 1), 1, 1000);
    for (let i = 0; i < 4; i++) {
      await h.round(3, 2);
      await h.round(1, 2);
    }
    assert.is(h.replica(2).log!.highWatermark, 3);
    assert.equal(h.replica(3).log!.epochs.entries(), [{ epoch: 0, startOffset: 0 }, { epoch: 2, startOffset: 2 }]);
    assert.ok((await bytesBelow(h.replica(3), 3)).equals(await bytesBelow(h.replica(2), 3)));
  } finally {
    await h.close();
  }
});

test('a follower past the leader\'s end with no epoch history cuts back to its HW, then follows', async () => {
  const h = harness();
  try {
    await h.create(0, rf3(1, 0));
    await h.replica(1).produce(batchOf('a', 2), 1, 1000);
    for (const b of [2, 3, 2, 3, 3]) await h.round(b, 1);
    const f = h.replica(3).log!;
    assert.is(f.highWatermark, 2);
    await f.appendReplicated(buildRecordBatch({ baseOffset: 2, partitionLeaderEpoch: 0, timestamp: 1, records: [{ value: 'stray-0' }, { value: 'stray-1' }] }));
    f.epochs.truncateFromEnd(0); // as if the leader-epoch checkpoint had been lost
    assert.is(f.epochs.latestEpoch(), -1);
    await h.round(3, 1);
    assert.is(f.logEndOffset, 2);
    await h.replica(1).produce(batchOf('b', 1), 1, 1000);
    await h.round(3, 1);
    assert.ok((await bytesBelow(h.replica(3), 3)).equals(await bytesBelow(h.replica(1), 3)));
  } finally {
    await h.close();
  }
});

test('a follower whose log ends before the leader\'s log start (retention deleted it) starts over there and rejoins the ISR', async () => {
  // One batch per segment, and retention keeps only the active segment.
  const h = harness([1, 2, 3], 1500, 1, { logConfig: { segmentBytes: 1, retentionBytes: 1 } });
  try {
    await h.create(0, rf3(1, 0, [1, 2]));
    const leader = h.replica(1);
    const behind = h.replica(3);
    // The controller keeps broker 3 out of the ISR for now, so the leader's high watermark does not wait for it.
    const commit = h.controller;
    h.controller = async () => ({ errorCode: ErrorCode.INVALID_REQUEST });
    await leader.produce(batchOf('a', 2), 1, 1000);
    await h.round(3, 1);
    assert.is(behind.log!.logEndOffset, 2);
    // Broker 3 stops fetching; the leader writes on with broker 2, then retention deletes the old segments.
    for (const v of ['b', 'c', 'd']) await leader.produce(batchOf(v, 2), 1, 1000);
    for (let i = 0; i < 5; i++) await h.round(2, 1); // a fetch reads one segment, here one batch
    assert.is(leader.log!.highWatermark, 8);
    assert.is((await leader.log!.applyRetention()).deletedSegments, 3);
    assert.is(leader.log!.logStartOffset, 6);
    // Its next fetch (from 2) is out of range: it empties its log and starts at 6, with no epoch history.
    await h.round(3, 1);
    assert.is(behind.log!.logStartOffset, 6);
    assert.is(behind.log!.logEndOffset, 6);
    assert.equal(behind.log!.epochs.entries(), []);
    // Then it fetches from 6 like any follower, and is proposed back into the ISR.
    h.controller = commit;
    h.clock.advance(5_000);
    await h.round(3, 1);
    await h.round(3, 1);
    await settle();
    assert.is(behind.log!.logEndOffset, 8);
    assert.equal(behind.log!.epochs.entries(), [{ epoch: 0, startOffset: 6 }]);
    assert.ok((await bytesBelow(behind, 8)).equals(await bytesBelow(leader, 8)), 'identical from the leader\'s log start');
    assert.equal(recordsIn(await bytesBelow(behind, 8)).map(([o, v]) => `${o}:${v}`), ['6:d-0', '7:d-1']);
    assert.ok(h.proposals.at(-1)!.isr.includes(3), 'proposed back in');
    assert.equal([...leader.isr].sort(), [1, 2, 3]);
  } finally {
    await h.close();
  }
});

test('with a small NATS max_payload: a batch over half of it is refused, and a backlog larger than it replicates in several responses', async () => {
  const h = harness([1, 2, 3], 1500, 1, { payloadLimit: 64 * 1024 });
  try {
    await h.create(0, rf3(1, 0));
    const leader = h.replica(1);
    const big = buildRecordBatch({ records: [{ value: Buffer.alloc(40 * 1024, 0x61) }] });
    const err = await leader.produce(big, 1, 1000).then(() => null, (e: { errorCode?: number; message?: string }) => e);
    assert.is(err?.errorCode, ErrorCode.MESSAGE_TOO_LARGE, String(err?.message));
    assert.match(String(err?.message), /max_payload/);
    assert.is(leader.log!.logEndOffset, 0, 'nothing was written');
    // Ten batches of 20 KB: 200 KB in all, three times what one message carries.
    for (let i = 0; i < 10; i++) await leader.produce(buildRecordBatch({ records: [{ value: Buffer.alloc(20 * 1024, 0x30 + i) }] }), 1, 1000);
    for (let round = 0; round < 20 && !(h.replica(2).log!.logEndOffset === 10 && h.replica(3).log!.logEndOffset === 10); round++) {
      await h.round(2, 1);
      await h.round(3, 1);
    }
    for (const b of [2, 3]) assert.ok((await bytesBelow(h.replica(b), 10)).equals(await bytesBelow(leader, 10)), `broker ${b} is byte-identical`);
  } finally {
    await h.close();
  }
});

test('fencing: stale and future epochs are refused per partition, others in the request still served', async () => {
  const h = harness();
  try {
    await h.create(0, rf3(1, 2));
    await h.create(1, rf3(2, 0));
    await h.replica(1, 0).produce(batchOf('a', 1), 1, 1000);
    const server = h.services.get(1)!.replicationServer!;
    const ask = async (parts: Array<{ partition: number; epoch: number }>) =>
      decodeFetchResponse(
        Buffer.from(
          await server.handle(
            encodeFetchRequest({
              replicaId: 3, incarnation: 'x', maxWaitMs: 0, maxBytes: 1 << 20,
              partitions: parts.map((p) => ({ topic: 't', partition: p.partition, topicId: TOPIC_ID, fetchOffset: 0, lastFetchedEpoch: -1, currentLeaderEpoch: p.epoch, highWatermark: -1, logStartOffset: 0 })),
            }),
          ),
        ),
      ).partitions;
    const r = await ask([{ partition: 0, epoch: 1 }, { partition: 0, epoch: 3 }, { partition: 1, epoch: 0 }, { partition: 0, epoch: 2 }]);
    assert.equal(r.map((p) => p.errorCode), [ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.UNKNOWN_LEADER_EPOCH, ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.NONE]);
    assert.equal(recordsIn(r[3]!.records), [[0, 'a-0']]);
    // A follower ignores an answer from a leader whose epoch is older than the one it follows.
    const f = h.replica(3, 1);
    assert.equal(await f.applyReplicaFetch(2, 0, { topic: 't', partition: 1, errorCode: 0, highWatermark: 0, logStartOffset: 0, leaderEpoch: 0, records: Buffer.alloc(0) }, 0), { kind: 'idle' });
    h.assignAll(1, rf3(2, 1));
    const stale = await f.applyReplicaFetch(2, 1, { topic: 't', partition: 1, errorCode: 0, highWatermark: 0, logStartOffset: 0, leaderEpoch: 0, records: batchOf('z', 1) }, 0);
    assert.is(stale, 'stale');
    assert.is(f.log!.logEndOffset, 0);
    // An answer to a fetch made at another log end (an append landed after the fetch was sent) is dropped too:
    // applying it would skip over or straddle data the leader never had (the thawed-zombie divergence).
    const moved = await f.applyReplicaFetch(2, 1, { topic: 't', partition: 1, errorCode: 0, highWatermark: 1, logStartOffset: 0, leaderEpoch: 1, records: batchOf('z', 1) }, 7);
    assert.is(moved, 'stale');
    assert.is(f.log!.logEndOffset, 0);
  } finally {
    await h.close();
  }
});

test('a replica of a topic created again under the same name does not open the old topic\'s log left in its directory', async () => {
  const h = harness([1]);
  try {
    await h.create(0, { leader: 1, leaderEpoch: 0, replicas: [1], isr: [1] });
    const old = h.replica(1);
    await old.produce(batchOf('old', 3), 1, 1_000);
    const dir = old.dir;
    await old.stop(false);
    // The same directory, a new topic id: what a broker finds when the topic was deleted and created again
    // while it was away.
    const storage: Storage = old.opts.storage;
    const fresh = new PartitionReplica({ ...old.opts, topicId: 'another-topic-id' });
    fresh.start();
    await until(() => fresh.role === 'leader', 'the new replica leading');
    assert.is(fresh.log!.logEndOffset, 0, 'the old log was not opened as the new topic\'s');
    assert.is(await readPartitionTopicId(storage, dir), 'another-topic-id');
    await fresh.stop(false);
    // The same topic id again: the log is kept.
    const same = new PartitionReplica({ ...old.opts, topicId: 'another-topic-id' });
    same.start();
    await until(() => same.role === 'leader', 'the same topic reopened');
    await same.produce(batchOf('new', 2), 1, 1_000);
    assert.is(same.log!.logEndOffset, 2);
    await same.stop(false);
  } finally {
    await h.close();
  }
});

test('one fetch request per leader carries every followed partition', async () => {
  const h = harness([1, 2]);
  try {
    const a: Assignment = { leader: 1, leaderEpoch: 0, replicas: [1, 2], isr: [1, 2] };
    for (let p = 0; p < 40; p++) await h.create(p, a);
    for (let p = 0; p < 40; p += 3) await h.replica(1, p).produce(batchOf(`p${p}`, 1), 1, 1000);
    await h.round(2, 1);
    await h.round(2, 1);
    assert.is(h.bus.requests.get('fetch.1'), 2);
    for (let p = 0; p < 40; p++) {
      const want = p % 3 === 0 ? 1 : 0;
      assert.is(h.replica(2, p).log!.logEndOffset, want, `partition ${p}`);
      assert.is(h.replica(1, p).log!.highWatermark, want);
    }
  } finally {
    await h.close();
  }
});

test('DeleteRecords: the leader moves its log start, the followers follow from their fetch answers, the low watermark waits for the ISR', async () => {
  const h = harness([1, 2, 3], 1500, 1, { logConfig: { segmentBytes: 300 } });
  try {
    await h.create(0, rf3(1, 0));
    const leader = h.replica(1);
    for (let i = 0; i < 8; i++) await leader.produce(batchOf(`r${i}`, 5), 1, 1000);
    for (let i = 0; i < 20 && leader.log!.highWatermark < 40; i++) for (const b of [2, 3]) await h.round(b, 1);
    for (const b of [2, 3]) await h.round(b, 1);
    assert.is(leader.log!.highWatermark, 40);
    try {
      await leader.deleteRecords(41, 1000);
      assert.unreachable('past the high watermark');
    } catch (err) {
      assert.is((err as { errorCode?: number }).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    }
    let low = -1;
    const done = leader.deleteRecords(23, 10_000).then((l) => (low = l));
    await until(() => leader.log!.logStartOffset === 23, 'the leader log start');
    await settle();
    assert.is(low, -1, 'no follower has taken the new start yet');
    await h.round(2, 1); // broker 2 learns the start from the answer
    assert.is(h.replica(2).log!.logStartOffset, 23);
    await h.round(2, 1); // and reports it
    await h.round(3, 1);
    await settle();
    assert.is(low, -1, 'broker 3 has not reported it yet');
    await h.round(3, 1);
    await done;
    assert.is(low, 23);
    assert.ok(h.replica(3).log!.segmentInfos()[0]!.baseOffset > 0, 'the follower deleted whole segments below the start');
    // A follower elected leader keeps the start: a consumer below it is out of range there.
    h.assignAll(0, rf3(2, 1, [2, 3]));
    try {
      await h.replica(2).fetch(22, 1 << 20);
      assert.unreachable('below the new leader log start');
    } catch (err) {
      assert.is((err as { errorCode?: number }).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    }
    assert.is(recordsIn((await h.replica(2).fetch(23, 1 << 20)).data).find(([o]) => o >= 23)?.[0], 23);
    // -1 deletes up to the high watermark; a follower that never fetches again makes the request time out.
    const timedOut = h.replica(2).deleteRecords(-1, 500).catch((e: { errorCode?: number }) => e.errorCode);
    await until(() => h.replica(2).log!.logStartOffset === h.replica(2).log!.highWatermark, 'the new leader log start');
    h.clock.advance(500);
    assert.is(await timedOut, ErrorCode.REQUEST_TIMED_OUT);
  } finally {
    await h.close();
  }
});

test.run();
