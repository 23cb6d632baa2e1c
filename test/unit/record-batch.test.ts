// RecordBatch v2 codec: build/read round trips, every validation failure class with Kafka's error code,
// in-place broker edits, batch iteration, and bytes captured from real clients (kcat/librdkafka, KafkaJS).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  BATCH_HEADER_SIZE, CRC_OFFSET, CRC_START, ATTRIBUTES_OFFSET, RECORDS_COUNT_OFFSET, LAST_OFFSET_DELTA_OFFSET,
  BATCH_LENGTH_OFFSET, MAGIC_OFFSET, TIMESTAMP_TYPE_LOG_APPEND, CORRUPT_MESSAGE, INVALID_RECORD,
  UNSUPPORTED_FOR_MESSAGE_FORMAT, UnsupportedCompressionError, batchSize, batchPositions, buildRecordBatch,
  forEachBatch, readBatchHeader, readRecords, setBaseOffset, setLogAppendTime, setPartitionLeaderEpoch, validateBatch,
} from '../../src/protocol/record-batch.ts';
import { crc32c } from '../../src/protocol/crc32c.ts';

const fixture = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../fixtures/record-batches/${name}.bin`, import.meta.url)));
const str = (b: Buffer | null) => (b === null ? null : b.toString('utf8'));
const resign = (b: Buffer) => b.writeUInt32BE(crc32c(b, CRC_START, b.length), CRC_OFFSET);

function sample(): Buffer {
  return buildRecordBatch({
    baseOffset: 0,
    timestamp: 1_700_000_000_000,
    producerId: 42,
    producerEpoch: 3,
    baseSequence: 7,
    records: [
      { key: 'k1', value: 'v1', headers: [{ key: 'h', value: 'x' }, { key: 'n', value: null }] },
      { key: null, value: Buffer.from([0, 1, 2]), timestamp: 1_700_000_000_500 },
      { key: Buffer.alloc(0), value: null, timestamp: 1_699_999_999_000 },
    ],
  });
}

test('build → validate → read round trip', () => {
  const b = sample();
  const v = validateBatch(b, 0, b.length, { deep: true });
  assert.ok(v.ok, JSON.stringify(v));
  if (!v.ok) return;
  assert.is(v.size, b.length);
  assert.is(v.header.recordsCount, 3);
  assert.is(v.header.lastOffsetDelta, 2);
  assert.is(v.header.maxTimestamp, 1_700_000_000_500);
  assert.is(v.header.producerId, 42);
  assert.is(v.header.producerEpoch, 3);
  assert.is(v.header.baseSequence, 7);
  assert.is(v.header.partitionLeaderEpoch, -1);
  const rs = readRecords(b);
  assert.equal(rs.map((r) => [r.offset, r.timestamp, str(r.key), str(r.value)]), [
    [0, 1_700_000_000_000, 'k1', 'v1'],
    [1, 1_700_000_000_500, null, '\u0000\u0001\u0002'],
    [2, 1_699_999_999_000, '', null],
  ]);
  assert.equal(rs[0]!.headers.map((h) => [h.key, str(h.value)]), [['h', 'x'], ['n', null]]);
});

test('defaults: producerId -1, NO_TIMESTAMP without timestamps, transactional flag, gzip round trip', () => {
  const plain = buildRecordBatch({ records: [{ value: 'a' }] });
  const h = readBatchHeader(plain);
  assert.is(h.producerId, -1);
  assert.is(h.baseTimestamp, -1);
  assert.is(h.attributes, 0);
  const tx = buildRecordBatch({ records: [{ value: 'a' }], isTransactional: true, timestamp: 5 });
  assert.is(readBatchHeader(tx).attributes & 0x10, 0x10);
  const records = Array.from({ length: 50 }, (_, i) => ({ key: `key-${i}`, value: 'v'.repeat(100), timestamp: 1000 + i }));
  const gz = buildRecordBatch({ records, compression: 'gzip', baseOffset: 100 });
  assert.is(readBatchHeader(gz).attributes & 7, 1);
  assert.ok(gz.length < 50 * 100, 'gzip shrinks repetitive values');
  assert.ok(validateBatch(gz, 0, gz.length, { deep: true }).ok);
  const back = readRecords(gz);
  assert.is(back.length, 50);
  assert.is(back[49]!.offset, 149);
  assert.is(back[49]!.timestamp, 1049);
  assert.is(str(back[7]!.key), 'key-7');
});

test('LogAppendTime batches report maxTimestamp for every record', () => {
  const b = buildRecordBatch({ records: [{ value: 'a', timestamp: 1 }, { value: 'b', timestamp: 9 }] });
  b.writeInt16BE(TIMESTAMP_TYPE_LOG_APPEND, ATTRIBUTES_OFFSET);
  resign(b);
  assert.equal(readRecords(b).map((r) => r.timestamp), [9, 9]);
});

test('every corruption class is rejected with the Kafka error code', () => {
  const cases: Array<[string, (b: Buffer) => Buffer, number]> = [
    ['shorter than magic', (b) => b.subarray(0, 10), CORRUPT_MESSAGE],
    ['shorter than header', (b) => b.subarray(0, 40), CORRUPT_MESSAGE],
    ['magic 0', (b) => (b.writeInt8(0, MAGIC_OFFSET), b), UNSUPPORTED_FOR_MESSAGE_FORMAT],
    ['magic 1', (b) => (b.writeInt8(1, MAGIC_OFFSET), b), UNSUPPORTED_FOR_MESSAGE_FORMAT],
    ['magic 3', (b) => (b.writeInt8(3, MAGIC_OFFSET), b), CORRUPT_MESSAGE],
    ['batchLength < 49', (b) => (b.writeInt32BE(48, BATCH_LENGTH_OFFSET), b), CORRUPT_MESSAGE],
    ['batchLength past the end', (b) => (b.writeInt32BE(b.length, BATCH_LENGTH_OFFSET), b), CORRUPT_MESSAGE],
    ['truncated batch', (b) => b.subarray(0, b.length - 1), CORRUPT_MESSAGE],
    ['flipped record byte', (b) => ((b[b.length - 3]! ^= 0x01), b), CORRUPT_MESSAGE],
    ['flipped header byte under CRC', (b) => ((b[RECORDS_COUNT_OFFSET + 3]! ^= 0x01), b), CORRUPT_MESSAGE],
    ['recordsCount 0', (b) => (b.writeInt32BE(0, RECORDS_COUNT_OFFSET), resign(b), b), INVALID_RECORD],
    ['negative lastOffsetDelta', (b) => (b.writeInt32BE(-1, LAST_OFFSET_DELTA_OFFSET), resign(b), b), INVALID_RECORD],
    ['lastOffsetDelta < count - 1', (b) => (b.writeInt32BE(1, LAST_OFFSET_DELTA_OFFSET), resign(b), b), INVALID_RECORD],
    ['deep: count says fewer records than present', (b) => (b.writeInt32BE(2, RECORDS_COUNT_OFFSET), resign(b), b), INVALID_RECORD],
    ['deep: garbage record varints', (b) => (b.fill(0xff, BATCH_HEADER_SIZE, BATCH_HEADER_SIZE + 6), resign(b), b), CORRUPT_MESSAGE],
  ];
  for (const [name, corrupt, code] of cases) {
    const b = corrupt(sample());
    const v = validateBatch(b, 0, b.length, { deep: true });
    assert.ok(!v.ok, `${name} should be rejected`);
    if (!v.ok) {
      assert.is(v.errorCode, code, `${name}: ${v.reason}`);
      assert.type(v.reason, 'string');
    }
  }
  // More records claimed than present: only the deep check sees it.
  const more = sample();
  more.writeInt32BE(4, RECORDS_COUNT_OFFSET);
  more.writeInt32BE(5, LAST_OFFSET_DELTA_OFFSET);
  resign(more);
  assert.ok(validateBatch(more).ok, 'shallow check does not parse records');
  const deep = validateBatch(more, 0, more.length, { deep: true });
  assert.ok(!deep.ok && deep.errorCode === INVALID_RECORD);
  // Gaps are legal (compaction): lastOffsetDelta above count - 1.
  const gap = sample();
  gap.writeInt32BE(10, LAST_OFFSET_DELTA_OFFSET);
  resign(gap);
  assert.ok(validateBatch(gap, 0, gap.length, { deep: true }).ok);
});

test('setBaseOffset / setPartitionLeaderEpoch edit in place and keep the CRC valid', () => {
  const b = sample();
  const crc = b.readUInt32BE(CRC_OFFSET);
  setBaseOffset(b, 0, 2 ** 40 + 5);
  setPartitionLeaderEpoch(b, 0, 17);
  const h = readBatchHeader(b);
  assert.is(h.baseOffset, 2 ** 40 + 5);
  assert.is(h.partitionLeaderEpoch, 17);
  assert.is(b.readUInt32BE(CRC_OFFSET), crc);
  assert.ok(validateBatch(b).ok);
  assert.is(readRecords(b)[2]!.offset, 2 ** 40 + 7);
});

test('setLogAppendTime marks the batch LogAppendTime at the given time and re-signs it', () => {
  const b = sample();
  const before = readRecords(b).map((r) => r.timestamp);
  assert.ok(before.every((t) => t !== 1_700_000_000_123));
  setLogAppendTime(b, 0, 1_700_000_000_123);
  const h = readBatchHeader(b);
  assert.ok((h.attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0);
  assert.is(h.maxTimestamp, 1_700_000_000_123);
  assert.ok(validateBatch(b).ok, 'the CRC covers attributes and maxTimestamp: it must be computed again');
  assert.ok(readRecords(b).every((r) => r.timestamp === 1_700_000_000_123), 'every record reads the append time');
});

test('forEachBatch and batchPositions walk concatenated batches and stop at a partial tail', () => {
  const a = buildRecordBatch({ records: [{ value: 'a' }], baseOffset: 0 });
  const b = buildRecordBatch({ records: [{ value: 'b' }, { value: 'c' }], baseOffset: 1 });
  const c = buildRecordBatch({ records: [{ value: 'd' }], baseOffset: 3 });
  const all = Buffer.concat([a, b, c.subarray(0, c.length - 5)]);
  const seen: Array<[number, number]> = [];
  const end = forEachBatch(all, (pos, h) => seen.push([pos, h.baseOffset]));
  assert.equal(seen, [[0, 0], [a.length, 1]]);
  assert.is(end, a.length + b.length);
  assert.equal([...batchPositions(all)].map((p) => p.size), [a.length, b.length]);
  assert.is(batchSize(all, a.length), b.length);
  // A header-sized tail with a length too small to be a batch stops iteration instead of looping.
  const junk = Buffer.concat([a, Buffer.alloc(70)]);
  assert.is(forEachBatch(junk, () => {}), a.length);
});

test('a codec id Kafka does not have (5-7) throws UnsupportedCompressionError with the id', () => {
  const b = sample();
  b.writeInt16BE(5, ATTRIBUTES_OFFSET);
  resign(b);
  assert.ok(validateBatch(b, 0, b.length, { deep: true }).ok, 'compressed batches are stored without decompressing');
  try {
    readRecords(b);
    assert.unreachable();
  } catch (e) {
    assert.ok(e instanceof UnsupportedCompressionError);
    assert.is((e as UnsupportedCompressionError).code, 'UNSUPPORTED_COMPRESSION');
    assert.is((e as UnsupportedCompressionError).codec, 5);
  }
});

test('fixture: kcat uncompressed batch with keys validates, reads, and rebuilds byte-identical', () => {
  const b = fixture('kcat-none');
  const v = validateBatch(b, 0, b.length, { deep: true });
  assert.ok(v.ok);
  if (!v.ok) return;
  const rs = readRecords(b);
  assert.equal(rs.map((r) => [str(r.key), str(r.value)]), [['k1', 'hello'], ['k2', 'world'], ['', 'no-key-value'], ['k3', '']]);
  const h = v.header;
  const rebuilt = buildRecordBatch({
    baseOffset: h.baseOffset, partitionLeaderEpoch: h.partitionLeaderEpoch, producerId: h.producerId,
    producerEpoch: h.producerEpoch, baseSequence: h.baseSequence, timestamp: h.baseTimestamp,
    records: rs.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp })),
  });
  assert.is(rebuilt.toString('hex'), b.toString('hex'));
});

test('fixture: KafkaJS batch with headers validates, reads, and rebuilds byte-identical', () => {
  const b = fixture('kafkajs-headers');
  const v = validateBatch(b, 0, b.length, { deep: true });
  assert.ok(v.ok);
  if (!v.ok) return;
  const rs = readRecords(b);
  assert.equal(rs.map((r) => [r.offset, r.timestamp, str(r.key), str(r.value)]), [
    [0, 1700000000000, 'user-1', 'first'],
    [1, 1700000000005, null, 'second'],
  ]);
  assert.equal(rs[0]!.headers.map((x) => [x.key, str(x.value)]), [['trace', 'abc'], ['empty', '']]);
  assert.is(v.header.producerId, -1);
  assert.is(v.header.producerEpoch, 0);
  const h = v.header;
  const rebuilt = buildRecordBatch({
    baseOffset: h.baseOffset, partitionLeaderEpoch: h.partitionLeaderEpoch, producerId: h.producerId,
    producerEpoch: h.producerEpoch, baseSequence: h.baseSequence, timestamp: h.baseTimestamp,
    records: rs.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headers })),
  });
  assert.is(rebuilt.toString('hex'), b.toString('hex'));
});

test('fixture: kcat gzip batch validates and decompresses', () => {
  const b = fixture('kcat-gzip');
  const v = validateBatch(b, 0, b.length, { deep: true });
  assert.ok(v.ok);
  assert.is(readBatchHeader(b).attributes & 7, 1);
  const rs = readRecords(b);
  assert.equal(rs.map((r) => [str(r.key), str(r.value)]), [['g1', 'a'.repeat(300)], ['g2', 'b'.repeat(300)]]);
  // Flip one compressed byte: the CRC catches it before anything is decompressed.
  const bad = Buffer.from(b);
  bad[bad.length - 10]! ^= 0x40;
  const r = validateBatch(bad);
  assert.ok(!r.ok && r.errorCode === CORRUPT_MESSAGE);
});

test.run();
