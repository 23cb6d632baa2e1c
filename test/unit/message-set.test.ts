// Legacy message sets (message formats v0 and v1) and their conversions to and from RecordBatch v2: what
// Produce v0-v2 and Fetch v0-v3 need. Fixtures are message sets kafka-python 2.0.2's LegacyRecordBatchBuilder
// wrote (an independent encoder), so the layout and CRC-32 are checked against another implementation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gunzipSync, gzipSync } from 'node:zlib';
import { crc32 } from '../../src/protocol/crc32.ts';
import { buildMessageSet, readMessages, type LegacyMessage } from '../../src/protocol/message-set.ts';
import { messageSetToRecordBatch, recordBatchesToMessageSet } from '../../src/protocol/message-set-convert.ts';
import {
  buildRecordBatch, readBatchHeader, readRecords, setBaseOffset, setLogAppendTime, validateBatch,
  CORRUPT_MESSAGE, INVALID_RECORD, RecordBatchError, TIMESTAMP_TYPE_LOG_APPEND, CONTROL_FLAG, ATTRIBUTES_OFFSET, CRC_OFFSET, CRC_START,
} from '../../src/protocol/record-batch.ts';
import { UNSUPPORTED_COMPRESSION_TYPE } from '../../src/protocol/record-batch-errors.ts';
import { crc32c } from '../../src/protocol/crc32c.ts';

// kafka-python: three messages (key 'k0' value 'v0'; null key, 'value-1'; empty key, null value), offsets 0-2,
// timestamps 1700000000000, ...500, 1699999999000 in v1; uncompressed and gzip.
const KAFKA_PYTHON = {
  v0: Buffer.from('0000000000000000000000128697724c0000000000026b3000000002763000000000000000010000001598dda4ae0000ffffffff0000000776616c75652d3100000000000000020000000e3d314895000000000000ffffffff', 'hex'),
  v0gzip: Buffer.from('00000000000000000000005858f397ff0001ffffffff0000004a1f8b080071c3136b02ff63608003a1b6e9453e601653b601882c3380ca3002b1e88cbb4bd63130fc0702208fbd2c31a73455d710aa800988f96c0d3da642b82045001aea087a59000000', 'hex'),
  v1: Buffer.from('00000000000000000000001a74aa514001000000018bcfe56800000000026b3000000002763000000000000000010000001da70abf6101000000018bcfe569f4ffffffff0000000776616c75652d3100000000000000020000001637182e6a01000000018bcfe5641800000000ffffffff', 'hex'),
  v1gzip: Buffer.from('00000000000000000000006e865a848c01010000000000000000ffffffff000000581f8b080071c3136b02ff63608003a99255810e8c400663f7f9a7192011a66c0310596600550192945dceb53f11a62af3cb7f200072d8cb12734a53750da10a998058cc5c422f0ba6304502240c520c0086950ade71000000', 'hex'),
};
const TS = [1_700_000_000_000, 1_700_000_000_500, 1_699_999_999_000];
const str = (b: Buffer | null) => (b === null ? null : b.toString('utf8'));
const view = (rs: Array<{ key: Buffer | null; value: Buffer | null; timestamp: number }>) => rs.map((r) => [str(r.key), str(r.value), r.timestamp]);

