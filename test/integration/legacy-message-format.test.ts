// Message formats v0 and v1 at a live broker, as Kafka 3.9 serves them with its log at format v2: Produce v0-v2
// message sets (loose and gzip-wrapped) are stored as RecordBatch v2 and read back by a modern client (Fetch v12
// and Kastor's consumer), Fetch v0-v3 down-converts what any producer wrote, and ListOffsets v0 answers old-style
// offset lists. Timestamps follow the topic: v1's CreateTime kept, v0's none (-1), LogAppendTime stamped by the
// broker. A bad CRC is CORRUPT_MESSAGE.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gunzipSync } from 'node:zlib';
import { startSingleBroker, type SingleBroker } from '../helpers/single-broker.ts';
import { BrokerConnection, Kafka, type ConsumerRecord } from '../../src/client/index.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { buildMessageSet, readMessages, type LegacyMagic, type LegacyMessage } from '../../src/protocol/message-set.ts';
import { buildRecordBatch, readRecords } from '../../src/protocol/record-batch.ts';
import { gzipSync } from 'node:zlib';

let env: SingleBroker;
let conn: BrokerConnection;

test.before(async () => {
  env = await startSingleBroker(['--auto-create-topics=false']);
  conn = await BrokerConnection.connect({ host: '127.0.0.1', port: env.broker.port });
  const created = await conn.request(ApiKey.CreateTopics, 4, {
    topics: [
      { name: 'legacy', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
      { name: 'legacy-appended', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] },
    ],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  assert.equal(created.topics.map((t) => t.errorCode), [ErrorCode.NONE, ErrorCode.NONE]);
});
test.after(async () => {
  conn?.close();
  await env?.close();
});

const T = 1_600_000_000_000;
const str = (b: Buffer | null) => (b === null ? null : b.toString('utf8'));

function messages(magic: LegacyMagic, values: Array<string | null>, keys: Array<string | null>, ts: number): LegacyMessage[] {
  return values.map((v, i) => ({ offset: i, magic, attributes: 0, timestamp: magic === 0 ? -1 : ts + i, key: keys[i] === null ? null : Buffer.from(keys[i]!), value: v === null ? null : Buffer.from(v) }));
}

function gzipped(inner: LegacyMessage[]): Buffer {
  const magic = inner[0]!.magic;
  // A v1 producer writes relative inner offsets and the last one as the wrapper's (librdkafka does).
  return buildMessageSet([{ offset: inner.length - 1, magic, attributes: 1, timestamp: magic === 0 ? -1 : Math.max(...inner.map((m) => m.timestamp)), key: null, value: gzipSync(buildMessageSet(inner)) }]);
}

async function produce(topic: string, apiVersion: number, records: Buffer) {
  const r = await conn.request(ApiKey.Produce, apiVersion, { transactionalId: null, acks: 1, timeoutMs: 5_000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
  return r.responses[0]!.partitionResponses[0]!;
}

async function fetchAt(topic: string, apiVersion: number, offset: bigint) {
  const r = await conn.request(ApiKey.Fetch, apiVersion, {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
    topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
  });
  return r.responses[0]!.partitions[0]!;
}

/** What a legacy consumer reads: wrappers opened (v1 relative offsets made absolute), LogAppendTime from the wrapper. */
function legacyView(set: Buffer): Array<[number, number, number, string | null, string | null]> {
  const out: Array<[number, number, number, string | null, string | null]> = [];
  for (const m of readMessages(set)) {
    if ((m.attributes & 7) === 0) {
      out.push([m.offset, m.magic, m.timestamp, str(m.key), str(m.value)]);
      continue;
    }
    const inner = readMessages(gunzipSync(m.value!));
    const last = inner[inner.length - 1]!.offset;
    for (const i of inner) out.push([m.magic === 1 ? m.offset - last + i.offset : i.offset, i.magic, m.attributes & 8 ? m.timestamp : i.timestamp, str(i.key), str(i.value)]);
  }
  return out;
}

test('ApiVersions advertises Produce, Fetch and ListOffsets from v0', async () => {
  const r = await conn.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'legacy-test', clientSoftwareVersion: '1' });
  const range = (k: number) => r.apiKeys.find((a) => a.apiKey === k)!;
  assert.is(range(ApiKey.Produce).minVersion, 0);
  assert.is(range(ApiKey.Fetch).minVersion, 0);
  assert.is(range(ApiKey.ListOffsets).minVersion, 0);
});

test('Produce v0-v2 message sets, loose and gzip, are stored as record batches a modern Fetch reads', async () => {
  const sent: Array<[number, Buffer]> = [
    [0, buildMessageSet(messages(0, ['a0', 'a1'], ['k', null], 0))],
    [1, gzipped(messages(0, ['b0', null, 'b2'], [null, 'k', ''], 0))],
    [2, buildMessageSet(messages(1, ['c0', 'c1'], ['k', 'k'], T))],
    [2, gzipped(messages(1, ['d0', 'd1', 'd2'], [null, null, null], T + 100))],
    [7, buildRecordBatch({ records: [{ key: 'k', value: 'e0', timestamp: T + 200 }] })],
  ];
  const offsets: bigint[] = [];
  for (const [v, records] of sent) {
    const r = await produce('legacy', v, records);
    assert.is(r.errorCode, ErrorCode.NONE, `Produce v${v}: ${r.errorMessage}`);
    offsets.push(r.baseOffset);
    if (v >= 2) assert.is(r.logAppendTimeMs, -1n, 'a CreateTime topic answers -1');
  }
  assert.equal(offsets, [0n, 2n, 5n, 7n, 10n]);
  const p = await fetchAt('legacy', 12, 0n);
  assert.is(p.errorCode, ErrorCode.NONE);
  const records = [];
  for (let pos = 0; pos < p.records!.length; pos += p.records!.readInt32BE(pos + 8) + 12) records.push(...readRecords(p.records!, pos));
  assert.equal(
    records.map((r) => [r.offset, r.timestamp, str(r.key), str(r.value)]),
    [
      [0, -1, 'k', 'a0'], [1, -1, null, 'a1'],
      [2, -1, null, 'b0'], [3, -1, 'k', null], [4, -1, '', 'b2'],
      [5, T, 'k', 'c0'], [6, T + 1, 'k', 'c1'],
      [7, T + 100, null, 'd0'], [8, T + 101, null, 'd1'], [9, T + 102, null, 'd2'],
      [10, T + 200, 'k', 'e0'],
    ],
  );
});

test("Kastor's consumer (Fetch v12) reads the legacy-produced records", async () => {
  const kafka = new Kafka({ bootstrap: env.bootstrap, clientId: 'legacy-test' });
  const consumer = kafka.consumer({ maxWaitMs: 100 });
  consumer.assign([{ topic: 'legacy', partition: 0, offset: 'earliest' }]);
  const got: ConsumerRecord[] = [];
  try {
    for (let i = 0; i < 50 && got.length < 11; i++) {
      const r = await consumer.next();
      if (r.done) break;
      got.push(...r.value.records);
    }
  } finally {
    await consumer.close();
  }
  assert.equal(got.map((r) => [Number(r.offset), str(r.value ?? null)]), [[0, 'a0'], [1, 'a1'], [2, 'b0'], [3, null], [4, 'b2'], [5, 'c0'], [6, 'c1'], [7, 'd0'], [8, 'd1'], [9, 'd2'], [10, 'e0']]);
});

test('Fetch v0-v3 down-convert to message format v0 (v0-v1) and v1 (v2-v3): offsets, keys, values, timestamps', async () => {
  for (const v of [0, 1, 2, 3]) {
    const p = await fetchAt('legacy', v, 1n);
    assert.is(p.errorCode, ErrorCode.NONE, `Fetch v${v}`);
    assert.is(p.highWatermark, 11n);
    const magic = v < 2 ? 0 : 1;
    const ts = (t: number) => (magic === 0 ? -1 : t);
    assert.equal(
      legacyView(p.records!),
      [
        [1, magic, -1, null, 'a1'], // the uncompressed first batch starts at the fetch offset
        [2, magic, -1, null, 'b0'], [3, magic, -1, 'k', null], [4, magic, -1, '', 'b2'],
        [5, magic, ts(T), 'k', 'c0'], [6, magic, ts(T + 1), 'k', 'c1'],
        [7, magic, ts(T + 100), null, 'd0'], [8, magic, ts(T + 101), null, 'd1'], [9, magic, ts(T + 102), null, 'd2'],
        [10, magic, ts(T + 200), 'k', 'e0'],
      ],
      `Fetch v${v}`,
    );
  }
});

test('a LogAppendTime topic stamps legacy messages (v0 too) with the broker time, down-converted with it in v1', async () => {
  const before = Date.now();
  const a = await produce('legacy-appended', 0, buildMessageSet(messages(0, ['x'], [null], 0)));
  const b = await produce('legacy-appended', 2, gzipped(messages(1, ['y0', 'y1'], [null, null], T)));
  assert.is(a.errorCode, ErrorCode.NONE);
  assert.is(b.errorCode, ErrorCode.NONE);
  const stamped = Number(b.logAppendTimeMs);
  assert.ok(stamped >= before && stamped <= Date.now(), `logAppendTimeMs ${stamped}`);
  const modern = await fetchAt('legacy-appended', 12, 0n);
  const first = readRecords(modern.records!);
  assert.ok(first[0]!.timestamp >= before && first[0]!.timestamp <= stamped, 'the v0 message got the broker time');
  const legacy = legacyView((await fetchAt('legacy-appended', 3, 0n)).records!);
  assert.equal(legacy.map((m) => [m[0], m[4]]), [[0, 'x'], [1, 'y0'], [2, 'y1']]);
  assert.equal(legacy.slice(1).map((m) => m[2]), [stamped, stamped]);
  const v1Messages = readMessages((await fetchAt('legacy-appended', 3, 0n)).records!);
  assert.ok(v1Messages.every((m) => (m.attributes & 8) !== 0), 'v1 messages carry the LogAppendTime type bit');
});

test('ListOffsets v0 (what legacy consumers ask for "beginning"/"end") answers old_style_offsets', async () => {
  const r = await conn.request(ApiKey.ListOffsets, 0, {
    replicaId: -1,
    topics: [
      {
        name: 'legacy',
        partitions: [
          { partitionIndex: 0, timestamp: -2n, maxNumOffsets: 1 },
          { partitionIndex: 0, timestamp: -1n, maxNumOffsets: 1 },
          { partitionIndex: 0, timestamp: BigInt(T + 100), maxNumOffsets: 1 },
          { partitionIndex: 0, timestamp: -1n, maxNumOffsets: 0 },
          { partitionIndex: 7, timestamp: -1n, maxNumOffsets: 1 },
        ],
      },
    ],
  });
  const ps = r.topics[0]!.partitions;
  assert.equal(ps.map((p) => p.errorCode), [0, 0, 0, 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  assert.equal(ps.map((p) => p.oldStyleOffsets), [[0n], [11n], [7n], [], []]);
});

test('a legacy message with a bad CRC is CORRUPT_MESSAGE, and the partition keeps serving', async () => {
  const set = buildMessageSet(messages(1, ['bad'], [null], T));
  set[set.length - 1] ^= 0xff;
  const r = await produce('legacy', 2, set);
  assert.is(r.errorCode, ErrorCode.CORRUPT_MESSAGE);
  const ok = await produce('legacy', 1, buildMessageSet(messages(0, ['fine'], [null], 0)));
  assert.is(ok.errorCode, ErrorCode.NONE);
  assert.is(ok.baseOffset, 11n);
});

test.run();
