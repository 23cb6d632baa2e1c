// The replica fetch codec: round trips of requests and responses (every field, sentinels, large offsets,
// unicode names), records carried as the exact bytes and sliced out without a copy, and malformed input
// refused with a typed error rather than a RangeError or a huge allocation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decodeFetchRequest,
  decodeFetchResponse,
  encodeFetchRequest,
  encodeFetchResponse,
  ReplicationCodecError,
  type ReplicaFetchRequest,
  type ReplicaFetchResponse,
} from '../../src/replication/replication-codec.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch.ts';

const request: ReplicaFetchRequest = {
  replicaId: 3,
  incarnation: '01JABCDEFGHJKMNPQRSTVWXYZ0',
  maxWaitMs: 500,
  maxBytes: 4 * 1024 * 1024,
  partitions: [
    { topic: 'orders', partition: 0, topicId: 'a'.repeat(32), fetchOffset: 0, lastFetchedEpoch: -1, currentLeaderEpoch: 0, highWatermark: -1, logStartOffset: 0 },
    { topic: 'bestellungen-ü', partition: 7, topicId: '0123456789abcdef0123456789abcdef', fetchOffset: 2 ** 50 + 3, lastFetchedEpoch: 12, currentLeaderEpoch: 13, highWatermark: 2 ** 50, logStartOffset: 2 ** 49 },
  ],
};

test('a fetch request round-trips every field', () => {
  assert.equal(decodeFetchRequest(encodeFetchRequest(request)), request);
  assert.equal(decodeFetchRequest(encodeFetchRequest({ ...request, partitions: [] })).partitions, []);
});

test('a fetch response round-trips, records byte for byte and as a view of the message', () => {
  const b1 = buildRecordBatch({ baseOffset: 5, partitionLeaderEpoch: 2, timestamp: 1, records: [{ key: 'k', value: 'v1' }, { value: 'v2' }] });
  const b2 = buildRecordBatch({ baseOffset: 7, partitionLeaderEpoch: 2, timestamp: 2, records: [{ value: 'x'.repeat(1000) }] });
  const records = Buffer.concat([b1, b2]);
  const response: ReplicaFetchResponse = {
    partitions: [
      { topic: 'orders', partition: 0, errorCode: 0, highWatermark: 5, logStartOffset: 0, leaderEpoch: 2, records },
      { topic: 'orders', partition: 1, errorCode: 0, highWatermark: -1, logStartOffset: -1, leaderEpoch: 3, divergingEpoch: { epoch: 1, endOffset: 2 ** 40 }, records: Buffer.alloc(0) },
      { topic: 'gone', partition: 2, errorCode: 74, highWatermark: 0, logStartOffset: 0, leaderEpoch: -1, records: Buffer.alloc(0) },
    ],
  };
  const wire = encodeFetchResponse(response);
  const back = decodeFetchResponse(wire);
  assert.equal(back, response);
  assert.ok(back.partitions[0]!.records.equals(records));
  // Not re-encoded, not copied: the decoded records are a slice of the received message.
  assert.is(back.partitions[0]!.records.buffer, wire.buffer);
  assert.is(wire.length - records.length < 200, true, 'framing overhead stays small');
});

test('malformed messages are refused with ReplicationCodecError', () => {
  const wire = encodeFetchRequest(request);
  for (let cut = 0; cut < wire.length; cut++) {
    assert.throws(() => decodeFetchRequest(wire.subarray(0, cut)), (e: unknown) => e instanceof ReplicationCodecError, `cut at ${cut}`);
  }
  assert.throws(() => decodeFetchRequest(Buffer.concat([wire, Buffer.from([0])])), (e: unknown) => e instanceof ReplicationCodecError);
  const bad = Buffer.from(wire);
  bad[0] = 9;
  assert.throws(() => decodeFetchRequest(bad), /unknown version/);
  // A partition count of 4 billion in a 9-byte message must fail before allocating for it.
  const huge = Buffer.from([1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
  assert.throws(() => decodeFetchResponse(huge), (e: unknown) => e instanceof ReplicationCodecError);
  const res = encodeFetchResponse({ partitions: [{ topic: 't', partition: 0, errorCode: 0, highWatermark: 1, logStartOffset: 0, leaderEpoch: 0, records: Buffer.alloc(10, 1) }] });
  for (let cut = 0; cut < res.length; cut++) {
    assert.throws(() => decodeFetchResponse(res.subarray(0, cut)), (e: unknown) => e instanceof ReplicationCodecError, `cut at ${cut}`);
  }
});

test.run();
