// Committed offsets live in __consumer_offsets: after a SIGKILL and restart of the (single) broker, the
// coordinator reloads them from the log and a consumer of the group resumes exactly where the group had
// committed — both a group member's commits and a simple (generation -1) commit to the Empty group. Also the
// admin side of groups on KafkaJS: describe, list, and delete (refused while the group has members).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { until } from '../helpers/until.ts';
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { startSingleBroker, type SingleBroker } from '../helpers/single-broker.ts';
import { groupsCommand } from '../../src/cli/groups-command.ts';
import { freePort } from '../../src/testing/nats-server.ts';

let httpPort = 0;

/** Runs `kastor groups ...` in-process and returns what it printed. */
async function groupsCli(...args: string[]): Promise<string> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  try {
    assert.is(await groupsCommand([...args, '--bootstrap', env.bootstrap]), 0);
  } finally {
    console.log = log;
  }
  return lines.join('\n');
}

const TOPIC = 'resume-topic';
const GROUP = 'resume-group';
let env: SingleBroker;
const kafka = () => new Kafka({ clientId: 'group-restart', brokers: [env.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });

async function produce(prefix: string, perPartition: number): Promise<void> {
  const producer = kafka().producer();
  await producer.connect();
  for (const partition of [0, 1]) {
    await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: perPartition }, (_, i) => ({ partition, value: `${prefix}-p${partition}-${i}` })) });
  }
  await producer.disconnect();
}

/** Runs a group consumer until it has `n` records; commits after each one. */
async function consume(n: number, onRunning?: (c: Consumer, admin: Admin) => Promise<void>): Promise<Array<{ partition: number; offset: number; value: string }>> {
  const got: Array<{ partition: number; offset: number; value: string }> = [];
  const consumer = kafka().consumer({ groupId: GROUP, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      got.push({ partition, offset: Number(message.offset), value: message.value!.toString() });
      await consumer.commitOffsets([{ topic: TOPIC, partition, offset: String(Number(message.offset) + 1) }]);
    },
  });
  try {
    await until(`${n} records`, () => got.length >= n, 30_000);
    if (onRunning) {
      const admin = kafka().admin();
      await admin.connect();
      await onRunning(consumer, admin).finally(() => admin.disconnect());
    }
  } finally {
    await consumer.disconnect();
  }
  return got;
}

test.before(async () => {
  httpPort = await freePort();
  env = await startSingleBroker(['--http', `127.0.0.1:${httpPort}`]);
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }], waitForLeaders: true });
  await admin.disconnect();
});
test.after(async () => {
  await env?.close();
});

test('committed offsets survive a SIGKILL and restart of the broker; consumption resumes where committed', async () => {
  await produce('one', 20);
  const first = await consume(40, async (_consumer, admin) => {
    const described = await admin.describeGroups([GROUP]);
    assert.is(described.groups[0].state, 'Stable');
    assert.is(described.groups[0].protocolType, 'consumer');
    assert.is(described.groups[0].members.length, 1);
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const rebalances = Number(/^kastor_group_rebalances_total(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1] ?? 0);
    assert.ok(rebalances >= 1, `the broker counted the group's rebalance (${rebalances})`);
    const cli = JSON.parse(await groupsCli('describe', GROUP, '--json'));
    assert.is(cli.state, 'Stable');
    assert.equal(cli.members[0].assignment, [{ topic: TOPIC, partitions: [0, 1] }], 'the consumer protocol assignment, decoded');
    const listed = await admin.listGroups();
    assert.ok(listed.groups.some((g) => g.groupId === GROUP && g.protocolType === 'consumer'));
    const refused = await admin.deleteGroups([GROUP]).then(
      () => null,
      (err: { groups?: Array<{ error?: { type?: string } }> }) => err.groups?.[0]?.error?.type ?? 'unknown',
    );
    assert.is(refused, 'NON_EMPTY_GROUP', 'a group with members cannot be deleted');
  });
  assert.is(first.length, 40);
  assert.equal(new Set(first.map((r) => r.value)).size, 40);

  const admin = kafka().admin();
  await admin.connect();
  // A simple commit (generation -1, no member id) to the now Empty group moves partition 0 back to 5.
  await admin.setOffsets({ groupId: GROUP, topic: TOPIC, partitions: [{ partition: 0, offset: '5' }] });
  const before = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
  await admin.disconnect();
  const byPartition = (r: typeof before) => Object.fromEntries(r[0].partitions.map((p) => [p.partition, p.offset]));
  assert.equal(byPartition(before), { 0: '5', 1: '20' });

  await env.broker.kill();
  await env.broker.restart();

  const admin2 = kafka().admin();
  await admin2.connect();
  const after = await admin2.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
  await admin2.disconnect();
  assert.equal(byPartition(after), { 0: '5', 1: '20' }, 'the coordinator reloaded the offsets from __consumer_offsets');

  await produce('two', 3);
  const resumed = await consume(15 + 3 + 3);
  const expected = [
    ...Array.from({ length: 15 }, (_, i) => `one-p0-${i + 5}`),
    ...Array.from({ length: 3 }, (_, i) => `two-p0-${i}`),
    ...Array.from({ length: 3 }, (_, i) => `two-p1-${i}`),
  ];
  assert.equal(resumed.map((r) => r.value).sort(), expected.sort());
  assert.equal(Math.min(...resumed.filter((r) => r.partition === 0).map((r) => r.offset)), 5);
  assert.equal(Math.min(...resumed.filter((r) => r.partition === 1).map((r) => r.offset)), 20);

  // `kastor groups`: the Empty group, its committed offsets, and the lag once more records arrive.
  await produce('three', 4);
  const listed = JSON.parse(await groupsCli('list', '--json'));
  assert.ok(listed.some((g: { groupId: string; state: string }) => g.groupId === GROUP && g.state === 'Empty'));
  const described = JSON.parse(await groupsCli('describe', GROUP, '--json'));
  assert.is(described.state, 'Empty');
  assert.equal(
    described.offsets.map((o: { partition: number; committed: number; logEnd: number; lag: number }) => [o.partition, o.committed, o.logEnd, o.lag]),
    [[0, 23, 27, 4], [1, 23, 27, 4]],
  );
  assert.match(await groupsCli('describe', GROUP), /resume-topic\s+0\s+23\s+27\s+4/);

  const admin3 = kafka().admin();
  await admin3.connect();
  await admin3.deleteGroups([GROUP]);
  const gone = await admin3.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
  await admin3.disconnect();
  assert.equal(byPartition(gone), { 0: '-1', 1: '-1' }, 'deleting the empty group removed its offsets');
});

test.run();
