// DeleteRecords on three broker processes (replication factor 3), driven by real clients: KafkaJS 2.2.4's
// deleteTopicRecords moves the log start on every replica, so every broker that becomes leader afterwards (the
// leader is killed, then the next one, until a restarted broker leads) answers fetchTopicOffsets with the new
// start and kcat (librdkafka) reading from the beginning starts there; DescribeLogDirs (Kastor's admin) shows the
// replicas' bytes shrinking; `kastor topic delete-records` deletes more; and `kastor groups reset-offsets`
// resets a group (--to-earliest lands on the new start, --shift-by, --dry-run writes nothing) before
// `kastor groups delete` removes it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka as KafkaJS, logLevel, type Admin as KafkaJSAdmin } from 'kafkajs';
import { startTestCluster, type TestCluster } from '../../src/testing/test-cluster.ts';
import { Kafka } from '../../src/client/index.ts';
import { run } from '../helpers/single-broker.ts';
import { runProcess } from '../helpers/run-process.ts';
import { until } from '../helpers/until.ts';

const TOPIC = 'dr';
const bin = fileURLToPath(new URL('../../bin/kastor.js', import.meta.url));
const deleteRecordsScript = fileURLToPath(new URL('../../bin/kafka/kafka-delete-records.sh', import.meta.url));

/** kafka-delete-records.sh with an offset JSON file of these partitions. */
async function kafkaDeleteRecords(bootstrap: string, partitions: Array<{ topic: string; partition: number; offset: number }>) {
  const dir = mkdtempSync(join(tmpdir(), 'kastor-delete-records-'));
  try {
    const file = join(dir, 'offsets.json');
    writeFileSync(file, JSON.stringify({ partitions, version: 1 }));
    return await runProcess(deleteRecordsScript, ['--bootstrap-server', bootstrap, '--offset-json-file', file], { timeoutMs: 30_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function firstOffsetByKcat(bootstrap: string): Promise<number> {
  const { stdout } = await run('kcat', ['-C', '-b', bootstrap, '-t', TOPIC, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o\n']);
  const first = stdout.split('\n')[0]!;
  assert.ok(first !== '', 'kcat read no record from the beginning (an empty read is not offset 0)');
  return Number(first);
}

/**
 * Waits until the partition's leader exposes every record produced (`end`): a new leader's high watermark is
 * what it had learned as a follower, and it moves only once its ISR confirms the rest (Kafka's rule), or the
 * controller drops a dead member from the ISR. Until then a consumer reading from the beginning sees nothing
 * past it.
 */
async function waitForHighWatermark(admin: KafkaJSAdmin, end: number): Promise<void> {
  await until(`the leader's high watermark to reach ${end}`, async () => Number((await admin.fetchTopicOffsets(TOPIC))[0]!.high) === end, 30_000);
}

async function lowOf(admin: KafkaJSAdmin): Promise<number> {
  const [p] = await admin.fetchTopicOffsets(TOPIC);
  return Number(p!.low);
}

async function kastor(args: string[]): Promise<string> {
  const r = await runProcess(process.execPath, [bin, ...args], { timeoutMs: 30_000 });
  assert.is(r.code, 0, `kastor ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

test('deleteTopicRecords reaches every replica: each later leader, a restarted one too, starts at the new log start', async () => {
  let cluster: TestCluster | undefined;
  let admin: KafkaJSAdmin | undefined;
  const kastorAdmin = () => new Kafka({ bootstrap: cluster!.bootstrapServers, clientId: 'dr-test', retry: { retries: 10, maxBackoffMs: 500 } }).admin();
  try {
    cluster = await startTestCluster({ brokers: 3, topics: [{ name: TOPIC, partitions: 1, replicationFactor: 3, config: { 'segment.bytes': '4096' } }] });
    const bootstrap = cluster.bootstrapServers;
    const kafkajs = new KafkaJS({ clientId: 'dr-test', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 200 } });
    const producer = kafkajs.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    for (let b = 0; b < 20; b++) {
      await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ value: `v-${b * 10 + i}-${'x'.repeat(100)}` })) });
    }
    await producer.disconnect();
    admin = kafkajs.admin();
    await admin.connect();
    // KafkaJS's deleteTopicRecords needs the topic's metadata loaded first.
    await admin.fetchTopicMetadata({ topics: [TOPIC] });
    assert.is(await lowOf(admin), 0);

    const sizes = async () => {
      const a = kastorAdmin();
      try {
        const dirs = await a.describeLogDirs([{ topic: TOPIC, partition: 0 }]);
        for (const d of dirs) assert.ok(d.totalBytes > 0n && d.usableBytes > 0n && d.usableBytes <= d.totalBytes, `broker ${d.broker}'s file system: ${d.usableBytes} of ${d.totalBytes} bytes usable`);
        return new Map(dirs.map((d) => [d.broker, Number(d.partitions.find((p) => p.topic === TOPIC)?.size ?? -1)]));
      } finally {
        await a.close();
      }
    };
    const before = await sizes();
    assert.is(before.size, 3);
    for (const [b, size] of before) assert.ok(size > 10_000, `broker ${b} holds the records (${size} bytes)`);

    await admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 0, offset: '125' }] });
    assert.is(await lowOf(admin), 125);
    assert.is(await firstOffsetByKcat(bootstrap), 125, 'kcat from the beginning starts at the new log start');
    const after = await sizes();
    for (const [b, size] of after) assert.ok(size > 0 && size < before.get(b)!, `broker ${b} shrank from ${before.get(b)} to ${size} bytes`);

    // Kill the leader: the next one starts there too. Restart it, then leave it the only one to lead.
    const first = await cluster.killLeader(TOPIC, 0);
    const second = await cluster.waitForLeader(TOPIC, 0, { notBroker: first });
    assert.is(await lowOf(admin), 125, `broker ${second} as leader`);
    await waitForHighWatermark(admin, 200);
    assert.is(await firstOffsetByKcat(bootstrap), 125);
    await cluster.restartBroker(first);
    await cluster.waitForInSync(TOPIC, { timeoutMs: 30_000 });
    for (const id of cluster.brokers) {
      if (id !== first && cluster.stateOf(id) === 'running') await cluster.killBroker(id);
    }
    assert.is(await cluster.waitForLeader(TOPIC, 0, { timeoutMs: 30_000 }), first);
    assert.is(await lowOf(admin), 125, `the restarted broker ${first} as leader`);
    await waitForHighWatermark(admin, 200);
    assert.is(await firstOffsetByKcat(bootstrap), 125);
    const one = await kastor(['topic', 'delete-records', TOPIC, '--partition', '0', '--before', '150', '--json', '--bootstrap', bootstrap]);
    assert.equal(JSON.parse(one), { topic: TOPIC, partition: 0, lowWatermark: '150' });
    assert.is(await firstOffsetByKcat(bootstrap), 150);
    const script = await kafkaDeleteRecords(bootstrap, [{ topic: TOPIC, partition: 0, offset: 170 }]);
    assert.is(script.code, 0, script.stderr);
    assert.is(script.stdout, `Executing records delete operation\nRecords delete operation completed:\npartition: ${TOPIC}-0\tlow_watermark: 170\n`);
    const past = await kafkaDeleteRecords(bootstrap, [{ topic: TOPIC, partition: 0, offset: 1_000_000 }]);
    assert.match(past.stdout, /partition: dr-0\terror: The requested offset is not within the range of offsets/);
    const dup = await kafkaDeleteRecords(bootstrap, [{ topic: TOPIC, partition: 0, offset: 1 }, { topic: TOPIC, partition: 0, offset: 2 }]);
    assert.is(dup.code, 1);
    assert.match(dup.stderr, /duplicate topic partitions: dr-0/);
    assert.is(await lowOf(admin), 170);
  } finally {
    await admin?.disconnect().catch(() => {});
    await cluster?.close();
  }
});

