// Kafka protocol rules at a live broker, spoken through Kastor's own BrokerConnection: long-polling Fetch,
// Fetch v13 by topic id, offsets out of range, unsupported versions answered per Kafka's rules, and an
// unknown API key closing only its own connection.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startSingleBroker, type SingleBroker } from '../helpers/single-broker.ts';
import { BrokerConnection } from '../../src/client/broker-connection.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { buildRecordBatch, readBatchHeader, readRecords, TIMESTAMP_TYPE_LOG_APPEND, validateBatch } from '../../src/protocol/record-batch.ts';
import { countRecords } from '../../src/metrics/batch-counts.ts';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeResponse } from '../../src/protocol/frames.ts';

let env: SingleBroker;
let conn: BrokerConnection;

test.before(async () => {
  env = await startSingleBroker();
  conn = await BrokerConnection.connect({ host: '127.0.0.1', port: env.broker.port });
  const created = await conn.request(ApiKey.CreateTopics, 4, {
    topics: [{ name: 'proto', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  assert.is(created.topics[0].errorCode, ErrorCode.NONE);
});
test.after(async () => {
  conn?.close();
  await env?.close();
});

function fetchRequest(topic: string, offset: bigint, maxWaitMs: number, minBytes: number) {
  return {
    replicaId: -1,
    maxWaitMs,
    minBytes,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [],
    rackId: '',
  };
}

async function produce(c: BrokerConnection, topic: string, values: string[], apiVersion = 7) {
  return c.request(ApiKey.Produce, apiVersion, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 5_000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: buildRecordBatch({ records: values.map((value) => ({ value })), timestamp: Date.now() }) }] }],
  });
}