test('CRC-32 is zlib\'s (IEEE): the check value and node:zlib agree', () => {
  assert.is(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.is(crc32(Buffer.alloc(0)), 0);
});

test('reads kafka-python\'s v0 and v1 message sets, CRCs checked, null and empty keys and values kept', () => {
  const v0 = readMessages(KAFKA_PYTHON.v0);
  assert.equal(v0.map((m) => [m.offset, m.magic, m.timestamp, str(m.key), str(m.value)]), [[0, 0, -1, 'k0', 'v0'], [1, 0, -1, null, 'value-1'], [2, 0, -1, '', null]]);
  const v1 = readMessages(KAFKA_PYTHON.v1);
  assert.equal(v1.map((m) => [m.offset, m.magic, m.timestamp]), [[0, 1, TS[0]], [1, 1, TS[1]], [2, 1, TS[2]]]);
  const wrapper = readMessages(KAFKA_PYTHON.v1gzip);
  assert.is(wrapper.length, 1);
  assert.is(wrapper[0]!.attributes & 7, 1);
  assert.equal(readMessages(gunzipSync(wrapper[0]!.value!)).map((m) => m.offset), [0, 1, 2], 'v1 inner offsets are relative');
});

test('writing gives kafka-python\'s bytes back (uncompressed v0 and v1)', () => {
  assert.equal(buildMessageSet(readMessages(KAFKA_PYTHON.v0)), KAFKA_PYTHON.v0);
  assert.equal(buildMessageSet(readMessages(KAFKA_PYTHON.v1)), KAFKA_PYTHON.v1);
});

test('a bad CRC, a broken length or a foreign magic is CORRUPT_MESSAGE; a partial last entry is ignored', () => {
  const bad = Buffer.from(KAFKA_PYTHON.v1);
  bad[bad.length - 1] ^= 1;
  for (const b of [bad, Buffer.concat([KAFKA_PYTHON.v0.subarray(0, 12), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])])]) {
    try {
      messageSetToRecordBatch(b);
      assert.unreachable('accepted');
    } catch (err) {
      assert.instance(err, RecordBatchError);
      assert.is((err as RecordBatchError).errorCode, CORRUPT_MESSAGE);
    }
  }
  const size = (b: Buffer) => b.readInt32BE(8) + 12;
  const first = KAFKA_PYTHON.v0.subarray(0, size(KAFKA_PYTHON.v0));
  assert.is(readMessages(Buffer.concat([first, KAFKA_PYTHON.v0.subarray(size(KAFKA_PYTHON.v0), size(KAFKA_PYTHON.v0) + 20)])).length, 1);
  assert.throws(() => messageSetToRecordBatch(KAFKA_PYTHON.v0.subarray(0, 20)), (e: RecordBatchError) => e.errorCode === CORRUPT_MESSAGE);
});

test('up-conversion: each of the four message sets becomes one valid RecordBatch v2 with the same records', () => {
  for (const [name, set] of Object.entries(KAFKA_PYTHON)) {
    const batch = messageSetToRecordBatch(set);
    const check = validateBatch(batch, 0, batch.length, { deep: true });
    assert.ok(check.ok && check.size === batch.length, `${name}: one valid batch`);
    const h = readBatchHeader(batch);
    assert.is(h.recordsCount, 3);
    assert.is(h.producerId, -1);
    assert.is(h.attributes & 7, name.endsWith('gzip') ? 1 : 0, `${name}: compression kept`);
    assert.is(h.attributes & TIMESTAMP_TYPE_LOG_APPEND, 0);
    const records = readRecords(batch);
    assert.equal(records.map((r) => r.offset), [0, 1, 2]);
    const ts = name.startsWith('v0') ? [-1, -1, -1] : TS;
    assert.equal(view(records), [['k0', 'v0', ts[0]], [null, 'value-1', ts[1]], ['', null, ts[2]]], name);
    assert.is(h.maxTimestamp, Math.max(...ts));
  }
});

test('up-conversion: a LogAppendTime stamp on the converted batch gives every record the broker time', () => {
  const batch = messageSetToRecordBatch(KAFKA_PYTHON.v1gzip);
  setLogAppendTime(batch, 0, 1_800_000_000_000);
  assert.ok(validateBatch(batch).ok);
  assert.equal(readRecords(batch).map((r) => r.timestamp), [1_800_000_000_000, 1_800_000_000_000, 1_800_000_000_000]);
});

