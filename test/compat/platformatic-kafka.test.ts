// @platformatic/kafka 2.12 speaks only flexible versions (ApiVersions v3, Metadata 9+, Produce 9, CreateTopics 7,
// InitProducerId 2+): its admin and producer against a live broker, checked with kcat record by record, its
// consumer reading a topic from the beginning, and its idempotent producer (KIP-98), whose records arrive once
// each and in order per partition, in batches that carry the producer id the broker gave it.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startSingleBroker, run, type SingleBroker } from '../helpers/single-broker.ts';

import '../helpers/platformatic-shim.ts';
import { storedProducerIds } from '../helpers/stored-batches.ts';

const { Producer, Admin, Consumer, stringSerializers, stringDeserializers } = await import('@platformatic/kafka');
// The package exports only its entry point; its package.json sits one directory above it.
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.resolve('@platformatic/kafka')), 'utf8')) as { version: string };

let env: SingleBroker;
test.before(async () => {
  env = await startSingleBroker();
  console.log(`@platformatic/kafka ${version} on Node ${process.version}`);
});
test.after(async () => {
  await env?.close();
});

/** Reads `n` records of a topic from its beginning with a fresh group, in arrival order. */
async function consumeFromBeginning(topic: string, n: number): Promise<Array<{ key: string; value: string; partition: number; offset: bigint }>> {
  const consumer = new Consumer({ groupId: `plat-read-${topic}`, clientId: 'plat-reader', bootstrapBrokers: [env.bootstrap], deserializers: stringDeserializers, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTime: 200 });
  const got: Array<{ key: string; value: string; partition: number; offset: bigint }> = [];
  try {
    const stream = await consumer.consume({ topics: [topic], autocommit: false, mode: 'earliest' });
    const deadline = Date.now() + 30_000;
    for await (const m of stream) {
      got.push({ key: m.key as string, value: m.value as string, partition: m.partition, offset: m.offset });
      if (got.length >= n || Date.now() > deadline) break;
    }
    await stream.close();
  } finally {
    await consumer.close(true);
  }
  return got;
}


test('admin creates a topic and the producer writes keyed records with headers', async () => {
  const admin = new Admin({ clientId: 'plat', bootstrapBrokers: [env.bootstrap] });
  const producer = new Producer({ clientId: 'plat', bootstrapBrokers: [env.bootstrap], serializers: stringSerializers, autocreateTopics: false });
  try {
    await admin.createTopics({ topics: ['plat'], partitions: 2, replicas: 1 });
    const messages = Array.from({ length: 50 }, (_, i) => ({ topic: 'plat', key: `k${i}`, value: `v${i}`, partition: i % 2, headers: new Map([['n', String(i)]]) }));
    const result = await producer.send({ messages });
    assert.equal(
      result.offsets?.map((o) => [o.partition, Number(o.offset)]).sort(),
      [
        [0, 0],
        [1, 0],
      ],
    );
  } finally {
    await producer.close();
    await admin.close();
  }
  const { stdout } = await run('kcat', ['-C', '-b', env.bootstrap, '-t', 'plat', '-o', 'beginning', '-e', '-q', '-f', '%p %o %k %s %h\n']);
  const rows = stdout.trimEnd().split('\n').sort();
  assert.is(rows.length, 50);
  for (let i = 0; i < 50; i++) {
    const p = i % 2;
    assert.ok(rows.includes(`${p} ${Math.floor(i / 2)} k${i} v${i} n=${i}`), `record ${i} missing`);
  }
});

test('the consumer reads the topic from the beginning: every record once, in offset order per partition', async () => {
  const got = await consumeFromBeginning('plat', 50);
  assert.is(got.length, 50);
  for (const p of [0, 1]) {
    const mine = got.filter((m) => m.partition === p);
    assert.equal(
      mine.map((m) => [Number(m.offset), m.key, m.value]),
      Array.from({ length: 25 }, (_, j) => [j, `k${2 * j + p}`, `v${2 * j + p}`]),
      `partition ${p}`,
    );
  }
});

test('the idempotent producer: every record once, in order per partition, in batches with its producer id', async () => {
  const admin = new Admin({ clientId: 'plat-idem', bootstrapBrokers: [env.bootstrap] });
  const producer = new Producer({ clientId: 'plat-idem', bootstrapBrokers: [env.bootstrap], serializers: stringSerializers, idempotent: true, autocreateTopics: false });
  const expected: string[][] = [[], [], []];
  try {
    await admin.createTopics({ topics: ['plat-idem'], partitions: 3, replicas: 1 });
    // Several sends in a row to the same partitions: the sequence numbers must keep advancing.
    for (let b = 0; b < 8; b++) {
      const messages = Array.from({ length: 12 }, (_, i) => ({ topic: 'plat-idem', key: `k${b}-${i}`, value: `idem-${b}-${i}`, partition: i % 3 }));
      for (const m of messages) expected[m.partition]!.push(m.value);
      await producer.send({ messages });
    }
    assert.ok(producer.producerId !== undefined && producer.producerId >= 0n, `InitProducerId gave an id: ${producer.producerId}`);
  } finally {
    await producer.close();
    await admin.close();
  }
  const got = await consumeFromBeginning('plat-idem', 96);
  for (const p of [0, 1, 2]) {
    assert.equal(got.filter((m) => m.partition === p).map((m) => m.value), expected[p], `partition ${p}: once each, in order`);
  }
  const ids = await storedProducerIds({ host: '127.0.0.1', port: env.broker.port }, 'plat-idem', 0);
  assert.ok(ids.length > 0 && ids.every((id) => id >= 0), `the stored batches carry a producer id: ${ids.join(',')}`);
});

test.run();
