// @platformatic/kafka 2.12 (flexible versions only: FindCoordinator v4+, JoinGroup v6+, SyncGroup/Heartbeat/
// LeaveGroup v4+, OffsetCommit/OffsetFetch v8+) as a group consumer: it consumes every record with its
// contents, commits each, and a second consumer of the group resumes after the commits.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startSingleBroker, run, type SingleBroker } from '../helpers/single-broker.ts';

import '../helpers/platformatic-shim.ts';

const { Consumer, stringDeserializers } = await import('@platformatic/kafka');

let env: SingleBroker;
test.before(async () => {
  env = await startSingleBroker(['--num-partitions', '2']);
});
test.after(async () => {
  await env?.close();
});

const produce = (values: string[]) => run('kcat', ['-b', env.bootstrap, '-P', '-t', 'plat-group', '-K', ':'], { input: values.map((v) => `${v}-key:${v}`).join('\n') + '\n' });

async function consume(n: number): Promise<Array<{ key: string; value: string; partition: number; offset: bigint }>> {
  const consumer = new Consumer({ groupId: 'plat-app', clientId: 'plat-consumer', bootstrapBrokers: [env.bootstrap], deserializers: stringDeserializers, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTime: 200 });
  const got: Array<{ key: string; value: string; partition: number; offset: bigint }> = [];
  try {
    const stream = await consumer.consume({ topics: ['plat-group'], autocommit: false, mode: 'committed', fallbackMode: 'earliest' });
    const deadline = Date.now() + 30_000;
    for await (const message of stream) {
      got.push({ key: message.key as string, value: message.value as string, partition: message.partition, offset: message.offset });
      await message.commit();
      if (got.length >= n || Date.now() > deadline) break;
    }
    await stream.close();
  } finally {
    await consumer.close(true);
  }
  return got;
}

test('a flexible-versions group consumer consumes, commits and resumes after its commits', async () => {
  const first = Array.from({ length: 40 }, (_, i) => `a${i}`);
  await produce(first);
  const a = await consume(first.length);
  assert.equal(a.map((m) => m.value).sort(), [...first].sort());
  for (const m of a) assert.is(m.key, `${m.value}-key`);
  const second = Array.from({ length: 10 }, (_, i) => `b${i}`);
  await produce(second);
  const b = await consume(second.length);
  assert.equal(b.map((m) => m.value).sort(), [...second].sort(), 'only the records after the committed offsets');
});

test.run();
