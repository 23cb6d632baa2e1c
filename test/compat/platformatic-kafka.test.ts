// @platformatic/kafka 2.12 speaks only flexible versions (ApiVersions v3, Metadata 9+, Produce 9, CreateTopics 7):
// its admin and producer against a live broker, checked with kcat record by record.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startSingleBroker, run, type SingleBroker } from '../helpers/single-broker.ts';

import '../helpers/platformatic-shim.ts';

const { Producer, Admin, stringSerializers } = await import('@platformatic/kafka');

let env: SingleBroker;
test.before(async () => {
  env = await startSingleBroker();
});
test.after(async () => {
  await env?.close();
});

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

test.run();
