// The idempotent producer (KIP-98) at a live broker, through raw requests with hand-built batches:
// InitProducerId hands out ids and bumps epochs; a batch sent twice is stored once and both answers carry
// the same offset; a sequence gap and a stale epoch are refused; the producer state survives a SIGKILL and
// restart (rebuilt from the log); transactions are refused clearly; Kastor's producer with
// `idempotent: true` writes every record once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startSingleBroker, type SingleBroker } from '../helpers/single-broker.ts';
import { BrokerConnection } from '../../src/client/broker-connection.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { buildRecordBatch, readRecords, forEachBatch } from '../../src/protocol/record-batch.ts';
import { listLatestOffsets } from '../../src/testing/kafka-request.ts';
import { Kafka } from '../../src/client/index.ts';

let env: SingleBroker;
let conn: BrokerConnection;

async function connectBroker(): Promise<BrokerConnection> {
  return BrokerConnection.connect({ host: '127.0.0.1', port: env.broker.port });
}

async function createTopic(name: string): Promise<void> {
  const created = await conn.request(ApiKey.CreateTopics, 4, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  assert.is(created.topics[0].errorCode, ErrorCode.NONE);
}

test.before(async () => {
  env = await startSingleBroker();
  conn = await connectBroker();
  await createTopic('idem');
});
test.after(async () => {
  conn?.close();
  await env?.close();
});

async function initProducerId(c: BrokerConnection, version: number, producerId = -1n, producerEpoch = -1, transactionalId: string | null = null) {
  return c.request(ApiKey.InitProducerId, version, { transactionalId, transactionTimeoutMs: 60_000, producerId, producerEpoch });
}

function idempotentBatch(producerId: number, producerEpoch: number, baseSequence: number, values: string[]): Buffer {
  return buildRecordBatch({ records: values.map((value) => ({ value })), producerId, producerEpoch, baseSequence, timestamp: Date.now() });
}

async function produce(c: BrokerConnection, topic: string, records: Buffer) {
  const res = await c.request(ApiKey.Produce, 7, { transactionalId: null, acks: -1, timeoutMs: 5_000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
  const p = res.responses[0]!.partitionResponses[0]!;
  return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset), errorMessage: p.errorMessage };
}

async function logEnd(topic: string): Promise<number> {
  return (await listLatestOffsets({ host: '127.0.0.1', port: env.broker.port }, topic, [0])).get(0)!.offset;
}

async function readValues(c: BrokerConnection, topic: string): Promise<string[]> {
  const out: string[] = [];
  let offset = 0n;
  const end = BigInt(await logEnd(topic));
  const deadline = Date.now() + 10_000;
  while (offset < end) {
    if (Date.now() > deadline) throw new Error(`read only up to ${offset} of ${end}`);
    const res = await c.request(ApiKey.Fetch, 11, {
      replicaId: -1, maxWaitMs: 100, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [], rackId: '',
    });
    const data = res.responses[0]!.partitions[0]!.records;
    if (!data || data.length === 0) continue;
    forEachBatch(data, (pos) => {
      for (const r of readRecords(data, pos)) {
        if (BigInt(r.offset) < offset) continue;
        out.push(r.value!.toString());
        offset = BigInt(r.offset) + 1n;
      }
    });
  }
  return out;
}

let pid = -1;

test('InitProducerId hands out distinct ids at epoch 0 and bumps the epoch of a given producer (v3+)', async () => {
  const a = await initProducerId(conn, 1);
  const b = await initProducerId(conn, 4);
  assert.is(a.errorCode, ErrorCode.NONE);
  assert.is(b.errorCode, ErrorCode.NONE);
  assert.is(a.producerEpoch, 0);
  assert.ok(a.producerId >= 0n && b.producerId >= 0n && a.producerId !== b.producerId);
  const bumped = await initProducerId(conn, 3, b.producerId, 0);
  assert.equal([bumped.errorCode, bumped.producerId, bumped.producerEpoch], [ErrorCode.NONE, b.producerId, 1]);
  const overflow = await initProducerId(conn, 4, b.producerId, 0x7fff);
  assert.is(overflow.errorCode, ErrorCode.NONE);
  assert.is(overflow.producerEpoch, 0);
  assert.ok(overflow.producerId !== b.producerId, 'epoch overflow gives a new id');
  pid = Number(a.producerId);
});

test('a transactional InitProducerId goes to the coordinator: NOT_COORDINATOR before FindCoordinator created it, a timeout past the maximum refused', async () => {
  const r = await initProducerId(conn, 1, -1n, -1, 'tx-1');
  assert.is(r.errorCode, ErrorCode.NOT_COORDINATOR);
  const tooLong = await conn.request(ApiKey.InitProducerId, 1, { transactionalId: 'tx-1', transactionTimeoutMs: 900_001, producerId: -1n, producerEpoch: -1 });
  assert.is(tooLong.errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  const found = await conn.request(ApiKey.FindCoordinator, 1, { key: 'tx-1', keyType: 1 });
  assert.is(found.errorCode, ErrorCode.NONE);
  const first = await initProducerId(conn, 1, -1n, -1, 'tx-1');
  assert.equal([first.errorCode, first.producerEpoch], [ErrorCode.NONE, 0]);
  const again = await initProducerId(conn, 1, -1n, -1, 'tx-1');
  assert.equal([again.errorCode, again.producerId, again.producerEpoch], [ErrorCode.NONE, first.producerId, 1], 'the same id, the next epoch');
});

test('the same idempotent batch sent twice is stored once; both answers carry its offset', async () => {
  // A non-idempotent batch first, so the idempotent one does not start at offset 0.
  assert.is((await produce(conn, 'idem', buildRecordBatch({ records: [{ value: 'plain' }], timestamp: Date.now() }))).errorCode, ErrorCode.NONE);
  const first = await produce(conn, 'idem', idempotentBatch(pid, 0, 0, ['a0', 'a1', 'a2']));
  assert.equal([first.errorCode, first.baseOffset], [ErrorCode.NONE, 1]);
  const again = await produce(conn, 'idem', idempotentBatch(pid, 0, 0, ['a0', 'a1', 'a2']));
  assert.equal([again.errorCode, again.baseOffset], [ErrorCode.NONE, 1]);
  assert.is(await logEnd('idem'), 4);
  const next = await produce(conn, 'idem', idempotentBatch(pid, 0, 3, ['a3']));
  assert.equal([next.errorCode, next.baseOffset], [ErrorCode.NONE, 4]);
  // An older one of the last five is still recognised.
  assert.equal((await produce(conn, 'idem', idempotentBatch(pid, 0, 0, ['a0', 'a1', 'a2']))).baseOffset, 1);
  assert.equal(await readValues(conn, 'idem'), ['plain', 'a0', 'a1', 'a2', 'a3']);
});

test('a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER, an unknown producer not at 0 UNKNOWN_PRODUCER_ID', async () => {
  const gap = await produce(conn, 'idem', idempotentBatch(pid, 0, 10, ['gap']));
  assert.is(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  const other = await initProducerId(conn, 4);
  const unknown = await produce(conn, 'idem', idempotentBatch(Number(other.producerId), 0, 7, ['x']));
  assert.is(unknown.errorCode, ErrorCode.UNKNOWN_PRODUCER_ID);
  assert.is(await logEnd('idem'), 5, 'nothing refused was stored');
});

test('after an epoch bump the old epoch is INVALID_PRODUCER_EPOCH', async () => {
  const bumped = await initProducerId(conn, 4, BigInt(pid), 0);
  assert.is(bumped.producerEpoch, 1);
  const notZero = await produce(conn, 'idem', idempotentBatch(pid, 1, 4, ['b?']));
  assert.is(notZero.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'a new epoch starts at sequence 0');
  const b0 = await produce(conn, 'idem', idempotentBatch(pid, 1, 0, ['b0', 'b1']));
  assert.equal([b0.errorCode, b0.baseOffset], [ErrorCode.NONE, 5]);
  const stale = await produce(conn, 'idem', idempotentBatch(pid, 0, 4, ['stale']));
  assert.is(stale.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.is(await logEnd('idem'), 7);
});

test('the producer state survives SIGKILL and restart: a duplicate is still detected', async () => {
  conn.close();
  await env.broker.kill();
  await env.broker.restart();
  conn = await connectBroker();
  const deadline = Date.now() + 20_000;
  let dup = await produce(conn, 'idem', idempotentBatch(pid, 1, 0, ['b0', 'b1']));
  while (dup.errorCode !== ErrorCode.NONE && Date.now() < deadline) {
    // The partition may still be recovering (NOT_LEADER_OR_FOLLOWER / LEADER_NOT_AVAILABLE): poll.
    await new Promise((r) => setImmediate(r));
    dup = await produce(conn, 'idem', idempotentBatch(pid, 1, 0, ['b0', 'b1']));
  }
  assert.equal([dup.errorCode, dup.baseOffset], [ErrorCode.NONE, 5]);
  assert.is((await produce(conn, 'idem', idempotentBatch(pid, 0, 4, ['stale']))).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  const b2 = await produce(conn, 'idem', idempotentBatch(pid, 1, 2, ['b2']));
  assert.equal([b2.errorCode, b2.baseOffset], [ErrorCode.NONE, 7]);
  assert.equal(await readValues(conn, 'idem'), ['plain', 'a0', 'a1', 'a2', 'a3', 'b0', 'b1', 'b2']);
  // New ids after the restart come from a new block: never one handed out before.
  const fresh = await initProducerId(conn, 4);
  assert.ok(Number(fresh.producerId) >= 1000);
});

test("Kastor's producer with idempotent: true writes every record once, in order", async () => {
  await createTopic('idem-client');
  const kafka = new Kafka({ bootstrap: env.bootstrap, clientId: 'idem-test' });
  const producer = kafka.producer({ idempotent: true, lingerMs: 1 });
  const sends: Array<Promise<unknown>> = [];
  for (let i = 0; i < 50; i++) sends.push(producer.send({ topic: 'idem-client', messages: [{ value: `m${i}`, partition: 0 }] }));
  await Promise.all(sends);
  await producer.close();
  assert.equal(await readValues(conn, 'idem-client'), Array.from({ length: 50 }, (_, i) => `m${i}`));
  assert.throws(() => kafka.producer({ idempotent: true, acks: 1 }), /acks 'all'/);
});

test.run();