test('a waiting fetch returns as soon as data arrives, long before max_wait_ms', async () => {
  const other = await BrokerConnection.connect({ host: '127.0.0.1', port: env.broker.port });
  try {
    const started = Date.now();
    const pending = conn.request(ApiKey.Fetch, 11, fetchRequest('proto', 0n, 20_000, 1));
    const produced = await produce(other, 'proto', ['woken']);
    assert.is(produced.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    const response = await pending;
    const elapsed = Date.now() - started;
    const p = response.responses[0].partitions[0];
    assert.is(p.errorCode, ErrorCode.NONE);
    assert.is(p.highWatermark, 1n);
    assert.equal(readRecords(p.records!).map((r) => r.value?.toString()), ['woken']);
    assert.ok(elapsed < 10_000, `the fetch waited ${elapsed} ms: it was not woken by the produce`);
  } finally {
    other.close();
  }
});

test('min_bytes not reached: the fetch answers at max_wait_ms with what there is', async () => {
  const response = await conn.request(ApiKey.Fetch, 11, fetchRequest('proto', 1n, 200, 1 << 20));
  const p = response.responses[0].partitions[0];
  assert.is(p.errorCode, ErrorCode.NONE);
  assert.is(p.records?.length ?? 0, 0);
});

test('Fetch v13 addresses the topic by its id; an unknown id is UNKNOWN_TOPIC_ID', async () => {
  const meta = await conn.request(ApiKey.Metadata, 12, { topics: [{ topicId: '0'.repeat(32), name: 'proto' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  const topicId = meta.topics[0].topicId!;
  assert.is.not(topicId, '0'.repeat(32));
  const req = fetchRequest('proto', 0n, 0, 0);
  const byId = { ...req, topics: [{ topicId, partitions: req.topics[0].partitions }] };
  const response = await conn.request(ApiKey.Fetch, 13, byId);
  assert.is(response.responses[0].topicId, topicId);
  assert.equal(readRecords(response.responses[0].partitions[0].records!).map((r) => r.value?.toString()), ['woken']);
  const unknown = await conn.request(ApiKey.Fetch, 13, { ...byId, topics: [{ topicId: 'ab'.repeat(16), partitions: req.topics[0].partitions }] });
  assert.is(unknown.responses[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
});

test('an offset past the high watermark is OFFSET_OUT_OF_RANGE; an unknown topic UNKNOWN_TOPIC_OR_PARTITION', async () => {
  const r = await conn.request(ApiKey.Fetch, 11, fetchRequest('proto', 50n, 0, 0));
  assert.is(r.responses[0].partitions[0].errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  const u = await conn.request(ApiKey.Fetch, 11, fetchRequest('no-such-topic', 0n, 0, 0));
  assert.is(u.responses[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});

test('a Fetch response stays within the request\'s max_bytes, whatever max.partition.fetch.bytes says (KIP-74)', async () => {
  const created = await conn.request(ApiKey.CreateTopics, 4, {
    topics: [{ name: 'bounded', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  assert.is(created.topics[0].errorCode, ErrorCode.NONE);
  const value = 'v'.repeat(50_000);
  for (const partition of [0, 1]) {
    for (let i = 0; i < 6; i++) {
      const r = await conn.request(ApiKey.Produce, 7, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 5_000,
        topicData: [{ name: 'bounded', partitionData: [{ index: partition, records: buildRecordBatch({ records: [{ value }], timestamp: Date.now() }) }] }],
      });
      assert.is(r.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    }
  }
  const fetchBoth = (maxBytes: number) =>
    conn.request(ApiKey.Fetch, 11, {
      ...fetchRequest('bounded', 0n, 0, 0),
      maxBytes,
      topics: [{ topic: 'bounded', partitions: [0, 1].map((partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 20_000_000 })) }],
    });
  // librdkafka's test 0082: fetch.max.bytes 1 MB with max.partition.fetch.bytes 20 MB got 19.4 MB answers.
  const bounded = await fetchBoth(120_000);
  const sizes = bounded.responses[0].partitions.map((p) => p.records?.length ?? 0);
  const total = sizes[0]! + sizes[1]!;
  assert.ok(total > 100_000 && total <= 120_000, `records in the response: ${sizes} bytes, over max_bytes 120000 or under two batches`);
  assert.is(countRecords(bounded.responses[0].partitions[0].records), 2, `sizes ${sizes}`);
  // A max_bytes smaller than one batch still returns the first batch, and nothing more.
  const tiny = await fetchBoth(1_000);
  assert.is(countRecords(tiny.responses[0].partitions[0].records), 1);
  assert.is(tiny.responses[0].partitions[1].records?.length ?? 0, 0);
  assert.is(tiny.responses[0].partitions[1].highWatermark, 6n, 'a partition left out for lack of room still reports its high watermark');
  const roomy = await fetchBoth(10_000_000);
  assert.equal(roomy.responses[0].partitions.map((p) => countRecords(p.records)), [6, 6]);
});

test('a LogAppendTime topic stamps each batch with the broker\'s time and answers it as logAppendTimeMs', async () => {
  const created = await conn.request(ApiKey.CreateTopics, 4, {
    topics: [{ name: 'appended', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  assert.is(created.topics[0].errorCode, ErrorCode.NONE);
  const before = Date.now();
  const r = await conn.request(ApiKey.Produce, 7, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 5_000,
    topicData: [{ name: 'appended', partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value: 'a' }, { value: 'b' }], timestamp: 1_000 }) }] }],
  });
  const answer = r.responses[0].partitionResponses[0];
  assert.is(answer.errorCode, ErrorCode.NONE);
  const appended = Number(answer.logAppendTimeMs);
  assert.ok(appended >= before && appended <= Date.now(), `logAppendTimeMs ${appended} is not the broker's time`);
  const fetched = await conn.request(ApiKey.Fetch, 11, fetchRequest('appended', 0n, 0, 0));
  const records = fetched.responses[0].partitions[0].records!;
  assert.ok(validateBatch(records).ok, 'the stamped batch is stored with a valid CRC');
  assert.ok((readBatchHeader(records).attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0);
  assert.equal(readRecords(records).map((rec) => rec.timestamp), [appended, appended]);
  // A CreateTime topic keeps the producer's timestamps and answers -1.
  const plain = await produce(conn, 'bounded', ['created']);
  assert.is(plain.responses[0].partitionResponses[0].logAppendTimeMs, -1n);
});

test('Produce v2 carrying a RecordBatch v2 is appended as it is (Kafka checks the magic from v3 only); legacy message sets: legacy-message-format.test.ts', async () => {
  const r = await produce(conn, 'proto', ['old'], 2);
  assert.is(r.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
});

test('a corrupt batch is refused with CORRUPT_MESSAGE and the partition keeps serving', async () => {
  const batch = buildRecordBatch({ records: [{ value: 'x' }] });
  batch[batch.length - 1] ^= 0xff; // breaks the CRC
  const r = await conn.request(ApiKey.Produce, 7, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 'proto', partitionData: [{ index: 0, records: batch }] }] });
  assert.is(r.responses[0].partitionResponses[0].errorCode, ErrorCode.CORRUPT_MESSAGE);
  const ok = await produce(conn, 'proto', ['fine']);
  assert.is(ok.responses[0].partitionResponses[0].baseOffset, 2n, 'after woken and old');
});

test('ApiVersions of an unknown version gets a v0 answer with UNSUPPORTED_VERSION and the served ranges', async () => {
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const s = connect(env.broker.port, '127.0.0.1');
    const req = Buffer.alloc(4 + 10);
    req.writeInt32BE(10, 0);
    req.writeInt16BE(ApiKey.ApiVersions, 4);
    req.writeInt16BE(99, 6);
    req.writeInt32BE(77, 8);
    req.writeInt16BE(-1, 12); // null client id
    let got = Buffer.alloc(0);
    s.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 4 && got.length >= 4 + got.readInt32BE(0)) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
    s.write(req);
  });
  assert.is(raw.readInt32BE(4), 77); // correlation id
  assert.is(raw.readInt16BE(8), ErrorCode.UNSUPPORTED_VERSION);
  const count = raw.readInt32BE(10);
  const keys = Array.from({ length: count }, (_, i) => raw.readInt16BE(14 + i * 6));
  assert.ok(keys.includes(ApiKey.Produce) && keys.includes(ApiKey.Fetch) && keys.includes(ApiKey.ApiVersions));
});

test("librdkafka 2.15's all-topics Metadata request (3 bytes after its body) is answered with every topic", async () => {
  const frame = readFileSync(fileURLToPath(new URL('../fixtures/frames-lenient/librdkafka-2.15-metadata-v12-all-topics.bin', import.meta.url)));
  const answer = await new Promise<Buffer>((resolve, reject) => {
    const s = connect(env.broker.port, '127.0.0.1');
    const size = Buffer.alloc(4);
    size.writeInt32BE(frame.length);
    s.write(Buffer.concat([size, frame]));
    let got = Buffer.alloc(0);
    s.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 4 && got.length >= 4 + got.readInt32BE(0)) {
        s.destroy();
        resolve(got.subarray(4, 4 + got.readInt32BE(0)));
      }
    });
    s.on('close', () => reject(new Error('the broker closed the connection instead of answering')));
    s.on('error', reject);
  });
  const { correlationId, body } = decodeResponse(ApiKey.Metadata, 12, answer);
  assert.is(correlationId, frame.readInt32BE(4));
  assert.ok(body.topics.some((t) => t.name === 'proto'), `topics: ${body.topics.map((t) => t.name)}`);
});

test('an API key the broker does not serve closes that connection only', async () => {
  const closed = await new Promise<boolean>((resolve) => {
    const s = connect(env.broker.port, '127.0.0.1');
    const req = Buffer.alloc(4 + 10);
    req.writeInt32BE(10, 0);
    req.writeInt16BE(999, 4);
    req.writeInt32BE(1, 8);
    req.writeInt16BE(-1, 12);
    s.on('close', () => resolve(true));
    s.on('error', () => {});
    s.write(req);
  });
  assert.ok(closed);
  const meta = await conn.request(ApiKey.Metadata, 1, { topics: null });
  assert.ok(meta.topics.some((t) => t.name === 'proto'));
});

test.run();
