// Fetch sessions (KIP-227) against a real broker process: a full fetch at epoch 0 opens a session; incremental
// fetches name only what changed and are answered only the partitions with news; wrong epochs, unknown ids,
// another connection's session and a session opened by topic id used by name get Kafka's errors; epoch -1
// closes it. Then two real clients that keep sessions read 40 and 8 partitions exactly while /metrics counts
// their sessions: Kastor's consumer and @platformatic/kafka's (whose fetches carry session ids and epochs too).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startSingleBroker, type SingleBroker } from '../helpers/single-broker.ts';
import { BrokerConnection } from '../../src/client/broker-connection.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch.ts';
import { Kafka } from '../../src/client/index.ts';
import type { FetchResponse } from '../../src/protocol/generated/fetch.ts';
import { until } from '../helpers/until.ts';
import { freePort } from '../../src/testing/nats-server.ts';
import '../helpers/platformatic-shim.ts';

const { Consumer: PlatformaticConsumer, stringDeserializers } = await import('@platformatic/kafka');

let env: SingleBroker;
let conn: BrokerConnection;
const TOPIC = 'sessions';
let topicId = '';
let httpPort = 0;

const connect = () => BrokerConnection.connect({ host: '127.0.0.1', port: env.broker.port });

test.before(async () => {
  httpPort = await freePort();
  env = await startSingleBroker(['--http', `127.0.0.1:${httpPort}`]);
  conn = await connect();
  const created = await conn.request(ApiKey.CreateTopics, 7, {
    topics: [
      { name: TOPIC, numPartitions: 4, replicationFactor: 1, assignments: [], configs: [] },
      { name: 'wide', numPartitions: 40, replicationFactor: 1, assignments: [], configs: [] },
      { name: 'plat-sessions', numPartitions: 8, replicationFactor: 1, assignments: [], configs: [] },
    ],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  for (const t of created.topics) assert.is(t.errorCode, ErrorCode.NONE);
  topicId = created.topics[0]!.topicId ?? '';
});
test.after(async () => {
  conn?.close();
  await env?.close();
});

const metrics = async () => await (await globalThis.fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();

async function produce(partition: number, value: string): Promise<void> {
  const res = await conn.request(ApiKey.Produce, 7, {
    transactionalId: null, acks: -1, timeoutMs: 5_000,
    topicData: [{ name: TOPIC, partitionData: [{ index: partition, records: buildRecordBatch({ records: [{ value }], timestamp: Date.now() }) }] }],
  });
  assert.is(res.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
}

type Part = { partition: number; offset: bigint };

function fetch(c: BrokerConnection, sessionId: number, sessionEpoch: number, parts: Part[], opts: { forget?: number[]; maxWaitMs?: number; version?: number } = {}): Promise<FetchResponse> {
  const v = opts.version ?? 12;
  const topic = v >= 13 ? { topicId } : { topic: TOPIC };
  return c.request(ApiKey.Fetch, v, {
    replicaId: -1, maxWaitMs: opts.maxWaitMs ?? 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId, sessionEpoch,
    topics: parts.length === 0 ? [] : [{ ...topic, partitions: parts.map((p) => ({ partition: p.partition, currentLeaderEpoch: -1, fetchOffset: p.offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 })) }],
    forgottenTopicsData: opts.forget ? [{ ...topic, partitions: opts.forget }] : [],
    rackId: '',
  } as never);
}

/** The partitions an answer carries, with whether each had records. */
const answered = (res: FetchResponse) => res.responses.flatMap((t) => t.partitions.map((p) => ({ partition: p.partitionIndex, records: (p.records?.length ?? 0) > 0, hw: Number(p.highWatermark) }))).sort((a, b) => a.partition - b.partition);

test('a session answers only the partitions with news, and forgets what it is told to', async () => {
  await produce(0, 'a');
  await produce(1, 'b');
  const all = [0, 1, 2, 3].map((partition) => ({ partition, offset: 0n }));
  const full = await fetch(conn, 0, 0, all);
  assert.is(full.errorCode, ErrorCode.NONE);
  const id = full.sessionId!;
  assert.ok(id > 0, 'a full fetch at epoch 0 opens a session');
  assert.equal(answered(full).map((p) => [p.partition, p.records]), [[0, true], [1, true], [2, false], [3, false]], 'a full fetch answers every partition');

  // Partitions 0 and 1 move past their records; nothing new anywhere: an empty answer (after the wait).
  const idle = await fetch(conn, id, 1, [{ partition: 0, offset: 1n }, { partition: 1, offset: 1n }], { maxWaitMs: 50 });
  assert.is(idle.errorCode, ErrorCode.NONE);
  assert.is(idle.sessionId, id);
  assert.equal(answered(idle), [], 'nothing new: no partition in the answer');

  // A record on partition 2, which the request does not name: the session reads it anyway.
  await produce(2, 'c');
  const news = await fetch(conn, id, 2, []);
  assert.equal(answered(news).map((p) => [p.partition, p.records, p.hw]), [[2, true, 1]], 'only the partition with news');

  // The same epoch again is refused; the session's own epoch has not moved.
  assert.is((await fetch(conn, id, 2, [])).errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);

  // Partition 3 forgotten, then written to: not answered. Partition 2 moved on.
  const forgot = await fetch(conn, id, 3, [{ partition: 2, offset: 1n }], { forget: [3] });
  assert.is(forgot.errorCode, ErrorCode.NONE);
  await produce(3, 'd');
  await produce(0, 'e');
  const after = await fetch(conn, id, 4, []);
  assert.equal(answered(after).map((p) => [p.partition, p.records]), [[0, true]], 'a forgotten partition is not read');

  // Another connection cannot use this session; an unknown id is not found.
  const other = await connect();
  try {
    assert.is((await fetch(other, id, 5, [])).errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND, 'a session belongs to its connection');
  } finally {
    other.close();
  }
  assert.is((await fetch(conn, id === 1 ? 2 : 1, 1, [])).errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);

  // Epoch -1 closes it (and is a sessionless full fetch).
  const closing = await fetch(conn, id, -1, all);
  assert.is(closing.sessionId, 0);
  assert.is(answered(closing).length, 4);
  assert.is((await fetch(conn, id, 5, [])).errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND, 'closed by epoch -1');
});

test('a session opened by topic id (Fetch v13) cannot be continued by name (v12)', async () => {
  const full = await fetch(conn, 0, 0, [{ partition: 0, offset: 0n }], { version: 13 });
  assert.is(full.errorCode, ErrorCode.NONE);
  assert.ok(full.sessionId! > 0);
  assert.is(full.responses[0]!.topicId, topicId);
  const byId = await fetch(conn, full.sessionId!, 1, [], { version: 13 });
  assert.is(byId.errorCode, ErrorCode.NONE);
  assert.is((await fetch(conn, full.sessionId!, 2, [])).errorCode, ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
});

test("Kastor's consumer keeps a session and reads 40 partitions exactly", async () => {
  const kafka = new Kafka({ bootstrap: env.bootstrap, clientId: 'sessions-test' });
  const producer = kafka.producer();
  const consumer = kafka.consumer({ maxWaitMs: 100 });
  try {
    const sent = new Set<string>();
    for (let round = 0; round < 3; round++) {
      const messages = Array.from({ length: 40 }, (_, partition) => ({ partition, value: `r${round}-p${partition}` }));
      for (const m of messages) sent.add(m.value);
      await producer.send({ topic: 'wide', messages });
    }
    consumer.assign(Array.from({ length: 40 }, (_, partition) => ({ topic: 'wide', partition, offset: 'earliest' as const })));
    const got: string[] = [];
    const reading = (async () => {
      for await (const batch of consumer) for (const r of batch.records) got.push(r.value!.toString());
    })();
    await until('every record read', () => got.length >= sent.size, 20_000);
    assert.is(got.length, sent.size, 'every record once');
    assert.equal(new Set(got), sent);
    await until('the consumer\'s session shows in /metrics', async () => /^kastor_fetch_sessions\{[^}]*\} [1-9]/m.test(await metrics()), 5_000);
    assert.match(await metrics(), /^kastor_fetch_session_partitions\{[^}]*\} (4\d|[5-9]\d)/m);
    await consumer.close();
    await reading;
  } finally {
    await consumer.close();
    await producer.close();
  }
});

test('@platformatic/kafka reads through a fetch session, records written while it reads included', async () => {
  const kafka = new Kafka({ bootstrap: env.bootstrap, clientId: 'sessions-test' });
  const producer = kafka.producer();
  const consumer = new PlatformaticConsumer({ groupId: 'plat-sessions', clientId: 'plat-sessions', bootstrapBrokers: [env.bootstrap], deserializers: stringDeserializers, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTime: 100 });
  const write = async (round: number) => {
    await producer.send({ topic: 'plat-sessions', messages: Array.from({ length: 40 }, (_, i) => ({ partition: i % 8, value: `r${round}-${i}` })) });
  };
  const got: Array<{ partition: number; value: string }> = [];
  try {
    await write(0);
    const stream = await consumer.consume({ topics: ['plat-sessions'], autocommit: false, mode: 'earliest' });
    const reading = (async () => {
      for await (const m of stream) {
        got.push({ partition: m.partition, value: m.value as string });
        if (got.length >= 120) break;
      }
    })();
    await until('the first round read', () => got.length >= 40, 20_000);
    // Incremental fetches from here on: the session names nothing but what moved, and the broker answers the news.
    await until('the consumer\'s session shows in /metrics', async () => /^kastor_fetch_session_partitions\{[^}]*\} [1-9]/m.test(await metrics()), 5_000);
    await write(1);
    await write(2);
    await until('every round read', () => got.length >= 120, 20_000);
    await stream.close();
    await reading;
  } finally {
    await consumer.close(true);
    await producer.close();
  }
  assert.is(got.length, 120);
  for (let p = 0; p < 8; p++) {
    const expected = [0, 1, 2].flatMap((round) => Array.from({ length: 5 }, (_, k) => `r${round}-${p + 8 * k}`));
    assert.equal(got.filter((g) => g.partition === p).map((g) => g.value), expected, `partition ${p} in order, each record once`);
  }
});

test.run();
