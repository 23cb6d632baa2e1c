// A broker whose process may open only 300 files hosts 250 partitions (750 segment files): within the
// descriptor budget of src/runtime/node/descriptor-pool.ts it takes a record on every partition, serves them all
// back, holds at most its limit of descriptors, and restarts (log recovery of every partition) to serve them
// again. Before the budget, a broker past its open-file limit marked every replica it could not open offline
// (EMFILE), as the 10,000-partition bench did on this machine's limit of 20,000.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerProcess } from '../../src/testing/broker-process.ts';
import { NatsServer } from '../../src/testing/nats-server.ts';
import { Kafka, type Consumer } from '../../src/client/index.ts';

const LIMIT = 300;
const PARTITIONS = 250;
const root = mkdtempSync(join(tmpdir(), 'kastor-open-file-budget-'));
const cleanups: Array<() => Promise<unknown> | unknown> = [];

test.after(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  rmSync(root, { recursive: true, force: true });
});

async function readAll(consumer: Consumer, n: number, timeoutMs: number): Promise<Map<number, string>> {
  const seen = new Map<number, string>();
  const deadline = Date.now() + timeoutMs;
  while (seen.size < n) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`read ${seen.size} of ${n} partitions' records within ${timeoutMs} ms`);
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([consumer.next(), new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), left)))]);
    clearTimeout(timer);
    if (r === null) continue;
    if (r.done) break;
    for (const rec of r.value.records) seen.set(r.value.partition, rec.value!.toString());
  }
  return seen;
}

function descriptorsOf(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

test(`${PARTITIONS} partitions on a broker limited to ${LIMIT} open files: produce, consume, restart, consume`, async () => {
  const nats = await NatsServer.start({ dir: join(root, 'nats') });
  cleanups.push(() => nats.dispose());
  const broker = await BrokerProcess.start({ id: 1, natsUrl: nats.url, dataDir: join(root, 'b1'), openFileLimit: LIMIT });
  cleanups.push(() => broker.kill());
  const kafka = new Kafka({ bootstrap: broker.bootstrap, clientId: 'fd-budget', retry: { retries: 8, initialBackoffMs: 100, maxBackoffMs: 1_000 } });
  const admin = kafka.admin();
  await admin.createTopics([{ topic: 'many', numPartitions: PARTITIONS, replicationFactor: 1 }], { timeoutMs: 60_000 });
  await admin.close();

  const producer = kafka.producer({ acks: -1 });
  await producer.send({ topic: 'many', messages: Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, value: `value of ${p}` })) });
  await producer.close();

  const read = async () => {
    const consumer = kafka.consumer({ maxWaitMs: 100 });
    consumer.assign(Array.from({ length: PARTITIONS }, (_, p) => ({ topic: 'many', partition: p, offset: 'earliest' as const })));
    try {
      return await readAll(consumer, PARTITIONS, 60_000);
    } finally {
      await consumer.close();
    }
  };
  const first = await read();
  for (let p = 0; p < PARTITIONS; p++) assert.is(first.get(p), `value of ${p}`);
  assert.ok(descriptorsOf(broker.pid!) <= LIMIT, `${descriptorsOf(broker.pid!)} descriptors open`);

  await broker.kill();
  await broker.restart();
  const again = await read();
  for (let p = 0; p < PARTITIONS; p++) assert.is(again.get(p), `value of ${p}`);
  const problems = broker.logs.filter((l) => /EMFILE|offline/.test(l));
  assert.equal(problems, [], 'no file could not be opened and no replica went offline');
});

test.run();
