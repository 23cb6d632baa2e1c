// The client's pure pieces: the consumer's record decoder against the protocol's batch builder and reader
// (plain and every codec, headers, null keys and values, mid-batch start, control batches, long timestamp deltas,
// corrupt input), bootstrap parsing, and the typed errors' facts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildRecordBatch, readRecords, CONTROL_FLAG, ATTRIBUTES_OFFSET, CRC_OFFSET, CRC_START } from '../../src/protocol/record-batch.ts';
import { crc32c } from '../../src/protocol/crc32c.ts';
import { decodeRecords, type DecodedRecord } from '../../src/client/record-decoder.ts';
import { parseBootstrap } from '../../src/client/cluster.ts';
import { KafkaProtocolError, KafkaClientError, ConnectionError, isRetriable } from '../../src/client/errors.ts';

const records = [
  { key: 'k0', value: 'v0', headers: [{ key: 'h', value: 'x' }, { key: 'h', value: null }], timestamp: 1000 },
  { key: null, value: Buffer.from([0, 1, 2]), timestamp: 1000 + 40 * 24 * 3600 * 1000 },
  { key: 'k2', value: null, timestamp: 999 },
];

function decode(buf: Buffer, from = 0n): { out: DecodedRecord[]; next: bigint } {
  const out: DecodedRecord[] = [];
  const next = decodeRecords(buf, from, out);
  return { out, next };
}

test('decodes what buildRecordBatch wrote, as readRecords does, for every codec', () => {
  for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
    const a = buildRecordBatch({ records, baseOffset: 10, compression });
    const b = buildRecordBatch({ records: [{ value: 'last' }], baseOffset: 13, timestamp: 5 });
    const buf = Buffer.concat([a, b, b.subarray(0, 20)]); // a trailing partial batch, as Fetch may return
    const { out, next } = decode(buf, 10n);
    assert.is(next, 14n);
    const reference = [...readRecords(a), ...readRecords(b)];
    assert.equal(
      out.map((r) => [r.offset, r.key, r.value, r.headers, r.timestamp]),
      reference.map((r) => [BigInt(r.offset), r.key, r.value, r.headers, r.timestamp]),
      compression,
    );
    assert.is(out[0]!.headers[1]!.value, null);
    assert.is(out[1]!.timestamp, 1000 + 40 * 24 * 3600 * 1000, 'a timestamp delta past 2^31 ms is exact');
  }
});

test('starts mid-batch and skips batches before the fetch offset', () => {
  const a = buildRecordBatch({ records, baseOffset: 0 });
  const b = buildRecordBatch({ records, baseOffset: 3 });
  const { out, next } = decode(Buffer.concat([a, b]), 4n);
  assert.equal(out.map((r) => r.offset), [4n, 5n]);
  assert.is(next, 6n);
  assert.is(decode(Buffer.alloc(0), 7n).next, 7n, 'nothing fetched: the position stays');
});

test('skips control batches but moves past them', () => {
  const marker = buildRecordBatch({ records: [{ key: Buffer.from([0, 0, 0, 0]), value: Buffer.from([0, 0, 0, 0, 0, 0]) }], baseOffset: 3 });
  marker.writeInt16BE(marker.readInt16BE(ATTRIBUTES_OFFSET) | CONTROL_FLAG, ATTRIBUTES_OFFSET);
  marker.writeUInt32BE(crc32c(marker, CRC_START, marker.length), CRC_OFFSET);
  const { out, next } = decode(Buffer.concat([buildRecordBatch({ records, baseOffset: 0 }), marker]));
  assert.equal(out.map((r) => r.offset), [0n, 1n, 2n]);
  assert.is(next, 4n);
});

test('a record whose length does not match its fields throws', () => {
  const a = buildRecordBatch({ records, baseOffset: 0 });
  a[61] = 0x7e; // first record's length varint (zigzag 63): not what its fields take
  assert.throws(() => decode(a));
});

test('parseBootstrap takes lists and comma-separated strings, IPv6 in brackets; rejects the rest', () => {
  assert.equal(parseBootstrap('a:1, b:2'), [{ host: 'a', port: 1 }, { host: 'b', port: 2 }]);
  assert.equal(parseBootstrap(['[::1]:9092']), [{ host: '::1', port: 9092 }]);
  for (const bad of ['', 'host', 'host:99999', ['x:']]) {
    try {
      parseBootstrap(bad);
      assert.unreachable(`${bad} parsed`);
    } catch (err) {
      assert.instance(err, KafkaClientError);
      assert.is((err as KafkaClientError).code, 'INVALID_ARGUMENT');
    }
  }
});

test('typed errors carry the Kafka name, retriability and the partition', () => {
  const cause = new Error('socket');
  const e = new KafkaProtocolError(6, { topic: 't', partition: 2, broker: 3 }, { cause });
  assert.is(e.code, 6);
  assert.is(e.name, 'NOT_LEADER_OR_FOLLOWER');
  assert.is(e.errorName, 'NOT_LEADER_OR_FOLLOWER');
  assert.is(e.retriable, true);
  assert.is(e.topic, 't');
  assert.is(e.partition, 2);
  assert.is(e.broker, 3);
  assert.is(e.cause, cause);
  assert.match(e.message, 'NOT_LEADER_OR_FOLLOWER (t-2)');
  assert.is(new KafkaProtocolError(36, { topic: 't' }).retriable, false);
  assert.ok(isRetriable(new ConnectionError('CONNECTION_CLOSED', 'gone')));
  assert.not.ok(isRetriable(new KafkaClientError('INVALID_ARGUMENT', 'no')));
});

test.run();