test('kastor groups reset-offsets and delete on a topic whose records were deleted', async () => {
  let cluster: TestCluster | undefined;
  let admin: KafkaJSAdmin | undefined;
  try {
    cluster = await startTestCluster({ brokers: 3, topics: [{ name: TOPIC, partitions: 2, replicationFactor: 3 }] });
    const bootstrap = cluster.bootstrapServers;
    const kafkajs = new KafkaJS({ clientId: 'dr-groups', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 200 } });
    const producer = kafkajs.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    for (const partition of [0, 1]) await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: 50 }, (_, i) => ({ partition, value: `m${i}` })) });
    await producer.disconnect();
    admin = kafkajs.admin();
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: [TOPIC] });
    await admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 0, offset: '20' }] });
    await admin.setOffsets({ groupId: 'g', topic: TOPIC, partitions: [{ partition: 0, offset: '30' }, { partition: 1, offset: '40' }] });
    const committed = async () => new Map((await admin!.fetchOffsets({ groupId: 'g', topics: [TOPIC] }))[0]!.partitions.map((p) => [p.partition, Number(p.offset)]));

    const dry = JSON.parse(await kastor(['groups', 'reset-offsets', 'g', '--topic', TOPIC, '--shift-by', '-15', '--dry-run', '--json', '--bootstrap', bootstrap]));
    assert.equal(dry.offsets.map((o: { partition: number; offset: string }) => [o.partition, o.offset]), [[0, '20'], [1, '25']], 'shifted, and clamped to the log start');
    assert.equal([...(await committed())], [[0, 30], [1, 40]], 'a dry run writes nothing');
    const text = await kastor(['groups', 'reset-offsets', 'g', '--topic', TOPIC, '--to-earliest', '--bootstrap', bootstrap]);
    assert.match(text, /reset 2 partition\(s\) of group g/);
    assert.equal([...(await committed())].sort(), [[0, 20], [1, 0]], 'earliest is the log start DeleteRecords left');
    await kastor(['groups', 'reset-offsets', 'g', '--topic', `${TOPIC}:1`, '--to-offset', '45', '--bootstrap', bootstrap]);
    assert.is((await committed()).get(1), 45);

    const bad = await runProcess(process.execPath, [bin, 'groups', 'reset-offsets', 'g', '--topic', TOPIC, '--bootstrap', bootstrap]);
    assert.is(bad.code, 2, 'no scenario is a usage error');
    assert.equal(JSON.parse(await kastor(['groups', 'delete', 'g', '--json', '--bootstrap', bootstrap])), { deleted: 'g' });
    assert.equal([...(await committed())].map(([, o]) => o), [-1, -1], 'the group and its offsets are gone');
    const again = await runProcess(process.execPath, [bin, 'groups', 'delete', 'g', '--bootstrap', bootstrap]);
    assert.is(again.code, 1);
    assert.match(again.stderr, /GROUP_ID_NOT_FOUND/);
  } finally {
    await admin?.disconnect().catch(() => {});
    await cluster?.close();
  }
});

test.run();