test('up-conversion: several wrappers and loose messages in one set become one batch in order', () => {
  const set = Buffer.concat([KAFKA_PYTHON.v1gzip, KAFKA_PYTHON.v1, KAFKA_PYTHON.v1gzip]);
  const records = readRecords(messageSetToRecordBatch(set));
  assert.is(records.length, 9);
  assert.equal(records.map((r) => r.offset), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(records.map((r) => str(r.value)), ['v0', 'value-1', null, 'v0', 'value-1', null, 'v0', 'value-1', null]);
});

function wrapper(magic: 0 | 1, codec: number, inner: Buffer | null): Buffer {
  return buildMessageSet([{ offset: 0, magic, attributes: codec, timestamp: magic ? 5 : -1, key: null, value: inner }]);
}

test('up-conversion: Kafka\'s LogValidator refusals (nested compression, mixed magic, null or empty wrapper, corrupt or unknown codecs)', () => {
  const cases: Array<[string, Buffer, number]> = [
    ['nested compression', wrapper(1, 1, gzipSync(KAFKA_PYTHON.v1gzip)), INVALID_RECORD],
    ['inner magic 0 in a v1 wrapper', wrapper(1, 1, gzipSync(KAFKA_PYTHON.v0)), INVALID_RECORD],
    ['null wrapper value', wrapper(1, 1, null), INVALID_RECORD],
    ['empty wrapper', wrapper(1, 1, gzipSync(Buffer.alloc(0))), INVALID_RECORD],
    ['undecompressable gzip', wrapper(0, 1, Buffer.from('not gzip')), CORRUPT_MESSAGE],
    ['undecompressable snappy', wrapper(1, 2, Buffer.from('\xff\xff\xff\xff\xff', 'latin1')), CORRUPT_MESSAGE],
    ['undecompressable lz4', wrapper(0, 3, Buffer.from('x')), CORRUPT_MESSAGE],
    ['no such codec', wrapper(1, 5, Buffer.from('x')), UNSUPPORTED_COMPRESSION_TYPE],
  ];
  for (const [name, set, code] of cases) {
    try {
      messageSetToRecordBatch(set);
      assert.unreachable(`${name}: accepted`);
    } catch (err) {
      assert.instance(err, RecordBatchError, name);
      assert.is((err as RecordBatchError).errorCode, code, name);
    }
  }
});

function stored(baseOffset: number, compression: 'none' | 'gzip', logAppendTime?: number): Buffer {
  const b = buildRecordBatch({
    baseOffset,
    compression,
    timestamp: TS[0],
    records: [
      { key: 'k0', value: 'v0', timestamp: TS[0], headers: [{ key: 'h', value: 'dropped' }] },
      { key: null, value: 'value-1', timestamp: TS[1] },
      { key: '', value: null, timestamp: TS[2] },
    ],
  });
  if (logAppendTime !== undefined) setLogAppendTime(b, 0, logAppendTime);
  return b;
}

/** The records a legacy consumer sees in a message set: wrappers opened, v1 relative offsets made absolute. */
function consume(set: Buffer): Array<LegacyMessage & { wrapperAttributes?: number }> {
  const out: Array<LegacyMessage & { wrapperAttributes?: number }> = [];
  for (const m of readMessages(set)) {
    if ((m.attributes & 7) === 0) {
      out.push(m);
      continue;
    }
    const inner = readMessages(gunzipSync(m.value!));
    const last = inner[inner.length - 1]!.offset;
    for (const i of inner) out.push({ ...i, offset: m.magic === 1 ? m.offset - last + i.offset : i.offset, wrapperAttributes: m.attributes, timestamp: m.attributes & 8 ? m.timestamp : i.timestamp });
  }
  return out;
}

test('down-conversion to v0 and v1, uncompressed and gzip: same records and offsets, v1 keeps timestamps', () => {
  for (const compression of ['none', 'gzip'] as const) {
    const log = Buffer.concat([stored(10, compression), stored(13, compression)]);
    for (const magic of [0, 1] as const) {
      const set = recordBatchesToMessageSet(log, magic, 10);
      const msgs = consume(set);
      assert.equal(msgs.map((m) => m.offset), [10, 11, 12, 13, 14, 15], `${compression} v${magic}`);
      assert.ok(msgs.every((m) => m.magic === magic));
      const ts = magic === 0 ? [-1, -1, -1] : TS;
      assert.equal(view(msgs.slice(0, 3)), [['k0', 'v0', ts[0]], [null, 'value-1', ts[1]], ['', null, ts[2]]]);
      const outer = readMessages(set);
      assert.is(outer.length, compression === 'gzip' ? 2 : 6, 'one wrapper per compressed batch');
      if (compression === 'gzip') {
        assert.equal(outer.map((m) => m.offset), [12, 15], 'a wrapper carries its last inner offset');
        if (magic === 1) assert.equal(outer.map((m) => m.timestamp), [Math.max(...TS), Math.max(...TS)], 'a CreateTime wrapper carries the max timestamp');
      }
      // And back: what a legacy producer would send again reads as the same records.
      assert.equal(view(readRecords(messageSetToRecordBatch(set))), view(msgs));
    }
  }
});

test('down-conversion of a LogAppendTime batch: v1 messages and wrappers carry the append time and its type bit', () => {
  for (const compression of ['none', 'gzip'] as const) {
    const msgs = consume(recordBatchesToMessageSet(stored(0, compression, 1_800_000_000_000), 1, 0));
    assert.equal(msgs.map((m) => m.timestamp), [1_800_000_000_000, 1_800_000_000_000, 1_800_000_000_000], compression);
    assert.ok(msgs.every((m) => (m.attributes & 8) !== 0));
    if (compression === 'gzip') assert.ok(msgs.every((m) => ((m.wrapperAttributes ?? 0) & 8) !== 0));
    assert.ok(consume(recordBatchesToMessageSet(stored(0, compression, 1_800_000_000_000), 0, 0)).every((m) => m.timestamp === -1 && m.attributes === 0));
  }
});

test('down-conversion: records below the fetch offset are dropped from uncompressed batches, kept in wrappers', () => {
  assert.equal(consume(recordBatchesToMessageSet(stored(10, 'none'), 1, 11)).map((m) => m.offset), [11, 12]);
  assert.equal(consume(recordBatchesToMessageSet(stored(10, 'gzip'), 1, 11)).map((m) => m.offset), [10, 11, 12]);
  assert.is(recordBatchesToMessageSet(stored(10, 'none'), 1, 13).length, 0);
});

test('down-conversion: control batches are left out, a partial batch at the end too, and maxBytes bounds all but the first', () => {
  const control = stored(3, 'none');
  control.writeInt16BE(control.readInt16BE(ATTRIBUTES_OFFSET) | CONTROL_FLAG, ATTRIBUTES_OFFSET);
  control.writeUInt32BE(crc32c(control, CRC_START, control.length), CRC_OFFSET);
  const log = Buffer.concat([stored(0, 'none'), control, stored(6, 'none')]);
  assert.equal(consume(recordBatchesToMessageSet(log, 0, 0)).map((m) => m.offset), [0, 1, 2, 6, 7, 8]);
  const partial = Buffer.concat([stored(0, 'none'), stored(3, 'none').subarray(0, 30)]);
  assert.equal(consume(recordBatchesToMessageSet(partial, 1, 0)).map((m) => m.offset), [0, 1, 2]);
  const one = recordBatchesToMessageSet(stored(0, 'none'), 1, 0);
  assert.equal(consume(recordBatchesToMessageSet(log, 1, 0, one.length + 10)).map((m) => m.offset), [0, 1, 2], 'the second batch would pass maxBytes');
  assert.equal(consume(recordBatchesToMessageSet(log, 1, 0, 1)).map((m) => m.offset), [0, 1, 2], 'the first batch always comes');
  assert.is(recordBatchesToMessageSet(Buffer.alloc(0), 0, 0).length, 0);
});

test('down-conversion: a zstd batch is UNSUPPORTED_COMPRESSION_TYPE (KIP-110: v0 and v1 have no zstd)', () => {
  const b = stored(0, 'none');
  b.writeInt16BE(4, ATTRIBUTES_OFFSET); // zstd
  b.writeUInt32BE(crc32c(b, CRC_START, b.length), CRC_OFFSET);
  assert.throws(() => recordBatchesToMessageSet(b, 1, 0), (e: RecordBatchError) => e.errorCode === UNSUPPORTED_COMPRESSION_TYPE);
});

test('round trip at arbitrary offsets: v2 -> v1 -> v2 keeps keys, values and timestamps', () => {
  const b = stored(0, 'gzip');
  setBaseOffset(b, 0, 1_000_000);
  const back = readRecords(messageSetToRecordBatch(recordBatchesToMessageSet(b, 1, 1_000_000)));
  assert.equal(view(back), view(readRecords(b)));
});

test.run();
