// KIP-664's operator APIs against one broker, with a KafkaJS 2.2.4 transaction open and then committed:
// DescribeTransactions (state, producer, partitions; TRANSACTIONAL_ID_NOT_FOUND), ListTransactions and its
// filters (state, producer id, duration; unknown states reported), DescribeProducers (the open transaction's
// start offset, -1 once committed; UNKNOWN_TOPIC_OR_PARTITION), through Kastor's admin client, raw requests,
// and `kastor transactions` spawned as an operator runs it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { Kafka as KafkaJS, logLevel, type Producer, type Transaction } from 'kafkajs';
import { Kafka } from '../../src/client/index.ts';
import type { Admin } from '../../src/client/admin.ts';
import { BrokerConnection } from '../../src/client/broker-connection.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { startSingleBroker, type SingleBroker } from '../helpers/single-broker.ts';
import { runProcess, type ProcessResult } from '../helpers/run-process.ts';
import { until } from '../helpers/until.ts';

const bin = fileURLToPath(new URL('../../bin/kastor.js', import.meta.url));
const TOPIC = 'txa-out';
const TXN_ID = 'txa-1';

let env: SingleBroker;
let admin: Admin;
let producer: Producer;

function kastor(args: string[]): Promise<ProcessResult> {
  return runProcess(process.execPath, [bin, 'transactions', ...args, '--bootstrap', env.bootstrap], { timeoutMs: 30_000 });
}

