// The client's pure pieces: the consumer's record decoder against the protocol's batch builder and reader
// (plain and every codec, headers, null keys and values, mid-batch start, control batches, long timestamp deltas,
// corrupt input), bootstrap parsing, and the typed errors' facts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildRecordBatch, readRecords, CONTROL_FLAG, ATTRIBUTES_OFFSET, CRC_OFFSET, CRC_START } from '../../src/protocol/record-batch.ts';
import { crc32c } from '../../src/protocol/crc32c.ts';
import { decodeRecords, FetchedRecords, nextFetchOffset, type DecodedRecord } from '../../src/client/record-decoder.ts';
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

/** A transaction marker (control batch) of producer 7 at `offset`: COMMIT (type 1) or ABORT (type 0). */
function marker(offset: number, type: 0 | 1): Buffer {
  const key = Buffer.from([0, 0, 0, type]);
  const m = buildRecordBatch({ records: [{ key, value: Buffer.from([0, 0, 0, 0, 0, 0]) }], baseOffset: offset, producerId: 7, producerEpoch: 0, isTransactional: true });
  m.writeInt16BE(m.readInt16BE(ATTRIBUTES_OFFSET) | CONTROL_FLAG, ATTRIBUTES_OFFSET);
  m.writeUInt32BE(crc32c(m, CRC_START, m.length), CRC_OFFSET);
  return m;
}

test('decoded in slices, even inside a batch, the records are those decoded whole; next follows what was taken', () => {
  const values = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ key: `${tag}${i}`, value: `${tag}-${i}`, timestamp: 1000 + i }));
  const txn = (base: number, n: number) => buildRecordBatch({ records: values(n, `t${base}`), baseOffset: base, producerId: 7, producerEpoch: 0, baseSequence: base, isTransactional: true });
  const buf = Buffer.concat([
    buildRecordBatch({ records: values(5, 'a'), baseOffset: 0 }),
    txn(5, 3),
    marker(8, 0),
    buildRecordBatch({ records: values(7, 'b'), baseOffset: 9, compression: 'gzip' }),
    marker(16, 1),
  ]);
  for (const aborted of [undefined, [{ producerId: 7n, firstOffset: 5n }]]) {
    for (const from of [0n, 2n, 6n]) {
      const whole: DecodedRecord[] = [];
      const wholeNext = decodeRecords(buf, from, whole, aborted);
      assert.is(wholeNext, 17n);
      assert.is(nextFetchOffset(buf, from), wholeNext, 'the next fetch offset, from the headers alone');
      for (const slice of [1, 2, 3, 4, 100]) {
        const fetched = new FetchedRecords(buf, from, aborted);
        const got: DecodedRecord[] = [];
        let guard = 0;
        while (!fetched.done && guard++ < 100) {
          const out: DecodedRecord[] = [];
          fetched.decode(out, slice);
          assert.ok(out.length <= slice, `a slice holds at most ${slice}`);
          if (out.length > 0 && !fetched.done) {
            const last = out[out.length - 1]!.offset;
            // Inside a batch the position is after the last record taken; at a batch's end, after the batch (and
            // any markers or aborted batches passed on the way to the next records).
            assert.ok(fetched.next >= last + 1n, `next ${fetched.next} after ${last}`);
          }
          got.push(...out);
        }
        assert.ok(fetched.done);
        assert.equal(got, whole, `slices of ${slice} from ${from}${aborted ? ', read_committed' : ''}`);
        assert.is(fetched.next, wholeNext);
      }
      const offsets = whole.map((r) => Number(r.offset));
      assert.equal(offsets, [0, 1, 2, 3, 4, ...(aborted ? [] : [5, 6, 7]), 9, 10, 11, 12, 13, 14, 15].filter((o) => o >= Number(from)));
    }
  }
  // A slice ending inside a batch: next is after its last record.
  const fetched = new FetchedRecords(buildRecordBatch({ records: values(5, 'c'), baseOffset: 40 }), 40n);
  const out: DecodedRecord[] = [];
  fetched.decode(out, 2);
  assert.equal(out.map((r) => r.offset), [40n, 41n]);
  assert.is(fetched.next, 42n);
  assert.not.ok(fetched.done);
});

test('records that stop decoding throw, and next stays after the last record that decoded', () => {
  const good = buildRecordBatch({ records, baseOffset: 0 });
  const bad = buildRecordBatch({ records, baseOffset: 3 });
  bad[61] = 0x7e; // the second batch's first record's length: not what its fields take
  const fetched = new FetchedRecords(Buffer.concat([good, bad]), 0n);
  const out: DecodedRecord[] = [];
  assert.throws(() => fetched.decode(out));
  assert.equal(out.map((r) => r.offset), [0n, 1n, 2n]);
  assert.is(fetched.next, 3n, 'a consumer refetches from the batch that failed');
});

test('offsets past the small-delta table and deltas in a compacted batch are exact', () => {
  // A batch of 5,000 records: deltas 0-4095 come from the table, the rest from BigInt().
  const big = buildRecordBatch({ records: Array.from({ length: 5000 }, (_, i) => ({ value: `v${i}` })), baseOffset: 2 ** 40 });
  const out: DecodedRecord[] = [];
  decodeRecords(big, 0n, out);
  assert.is(out.length, 5000);
  assert.ok(out.every((r, i) => r.offset === 2n ** 40n + BigInt(i)));
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
