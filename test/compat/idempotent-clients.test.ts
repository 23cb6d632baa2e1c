// Real clients with idempotence on (KIP-98) against a live broker: KafkaJS 2.2.4 with
// `idempotent: true, maxInFlightRequests: 1` (InitProducerId v1) and kcat on librdkafka with
// `enable.idempotence=true`; everything is read back with kcat, once each and in order. (Transactions:
// kafkajs-transactions.test.ts.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { startSingleBroker, run, type SingleBroker } from '../helpers/single-broker.ts';
import { storedProducerIds } from '../helpers/stored-batches.ts';

let env: SingleBroker;
let kafka: Kafka;
let admin: Admin;

test.before(async () => {
  env = await startSingleBroker();
  kafka = new Kafka({ clientId: 'kastor-idem-compat', brokers: [env.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 } });
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'idem-js', numPartitions: 3 }, { topic: 'idem-kcat', numPartitions: 2 }], waitForLeaders: true });
});
test.after(async () => {
  await admin?.disconnect().catch(() => {});
  await env?.close();
});


async function consume(topic: string, partitions: number): Promise<string[][]> {
  const out: string[][] = [];
  for (let p = 0; p < partitions; p++) {
    const { stdout } = await run('kcat', ['-C', '-b', env.bootstrap, '-t', topic, '-p', String(p), '-o', 'beginning', '-e', '-q', '-f', '%s\n']);
    out.push(stdout.split('\n').filter((l) => l.length > 0));
  }
  return out;
}

test('KafkaJS idempotent producer: every record once, in order per partition', async () => {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const expected: string[][] = [[], [], []];
  try {
    for (let b = 0; b < 10; b++) {
      const messages = Array.from({ length: 15 }, (_, i) => ({ value: `js-${b}-${i}`, partition: i % 3 }));
      for (const m of messages) expected[m.partition]!.push(m.value);
      await producer.send({ topic: 'idem-js', acks: -1, messages });
    }
    // Several batches to one partition in a row: sequences must keep advancing.
    await producer.sendBatch({ topicMessages: [{ topic: 'idem-js', messages: [{ value: 'tail-a', partition: 0 }, { value: 'tail-b', partition: 0 }] }] });
    expected[0]!.push('tail-a', 'tail-b');
  } finally {
    await producer.disconnect();
  }
  assert.equal(await consume('idem-js', 3), expected);
  const ids = await storedProducerIds({ host: '127.0.0.1', port: env.broker.port }, 'idem-js', 0);
  assert.ok(ids.length > 0 && ids.every((id) => id >= 0), `KafkaJS batches carry a producer id: ${ids.join(',')}`);
});

test('kcat with enable.idempotence=true: every record once, in order per partition', async () => {
  const n = 2000;
  const lines = Array.from({ length: n }, (_, i) => `v${i}`).join('\n') + '\n';
  await run('kcat', ['-P', '-b', env.bootstrap, '-t', 'idem-kcat', '-p', '0', '-X', 'enable.idempotence=true', '-X', 'linger.ms=2', '-X', 'batch.num.messages=100'], { input: lines });
  await run('kcat', ['-P', '-b', env.bootstrap, '-t', 'idem-kcat', '-p', '1', '-X', 'enable.idempotence=true'], { input: 'one\ntwo\n' });
  const [p0, p1] = await consume('idem-kcat', 2);
  assert.is(p0!.length, n);
  p0!.forEach((v, i) => v !== `v${i}` && assert.unreachable(`record ${i} is ${v}`));
  assert.equal(p1, ['one', 'two']);
  const ids = await storedProducerIds({ host: '127.0.0.1', port: env.broker.port }, 'idem-kcat', 0);
  assert.ok(ids.length > 0 && ids.every((id) => id >= 0), `librdkafka batches carry a producer id: ${ids.slice(0, 5).join(',')}`);
});

test.run();