async function ok(args: string[]): Promise<string> {
  const r = await kastor(args);
  assert.is(r.code, 0, `kastor transactions ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

test.before(async () => {
  env = await startSingleBroker();
  admin = new Kafka({ bootstrap: [env.bootstrap], clientId: 'txa-admin', retry: { retries: 10, maxBackoffMs: 500 } }).admin();
  await admin.createTopics([{ topic: TOPIC, numPartitions: 2, replicationFactor: 1 }], { waitForLeaders: true });
  const kafkajs = new KafkaJS({ clientId: 'txa', brokers: [env.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
  producer = kafkajs.producer({ transactionalId: TXN_ID, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 45_000 });
  await producer.connect();
});
test.after(async () => {
  await producer?.disconnect().catch(() => {});
  await admin?.close();
  await env?.close();
});

test('an open transaction: described Ongoing with its partition, listed and filtered, its producer shown at the partition', async () => {
  const txn: Transaction = await producer.transaction();
  await txn.send({ topic: TOPIC, messages: [{ value: 'a' }, { value: 'b' }].map((m) => ({ ...m, partition: 1 })) });

  const [d] = await admin.describeTransactions([TXN_ID]);
  assert.is(d!.state, 'Ongoing');
  assert.is(d!.coordinator, 1);
  assert.is(d!.timeoutMs, 45_000);
  assert.equal(d!.topics, [{ topic: TOPIC, partitions: [1] }]);
  assert.ok(d!.producerId >= 0n, `producer id ${d!.producerId}`);
  assert.ok(d!.startTimeMs > Date.now() - 60_000 && d!.startTimeMs <= Date.now(), `start ${d!.startTimeMs}`);
  const pid = d!.producerId;

  const all = await admin.listTransactions();
  assert.equal(all, [{ transactionalId: TXN_ID, producerId: pid, state: 'Ongoing', coordinator: 1 }]);
  assert.is((await admin.listTransactions({ states: ['Ongoing'] })).length, 1);
  assert.is((await admin.listTransactions({ states: ['CompleteCommit', 'Empty'] })).length, 0);
  assert.is((await admin.listTransactions({ producerIds: [pid] })).length, 1);
  assert.is((await admin.listTransactions({ producerIds: [pid + 1n] })).length, 0);
  assert.is((await admin.listTransactions({ durationMs: 3_600_000 })).length, 0);
  await until('the transaction to be open longer than 0 ms', async () => (await admin.listTransactions({ durationMs: 0 })).length === 1, 5_000);

  // Unknown state names come back as such and match nothing (raw request: the admin does not surface them).
  const conn = await BrokerConnection.connect({ host: env.bootstrap.split(':')[0]!, port: Number(env.bootstrap.split(':')[1]), clientId: 'txa-raw' });
  try {
    const raw = await conn.request(ApiKey.ListTransactions, 1, { stateFilters: ['Bogus', 'Ongoing'], producerIdFilters: [], durationFilter: -1n });
    assert.is(raw.errorCode, ErrorCode.NONE);
    assert.equal(raw.unknownStateFilters, ['Bogus']);
    assert.equal(raw.transactionStates.map((t) => t.transactionalId), [TXN_ID]);
    const missing = await conn.request(ApiKey.DescribeProducers, 0, { topics: [{ name: TOPIC, partitionIndexes: [7] }, { name: 'no-such-topic', partitionIndexes: [0] }] });
    assert.equal(missing.topics.map((t) => t.partitions.map((p) => p.errorCode)), [[ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
  } finally {
    conn.close();
  }

  const producers = await admin.describeProducers(TOPIC, 1);
  assert.is(producers.length, 1);
  assert.is(producers[0]!.producerId, pid);
  assert.is(producers[0]!.currentTxnStartOffset, 0n);
  assert.is(producers[0]!.lastSequence, 1);
  assert.ok(producers[0]!.lastTimestamp > 0);
  assert.equal(await admin.describeProducers(TOPIC, 0), []);

  // The CLI, text and JSON.
  const listed = JSON.parse(await ok(['list', '--json']));
  assert.equal(listed, [{ transactionalId: TXN_ID, producerId: String(pid), state: 'Ongoing', coordinator: 1 }]);
  assert.match(await ok(['list', '--state', 'Ongoing']), new RegExp(`${TXN_ID}\\s+${pid}\\s+Ongoing\\s+1`));
  assert.match(await ok(['list', '--state', 'CompleteAbort']), '(no transactions)');
  const text = await ok(['describe', TXN_ID]);
  assert.match(text, `transactional id ${TXN_ID}: Ongoing, coordinator broker 1`);
  assert.match(text, `partitions: ${TOPIC}-1`);
  const shown = JSON.parse(await ok(['describe-producers', '--topic', TOPIC, '--partition', '1', '--json']));
  assert.is(shown[0].currentTxnStartOffset, '0');

  await txn.commit();
  await until('the transaction to complete', async () => (await admin.describeTransactions([TXN_ID]))[0]!.state === 'CompleteCommit', 15_000);
  const [done] = await admin.describeTransactions([TXN_ID]);
  assert.equal(done!.topics, []);
  assert.is(done!.startTimeMs, -1);
  await until('the COMMIT marker to close the transaction on the partition', async () => (await admin.describeProducers(TOPIC, 1))[0]?.currentTxnStartOffset === -1n, 15_000);
  assert.is((await admin.describeProducers(TOPIC, 1))[0]!.producerId, pid);
  assert.equal(await admin.listTransactions({ states: ['Ongoing'] }), []);
  assert.equal(JSON.parse(await ok(['describe', TXN_ID, '--json']))[0].state, 'CompleteCommit');
  assert.match(await ok(['list', '--state', 'CompleteCommit']), new RegExp(`${TXN_ID}\\s+${pid}\\s+CompleteCommit`));
});

test('an unknown transactional id is TRANSACTIONAL_ID_NOT_FOUND; bad flags exit 2 with one line', async () => {
  try {
    await admin.describeTransactions(['no-such-txn']);
    assert.unreachable('described an unknown transactional id');
  } catch (err) {
    assert.is((err as { errorName?: string }).errorName, 'TRANSACTIONAL_ID_NOT_FOUND');
  }
  const missing = await kastor(['describe', 'no-such-txn']);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, 'TRANSACTIONAL_ID_NOT_FOUND');
  assert.match(missing.stderr, '"no-such-txn"');

  const unknownFlag = await kastor(['list', '--bogus']);
  assert.is(unknownFlag.code, 2);
  assert.match(unknownFlag.stderr, 'unknown option --bogus for "transactions"');
  const badState = await kastor(['list', '--state', 'Running']);
  assert.is(badState.code, 2);
  assert.match(badState.stderr, '--state: unknown state "Running"');
  const noSub = await kastor([]);
  assert.is(noSub.code, 2);
  assert.match(noSub.stderr, '"transactions" needs a subcommand');
  const noId = await kastor(['describe']);
  assert.is(noId.code, 2);
  assert.match(noId.stderr, 'needs at least one TRANSACTIONAL-ID');
});

test.run();
