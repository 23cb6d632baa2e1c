// The snappy, lz4 and zstd codecs (src/protocol/compression): round trips, the framings real clients write
// (raw and xerial snappy, lz4 frames with the KIP-57 and the broken v0 header checksum), record batches kcat
// (librdkafka) produced with each codec (test/fixtures/record-batches/capture.ts), message format v0/v1
// conversion in every legacy codec, and the keyless-record check on a compressed batch.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { compress, decompress, CodecError } from '../../src/protocol/compression/codecs.ts';
import { lz4Compress, xxh32 } from '../../src/protocol/compression/lz4-frame.ts';
import {
  BATCH_HEADER_SIZE,
  buildRecordBatch,
  readBatchHeader,
  readRecords,
  recordsBody,
  validateBatch,
  CORRUPT_MESSAGE,
  RecordBatchError,
  type CompressionCodec,
} from '../../src/protocol/record-batch.ts';
import { buildMessageSet, readMessages } from '../../src/protocol/message-set.ts';
import { messageSetToRecordBatch, recordBatchesToMessageSet } from '../../src/protocol/message-set-convert.ts';
import { keylessRecordIndexes } from '../../src/log/batch-filter.ts';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/record-batches/${name}.bin`, import.meta.url)));
const CODECS = ['snappy', 'lz4', 'zstd'] as const;
const ID: Record<CompressionCodec, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

test('round trips: empty, small, and past one block (64 KB lz4, 32 KB xerial snappy) of mixed data', () => {
  const inputs = [Buffer.alloc(0), Buffer.from('k'), Buffer.from('abc'.repeat(100)), Buffer.concat([randomBytes(70_000), Buffer.alloc(150_000, 7), randomBytes(10)])];
  for (const codec of ['gzip', ...CODECS] as const) {
    for (const input of inputs) {
      const z = compress(codec, input);
      assert.ok(decompress(codec, z).equals(input), `${codec} of ${input.length} bytes`);
      if (input.length === 150_000 + 70_010) assert.ok(z.length < input.length * 0.5, `${codec} compresses`);
    }
  }
});

test('corrupt bodies raise CodecError, and a batch holding one is CORRUPT_MESSAGE', () => {
  for (const codec of CODECS) {
    assert.throws(() => decompress(codec, Buffer.from('\xff\xff\xff\xff\xff\xff\xff\xff', 'latin1')), (e: unknown) => e instanceof CodecError && e.codec === codec, codec);
    const b = buildRecordBatch({ records: [{ key: 'k', value: 'v'.repeat(50) }], compression: codec, timestamp: 1 });
    b.fill(0xff, BATCH_HEADER_SIZE, BATCH_HEADER_SIZE + 4);
    assert.throws(() => recordsBody(b), (e: unknown) => e instanceof RecordBatchError && e.errorCode === CORRUPT_MESSAGE, codec);
  }
});

test('snappy: raw blocks (librdkafka) and xerial framing (the Java client) both decompress; Kastor writes xerial', () => {
  const raw = fixture('kcat-snappy').subarray(BATCH_HEADER_SIZE);
  const body = decompress('snappy', raw);
  const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
  const len = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  // snappy-java's SnappyOutputStream: the header, then one length-prefixed raw block per chunk (two here).
  const xerial = Buffer.concat([header, len(raw.length), raw, len(raw.length), raw]);
  assert.ok(decompress('snappy', xerial).equals(Buffer.concat([body, body])));
  const ours = compress('snappy', body);
  assert.ok(ours.subarray(0, 16).equals(header), 'xerial header, version 1, compatible 1');
  assert.throws(() => decompress('snappy', Buffer.concat([header, len(raw.length + 5), raw])), (e: unknown) => e instanceof CodecError, 'a chunk past the end');
});

test('lz4: frames with the KIP-57 header checksum and with the broken v0 one both decompress', () => {
  const data = Buffer.from('lz4 '.repeat(500));
  const good = lz4Compress(data);
  const broken = lz4Compress(data, true);
  assert.is(good[6], (xxh32(0, good, 4, 2) >>> 8) & 0xff, 'HC over the descriptor (FLG, BD)');
  assert.is(broken[6], (xxh32(0, broken, 0, 6) >>> 8) & 0xff, 'HC over magic and descriptor, as Kafka writes v0');
  assert.equal([good[4], good[5]], [0x60, 0x40], 'version 1, independent blocks, 64 KB blocks (as librdkafka and Java)');
  assert.ok(decompress('lz4', good).equals(data));
  assert.ok(decompress('lz4', broken).equals(data));
});

for (const codec of CODECS) {
  test(`fixture: kcat (librdkafka 2.0.2) ${codec} batch validates, reads, and rebuilds with the same codec`, () => {
    const b = fixture(`kcat-${codec}`);
    const h = readBatchHeader(b);
    assert.is(h.attributes & 7, ID[codec], `kcat sent ${codec}`);
    assert.ok(validateBatch(b, 0, b.length, { deep: true }).ok);
    const records = readRecords(b);
    const want = [['c1', 'a'], ['c2', 'b'], ['c1', 'c']].map(([k, v]) => [k, v!.repeat(200)]);
    assert.equal(records.map((r) => [r.key!.toString(), r.value!.toString()]), want);
    assert.equal(records.map((r) => r.offset), [0, 1, 2]);
    const rebuilt = buildRecordBatch({ records: records.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp })), compression: codec, timestamp: h.baseTimestamp });
    assert.is(readBatchHeader(rebuilt).attributes & 7, ID[codec]);
    assert.ok(validateBatch(rebuilt, 0, rebuilt.length, { deep: true }).ok);
    assert.ok(recordsBody(rebuilt).equals(recordsBody(b)), 'the same records body as kcat wrote');
  });
}

test('message formats v0/v1: snappy and lz4 wrappers convert up to a batch of their codec and back down', () => {
  for (const codec of ['snappy', 'lz4'] as const) {
    for (const magic of [0, 1] as const) {
      const inner = buildMessageSet([
        { offset: 0, magic, attributes: 0, timestamp: magic ? 100 : -1, key: Buffer.from('a'), value: Buffer.from('one') },
        { offset: magic ? 1 : 1, magic, attributes: 0, timestamp: magic ? 101 : -1, key: Buffer.from('b'), value: Buffer.from('two') },
      ]);
      const value = codec === 'lz4' && magic === 0 ? lz4Compress(inner, true) : compress(codec, inner);
      const set = buildMessageSet([{ offset: 1, magic, attributes: ID[codec], timestamp: magic ? 101 : -1, key: null, value }]);
      const batch = messageSetToRecordBatch(set);
      const name = `${codec} v${magic}`;
      assert.is(readBatchHeader(batch).attributes & 7, ID[codec], `${name}: the batch keeps the codec`);
      assert.equal(readRecords(batch).map((r) => [r.key!.toString(), r.value!.toString()]), [['a', 'one'], ['b', 'two']], name);
      const down = readMessages(recordBatchesToMessageSet(batch, magic, 0));
      assert.is(down.length, 1, `${name}: one wrapper`);
      assert.is(down[0]!.attributes & 7, ID[codec], `${name}: wrapper codec`);
      if (codec === 'lz4') {
        const f = down[0]!.value!;
        const hc = magic === 0 ? xxh32(0, f, 0, 6) >>> 8 : xxh32(0, f, 4, 2) >>> 8;
        assert.is(f[6], hc & 0xff, `${name}: the header checksum Kafka writes for v${magic}`);
      }
      const messages = readMessages(decompress(codec, down[0]!.value!));
      assert.equal(messages.map((m) => [m.key!.toString(), m.value!.toString()]), [['a', 'one'], ['b', 'two']], name);
    }
  }
});

test('the keyless-record check reads compressed batches of every codec', () => {
  for (const codec of CODECS) {
    const b = buildRecordBatch({ records: [{ key: 'k', value: 'v' }, { key: null, value: 'no key' }, { key: 'j', value: null }], compression: codec, timestamp: 1 });
    assert.equal(keylessRecordIndexes(b), [1], codec);
    assert.equal(keylessRecordIndexes(fixture(`kcat-${codec}`)), [], `kcat ${codec}`);
  }
});

test.run();
