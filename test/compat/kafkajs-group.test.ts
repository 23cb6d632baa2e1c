// KafkaJS consumer groups against one broker, each consumer its own process: three consumers share a
// 6-partition topic two partitions each; a fourth joins and the assignment spreads; one is SIGKILLed and its
// partitions move to the others once its session times out. Every produced record is consumed, and no record
// is consumed again past an acknowledged commit of the consumer that first had it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { until } from '../helpers/until.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { startSingleBroker, type SingleBroker } from '../helpers/single-broker.ts';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'kafkajs-group-consumer.ts');
const TOPIC = 'group-orders';
const GROUP = 'orders-app';
const SESSION_MS = 6000;

interface Line {
  event: string;
  partitions?: number[];
  partition?: number;
  offset?: number;
  value?: string;
  at: number;
}

class ConsumerProc {
  readonly lines: Line[] = [];
  readonly child: ChildProcess;
  constructor(
    readonly name: string,
    bootstrap: string,
  ) {
    this.child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, bootstrap, GROUP, TOPIC], { stdio: ['ignore', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout! }).on('line', (l) => {
      try {
        this.lines.push({ ...JSON.parse(l), at: Date.now() });
      } catch {
        /* not a JSON line */
      }
    });
  }
  get assignment(): number[] | null {
    const a = this.lines.filter((l) => l.event === 'assigned').at(-1);
    return a ? a.partitions! : null;
  }
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
}

let env: SingleBroker;
let producer: Producer;
const procs: ConsumerProc[] = [];

/** The live consumers' latest assignments split the 6 partitions between them with these sizes. */
function spreadIs(live: ConsumerProc[], sizes: number[]): boolean {
  const all = live.map((p) => p.assignment);
  if (all.some((a) => a === null)) return false;
  const flat = all.flatMap((a) => a!).sort((a, b) => a - b);
  return flat.join() === '0,1,2,3,4,5' && all.map((a) => a!.length).sort().join() === [...sizes].sort().join();
}

const sent: string[] = [];
async function produce(round: string, n: number): Promise<void> {
  const messages = Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `${round}-${i}` }));
  sent.push(...messages.map((m) => m.value));
  await producer.send({ topic: TOPIC, acks: -1, messages });
}

const consumedValues = () => new Set(procs.flatMap((p) => p.lines.filter((l) => l.event === 'message').map((l) => l.value!)));

test.before(async () => {
  env = await startSingleBroker();
  const kafka = new Kafka({ clientId: 'group-test-admin', brokers: [env.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 6 }], waitForLeaders: true });
  await admin.disconnect();
  producer = kafka.producer();
  await producer.connect();
});

test.after(async () => {
  for (const p of procs) if (p.alive) p.child.kill('SIGKILL');
  await producer?.disconnect().catch(() => {});
  await env?.close();
});

test('three consumers get two partitions each, a fourth spreads them, a SIGKILLed one\'s partitions move within the session timeout', async () => {
  for (let i = 0; i < 3; i++) procs.push(new ConsumerProc(`c${i}`, env.bootstrap));
  await until('3 consumers with 2 partitions each', () => spreadIs(procs, [2, 2, 2]), 30_000);
  await produce('a', 60);
  await until('round a consumed', () => sent.every((v) => consumedValues().has(v)), 20_000);

  procs.push(new ConsumerProc('c3', env.bootstrap));
  await until('4 consumers sharing 6 partitions 2/2/1/1', () => spreadIs(procs, [2, 2, 1, 1]), 30_000);
  await produce('b', 60);
  await until('round b consumed', () => sent.every((v) => consumedValues().has(v)), 20_000);

  const victim = procs.find((p) => p.assignment!.length === 2)!;
  const victimPartitions = victim.assignment!;
  victim.child.kill('SIGKILL');
  await until('the victim to die', () => !victim.alive, 5000);
  await produce('c', 60);
  const live = procs.filter((p) => p !== victim);
  const moved = await until('the survivors to take over its partitions', () => spreadIs(live, [2, 2, 2]), SESSION_MS + 10_000);
  assert.ok(moved >= SESSION_MS - 1000, `the dead member is noticed by its session timeout, not earlier (${moved} ms)`);
  assert.ok(moved < SESSION_MS + 6000, `partitions moved ${moved} ms after the kill`);
  for (const p of victimPartitions) assert.ok(live.some((c) => c.assignment!.includes(p)), `partition ${p} has a new owner`);
  await until('round c consumed', () => sent.every((v) => consumedValues().has(v)), 20_000);

  // No record is consumed again past an acknowledged commit: a second delivery of (partition, offset) is only
  // allowed if the first consumer had not confirmed committing past it before the second delivery.
  const deliveries = new Map<string, Array<{ who: ConsumerProc; at: number }>>();
  for (const p of procs) for (const l of p.lines) if (l.event === 'message') {
    const key = `${l.partition}@${l.offset}`;
    if (!deliveries.has(key)) deliveries.set(key, []);
    deliveries.get(key)!.push({ who: p, at: l.at });
  }
  let duplicates = 0;
  for (const [key, ds] of deliveries) {
    if (ds.length < 2) continue;
    duplicates++;
    const [partition, offset] = key.split('@').map(Number);
    const first = ds[0];
    const committedPast = first.who.lines.some((l) => l.event === 'committed' && l.partition === partition && l.offset! > offset && l.at < ds[1].at);
    assert.not.ok(committedPast, `record ${key} was consumed again after ${first.who.name} had committed past it`);
  }
  assert.is(deliveries.size, sent.length, 'each produced record was delivered at least once');
  assert.ok(duplicates <= 10, `few redeliveries (${duplicates}), only of uncommitted records`);
});

test.run();
