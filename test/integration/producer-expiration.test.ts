// Producer-state snapshots and producer.id.expiration.ms at a live broker: a producer idle past the expiration
// (set cluster-wide at runtime with IncrementalAlterConfigs) leaves the partition's producer state, so its next
// batch is UNKNOWN_PRODUCER_ID as in Kafka; the periodic checkpoint writes the state to the partition's
// producer-snapshot file, and after a SIGKILL and restart the state comes from that snapshot and the batches
// after it: a later producer's retry is still a duplicate, and the expired producer, whose batch is still in the
// log below the snapshot, stays unknown (a rebuild from the whole log would have brought it back).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSingleBroker, type SingleBroker } from '../helpers/single-broker.ts';
import { until } from '../helpers/until.ts';
import { BrokerConnection } from '../../src/client/broker-connection.ts';
import { Kafka } from '../../src/client/index.ts';
import type { Admin } from '../../src/client/admin.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch.ts';

const TOPIC = 'expiry';
let env: SingleBroker;
let conn: BrokerConnection;
let admin: Admin;

test.before(async () => {
  env = await startSingleBroker();
  conn = await BrokerConnection.connect({ host: '127.0.0.1', port: env.broker.port });
  admin = new Kafka({ bootstrap: env.bootstrap, clientId: 'producer-expiration' }).admin();
  await admin.createTopics([{ topic: TOPIC, numPartitions: 1, replicationFactor: 1 }], { waitForLeaders: true });
});
test.after(async () => {
  await admin?.close();
  conn?.close();
  await env?.close();
});

async function newProducerId(): Promise<number> {
  const res = await conn.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
  assert.is(res.errorCode, ErrorCode.NONE);
  return Number(res.producerId);
}

async function produce(records: Buffer): Promise<{ errorCode: number; baseOffset: number }> {
  const res = await conn.request(ApiKey.Produce, 7, { transactionalId: null, acks: -1, timeoutMs: 5_000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }] });
  const p = res.responses[0]!.partitionResponses[0]!;
  return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset) };
}

const idempotent = (producerId: number, baseSequence: number) =>
  buildRecordBatch({ records: [{ value: `${producerId}-${baseSequence}` }], producerId, producerEpoch: 0, baseSequence, timestamp: Date.now() });
const plain = () => buildRecordBatch({ records: [{ value: 'plain' }], timestamp: Date.now() });

async function producerIds(): Promise<number[]> {
  return (await admin.describeProducers(TOPIC, 0)).map((p) => Number(p.producerId));
}

/** The offset the partition's producer snapshot holds, or -1 when it has none. */
function snapshotOffset(): number {
  try {
    return Number(readFileSync(join(env.dir, 'broker-1', `${TOPIC}-0`, 'producer-snapshot'), 'utf8').split('\n')[2]);
  } catch {
    return -1;
  }
}

const expiration = (op: 'set' | 'delete', value?: string) =>
  admin.incrementalAlterConfigs([{ type: 'broker', name: '', ops: [{ name: 'producer.id.expiration.ms', op, value }] }]);

test('an idle producer expires; a SIGKILLed broker restarts from the producer snapshot', async () => {
  const a = await newProducerId();
  const first = await produce(idempotent(a, 0));
  assert.is(first.errorCode, ErrorCode.NONE);
  assert.equal(await producerIds(), [a]);

  await expiration('set', '300');
  // The periodic checkpoint (every 5 s while the log changes) expires it: plain writes keep the log changing.
  await until('producer A to expire', async () => {
    assert.is((await produce(plain())).errorCode, ErrorCode.NONE);
    return !(await producerIds()).includes(a);
  }, 20_000, 250);
  assert.is((await produce(idempotent(a, 1))).errorCode, ErrorCode.UNKNOWN_PRODUCER_ID, 'its next batch is from an unknown producer');
  await expiration('delete');

  const b = await newProducerId();
  const stored = await produce(idempotent(b, 0));
  assert.is(stored.errorCode, ErrorCode.NONE);
  await until('a producer snapshot past producer A\'s batch', () => snapshotOffset() > first.baseOffset, 20_000, 100);

  await env.broker.kill();
  conn.close();
  await env.broker.restart();
  conn = await BrokerConnection.connect({ host: '127.0.0.1', port: env.broker.port });
  let retry = { errorCode: -1, baseOffset: -1 };
  await until('the restarted partition to answer', async () => {
    retry = await produce(idempotent(b, 0));
    return retry.errorCode === ErrorCode.NONE;
  }, 20_000, 100);
  assert.is(retry.baseOffset, stored.baseOffset, "producer B's retry is a duplicate, answered with its offset");
  assert.equal(await producerIds(), [b], 'producer A stays expired: the state came from the snapshot, not the whole log');
  assert.is((await produce(idempotent(a, 1))).errorCode, ErrorCode.UNKNOWN_PRODUCER_ID);
});

test.run();
