// Consumer groups with librdkafka (kcat -G) and kafka-python (KafkaConsumer(group_id=...)) against one broker:
// every produced record is consumed with its contents, offsets are committed, and a second run of the same
// group resumes after them, consuming only what was produced since.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startSingleBroker, run, type SingleBroker } from '../helpers/single-broker.ts';
import { freePort } from '../../src/testing/nats-server.ts';

let env: SingleBroker;
let httpPort = 0;
const PYTHON = '/usr/bin/python3';

test.before(async () => {
  httpPort = await freePort();
  env = await startSingleBroker(['--num-partitions', '3', '--http', `127.0.0.1:${httpPort}`]);
});
test.after(async () => {
  await env?.close();
});

const produce = (topic: string, values: string[]) => run('kcat', ['-b', env.bootstrap, '-P', '-t', topic, '-K', ':'], { input: values.map((v, i) => `k${i}:${v}`).join('\n') + '\n' });

// kcat's -o in -G mode forces every assigned partition to that offset; auto.offset.reset only applies where
// nothing was committed, which is what resuming needs.
async function kcatGroup(group: string, topic: string, extra: string[] = []): Promise<string[]> {
  const { stdout } = await run('kcat', ['-b', env.bootstrap, '-G', group, ...extra, '-X', 'auto.offset.reset=earliest', '-e', '-q', '-f', '%k=%s\\n', '-X', 'enable.partition.eof=true', '-X', 'auto.commit.interval.ms=100', topic], { timeoutMs: 45_000 });
  return stdout.split('\n').filter((l) => l.length > 0);
}

test('kcat -G consumes every record once and resumes from its committed offsets', async () => {
  const first = Array.from({ length: 90 }, (_, i) => `first-${i}`);
  await produce('kc-topic', first);
  const got = await kcatGroup('kc-group', 'kc-topic');
  assert.equal(got.map((l) => l.split('=')[1]).sort(), [...first].sort());
  for (const line of got) {
    const [key, value] = line.split('=');
    assert.is(key, `k${first.indexOf(value)}`, 'key and value arrive together');
  }
  const second = Array.from({ length: 15 }, (_, i) => `second-${i}`);
  await produce('kc-topic', second);
  const again = await kcatGroup('kc-group', 'kc-topic');
  assert.equal(again.map((l) => l.split('=')[1]).sort(), [...second].sort(), 'only what came after the committed offsets');
});

const rebalances = async () => Number(/^kastor_group_rebalances_total(?:\{[^}]*\})? (\d+)/m.exec(await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text())?.[1]);

test('KIP-345: a restarted static member (kcat, group.instance.id) resumes without a rebalance', async () => {
  const staticArgs = ['-X', 'group.instance.id=kcat-instance-1', '-X', 'session.timeout.ms=30000'];
  const first = Array.from({ length: 20 }, (_, i) => `static-a-${i}`);
  await produce('kc-static', first);
  const a = await kcatGroup('kc-static-group', 'kc-static', staticArgs);
  assert.equal(a.map((l) => l.split('=')[1]).sort(), [...first].sort());
  const before = await rebalances();
  const second = Array.from({ length: 5 }, (_, i) => `static-b-${i}`);
  await produce('kc-static', second);
  const b = await kcatGroup('kc-static-group', 'kc-static', staticArgs);
  assert.equal(b.map((l) => l.split('=')[1]).sort(), [...second].sort(), 'resumes after its commits');
  assert.is(await rebalances(), before, 'the same instance coming back did not rebalance the group');
});

const PY = `
import json, sys
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
bootstrap, topic, group, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
got = []
consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset='earliest', enable_auto_commit=False, session_timeout_ms=10000, consumer_timeout_ms=20000)
for r in consumer:
    got.append([r.partition, r.offset, r.key.decode(), r.value.decode()])
    if len(got) >= n:
        break
consumer.commit()
committed = {str(tp.partition): consumer.committed(tp) for tp in consumer.assignment()}
consumer.close()
print(json.dumps({"got": got, "committed": committed}))
`;

test('kafka-python KafkaConsumer(group_id=...) consumes, commits, and a new consumer of the group resumes', async () => {
  const first = Array.from({ length: 60 }, (_, i) => `py-first-${i}`);
  await produce('py-group-topic', first);
  const runPy = async (n: number) => JSON.parse((await run(PYTHON, ['-c', PY, env.bootstrap, 'py-group-topic', 'py-group', String(n)], { timeoutMs: 60_000 })).stdout.trim().split('\n').pop()!);
  const a = await runPy(first.length);
  assert.equal(a.got.map((r: string[]) => r[3]).sort(), [...first].sort());
  for (const [, , key, value] of a.got) assert.is(key, `k${first.indexOf(value)}`);
  const ends: Record<string, number> = {};
  for (const [p, o] of a.got) ends[p] = Math.max(ends[p] ?? 0, o + 1);
  assert.equal(a.committed, ends, 'committed offsets are the next offsets to read');
  const second = Array.from({ length: 12 }, (_, i) => `py-second-${i}`);
  await produce('py-group-topic', second);
  const b = await runPy(second.length);
  assert.equal(b.got.map((r: string[]) => r[3]).sort(), [...second].sort(), 'resumes after the committed offsets');
});

test.run();
