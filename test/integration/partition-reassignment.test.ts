// Partition reassignment (KIP-455) and leader elections (ElectLeaders) on three real `kastor broker` processes.
// - A partition on [controller, a] moves to [a, b] while KafkaJS produces to it with acks=all: with b frozen
//   the reassignment is ongoing (ListPartitionReassignments, Kastor's admin and KafkaJS's, shows replicas
//   [a,b,controller], adding b, removing the controller); once b runs it catches up, joins the ISR, the
//   assignment becomes [a,b], leadership moves from the removed broker to a in a new epoch, producing goes on,
//   no acknowledged record is lost (everything read back with kcat), a's and b's logs are byte-identical below
//   the high watermark, and the removed broker no longer holds the partition's directory.
// - Cancelling an ongoing reassignment (null replicas) puts the original replicas back; a target naming an
//   unregistered broker is INVALID_REPLICA_ASSIGNMENT. CreatePartitions on the topic meanwhile is
//   REASSIGNMENT_IN_PROGRESS (Kastor's admin and KafkaJS's), as Kafka's ZkAdminManager; afterwards it grows.
// - After a failover moved leadership away from the preferred replica, ElectLeaders PREFERRED (Kastor's admin,
//   and v0 over the wire) brings it back in a new epoch; asked again it is ELECTION_NOT_NEEDED; UNCLEAN on a
//   led partition is ELECTION_NOT_NEEDED.
// - `kastor cluster reassign --plan` moves a partition and reports progress until done;
//   `kastor cluster elect-leaders --json` answers per partition; `kastor cluster rebalance` evens out replicas and
//   preferred leaders over the brokers (its --dry-run changes nothing).
// - Kafka's kafka-reassign-partitions.sh (--execute printing the rollback JSON, --verify, --list, --cancel) and
//   kafka-leader-election.sh move a partition and its leadership.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka as KafkaJS, logLevel } from 'kafkajs';
import { startTestCluster, type TestCluster } from '../../src/testing/index.ts';
import { roundTrip } from '../../src/testing/kafka-request.ts';
import { encodeRequest, decodeResponse } from '../../src/protocol/frames.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import type { ElectLeadersResponse } from '../../src/protocol/generated/elect-leaders.ts';
import { Kafka } from '../../src/client/index.ts';
import type { Admin } from '../../src/client/admin.ts';
import { startKafkaJsWorkload, verify, waitForProgress } from '../helpers/chaos-workload.ts';
import { runProcess } from '../helpers/run-process.ts';
import { until } from '../helpers/until.ts';

const bin = fileURLToPath(new URL('../../bin/kastor.js', import.meta.url));
const kafkaBin = fileURLToPath(new URL('../../bin/kafka', import.meta.url));
let cluster: TestCluster;
let admin: Admin;
let kjs: KafkaJS;
let dir: string;
/** The controller (c) and the two other brokers (a < b), fixed at the start. */
let c: number, a: number, b: number;

test.before(async () => {
  cluster = await startTestCluster({ brokers: 3 });
  c = cluster.metadata().controller!.brokerId;
  [a, b] = cluster.brokers.filter((id) => id !== c) as [number, number];
  admin = new Kafka({ bootstrap: cluster.bootstrapServers, clientId: 'reassignment-test' }).admin();
  // Not bootstrapped from b, which the tests freeze (KafkaJS picks its bootstrap broker at random).
  kjs = new KafkaJS({ clientId: 'reassignment-test-kjs', brokers: [a, c].map((id) => `127.0.0.1:${cluster.addressOf(id).port}`), logLevel: logLevel.NOTHING });
  dir = mkdtempSync(join(tmpdir(), 'kastor-reassign-test-'));
});

test.after(async () => {
  await admin?.close();
  await cluster?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Creates a one-partition topic on exactly `replicas` (KafkaJS's manual replica assignment) and waits until it is in sync. */
async function createOn(topic: string, replicas: number[]): Promise<void> {
  const kadmin = kjs.admin();
  await kadmin.connect();
  try {
    assert.ok(await kadmin.createTopics({ topics: [{ topic, replicaAssignment: [{ partition: 0, replicas }] }], waitForLeaders: true }));
  } finally {
    await kadmin.disconnect();
  }
  await cluster.waitForInSync(topic, { timeoutMs: 20_000 });
  assert.equal(cluster.partitionState(topic, 0).replicas, replicas);
}

const ongoing = async (topic: string) => (await admin.listPartitionReassignments([{ topic, partition: 0 }])).length > 0;

test('a partition moves to [a, b] under acks=all load: leadership leaves the removed broker, nothing acknowledged is lost, logs identical', async () => {
  const topic = 'moving';
  await createOn(topic, [c, a]);
  assert.is(cluster.partitionState(topic, 0).leader, c);
  const epochBefore = cluster.partitionState(topic, 0).leaderEpoch;
  const w = await startKafkaJsWorkload(cluster, { topic, partitions: 1, paceMs: 2, maxRecords: 30_000 });
  try {
    await until('the first acknowledged records', () => w.acked() >= 300, 20_000);
    // b frozen: it cannot catch up, so the reassignment is seen ongoing.
    cluster.pauseBroker(b);
    try {
      const results = await admin.alterPartitionReassignments([{ topic, partition: 0, replicas: [a, b] }], { timeoutMs: 10_000 });
      assert.equal(results, [{ topic, partition: 0, errorCode: 0, errorMessage: null }]);
      assert.equal(await admin.listPartitionReassignments(), [{ topic, partition: 0, replicas: [a, b, c], addingReplicas: [b], removingReplicas: [c] }]);
      const kadmin = kjs.admin();
      await kadmin.connect();
      const listed = await kadmin.listPartitionReassignments({ topics: [{ topic, partitions: [0] }] });
      await kadmin.disconnect();
      assert.equal(listed.topics, [{ name: topic, partitions: [{ partition: 0, replicas: [a, b, c], addingReplicas: [b], removingReplicas: [c] }] }]);
      assert.equal(cluster.partitionState(topic, 0).leader, c, 'the leader stays until the target is in sync');
    } finally {
      cluster.resumeBroker(b);
    }
    const tookMs = await until('the reassignment to complete', async () => !(await ongoing(topic)), 30_000, 100);
    const after = cluster.partitionState(topic, 0);
    assert.equal(after.replicas, [a, b]);
    assert.is(after.leader, a, 'leadership moved off the removed broker');
    assert.ok(after.leaderEpoch > epochBefore, `a new leader epoch: ${epochBefore} -> ${after.leaderEpoch}`);
    assert.is(after.addingReplicas, undefined);
    await waitForProgress(w, 1, 200, 20_000);
    console.log(JSON.stringify({ scenario: 'reassign-under-load', reassignMs: tookMs, ackedWhenDone: w.acked() }));
  } finally {
    await w.stop();
  }
  const v = await verify(cluster, topic, 1, w.sent, w.lateAcks);
  assert.ok(v.acked >= 500, `acknowledged ${v.acked}`);
  assert.equal(cluster.partitionDirs(topic, 0), [join(cluster.brokerDataDir(a), `${topic}-0`), join(cluster.brokerDataDir(b), `${topic}-0`)]);
  await until('the removed broker to delete its replica', () => !existsSync(join(cluster.brokerDataDir(c), `${topic}-0`)), 10_000);
});

test('cancelling an ongoing reassignment puts the original replicas back; an unknown broker is refused', async () => {
  const topic = 'cancelled';
  await createOn(topic, [c, a]);
  const refused = await admin.alterPartitionReassignments([{ topic, partition: 0, replicas: [a, 99] }]);
  assert.is(refused[0]!.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.match(refused[0]!.errorMessage ?? '', 'broker 99');
  const missing = await admin.alterPartitionReassignments([{ topic: 'no-such-topic', partition: 0, replicas: [a] }]);
  assert.is(missing[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const kadmin = kjs.admin();
  await kadmin.connect();
  cluster.pauseBroker(b);
  try {
    // KafkaJS's admin: a per-partition error rejects the call; a valid target starts the reassignment.
    const kjsRefusal = await kadmin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [a, 98] }] }] }).then(() => null, (err: Error & { errors?: Array<{ type?: string }> }) => err);
    assert.ok(kjsRefusal, 'KafkaJS rejects a target naming an unregistered broker');
    assert.is(kjsRefusal!.errors?.[0]?.type, 'INVALID_REPLICA_ASSIGNMENT', String(kjsRefusal));
    await kadmin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [a, b] }] }] });
    assert.ok(await ongoing(topic));
    // Adding partitions meanwhile is refused, as Kafka's ZkAdminManager does (no single replication factor).
    const grow = await admin.createPartitions(topic, 2).then(() => null, (err: Error & { code?: number }) => err);
    assert.is(grow?.code, ErrorCode.REASSIGNMENT_IN_PROGRESS, String(grow));
    assert.match(grow!.message, `A partition reassignment is in progress for the topic '${topic}'.`);
    const kjsGrow = await kadmin.createPartitions({ topicPartitions: [{ topic, count: 2 }] }).then(() => null, (err: Error & { type?: string }) => err);
    assert.is(kjsGrow?.type, 'REASSIGNMENT_IN_PROGRESS', String(kjsGrow));
    assert.is(cluster.metadata().topics[topic]!.partitions.length, 1, 'nothing was added');
    assert.is((await admin.alterPartitionReassignments([{ topic, partition: 0, replicas: null }]))[0]!.errorCode, 0);
    assert.not.ok(await ongoing(topic));
    const p = cluster.partitionState(topic, 0);
    assert.equal(new Set(p.replicas), new Set([c, a]));
    assert.is(p.leader, c);
    assert.is((await admin.alterPartitionReassignments([{ topic, partition: 0, replicas: null }]))[0]!.errorCode, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
  } finally {
    cluster.resumeBroker(b);
    await kadmin.disconnect();
  }
  // Once no reassignment is ongoing, the topic grows.
  await admin.createPartitions(topic, 2, { timeoutMs: 20_000 });
  await until('the second partition in the test cluster\'s metadata view', () => cluster.metadata().topics[topic]!.partitions.length === 2, 10_000);
});

test('ElectLeaders PREFERRED brings leadership back to the first replica after a failover', async () => {
  const topic = 'preferred';
  await createOn(topic, [a, b]);
  await cluster.stopBroker(a); // controlled shutdown: b takes over
  await cluster.waitForLeader(topic, 0, { notBroker: a, timeoutMs: 15_000 });
  await cluster.restartBroker(a);
  await cluster.waitForInSync(topic, { timeoutMs: 20_000 });
  const failedOver = cluster.partitionState(topic, 0);
  assert.is(failedOver.leader, b);
  assert.equal(await admin.electLeaders({ type: 'preferred', partitions: [{ topic, partition: 0 }] }), [{ topic, partition: 0, errorCode: 0, errorMessage: null }]);
  const back = cluster.partitionState(topic, 0);
  assert.is(back.leader, a);
  assert.is(back.leaderEpoch, failedOver.leaderEpoch + 1);
  // Again, over the wire in v0 (no election type, no top-level error code): nothing to do.
  const req = encodeRequest(ApiKey.ElectLeaders, 0, 7, 'reassignment-test', { topicPartitions: [{ topic, partitions: [0] }], timeoutMs: 10_000 });
  const res: ElectLeadersResponse = decodeResponse(ApiKey.ElectLeaders, 0, await roundTrip(cluster.addressOf(c), ApiKey.ElectLeaders, req, 15_000)).body;
  assert.is(res.replicaElectionResults[0]!.partitionResult[0]!.errorCode, ErrorCode.ELECTION_NOT_NEEDED);
  // Every partition: those already led by their preferred replica are left out.
  const all = await admin.electLeaders({ type: 'preferred' });
  assert.not.ok(all.some((r) => r.topic === topic), JSON.stringify(all));
  const unclean = await admin.electLeaders({ type: 'unclean', partitions: [{ topic, partition: 0 }, { topic, partition: 5 }] });
  assert.equal(unclean.map((r) => [r.partition, r.errorCode]).sort(), [[0, ErrorCode.ELECTION_NOT_NEEDED], [5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
});

test('kastor cluster reassign --plan moves a partition with progress on stderr; elect-leaders --json', async () => {
  const topic = 'cli-moved';
  await createOn(topic, [a, c]);
  const plan = join(dir, 'plan.json');
  writeFileSync(plan, JSON.stringify({ version: 1, partitions: [{ topic, partition: 0, replicas: [b, a] }] }));
  const r = await runProcess(process.execPath, [bin, 'cluster', 'reassign', '--plan', plan, '--json', '--bootstrap', cluster.bootstrapServers], { timeoutMs: 60_000 });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, 'reassignment done: 1 partition(s)');
  const out = JSON.parse(r.stdout);
  assert.is(out.done, true);
  assert.equal(out.partitions[0].replicas, [b, a]);
  assert.equal(cluster.partitionState(topic, 0).replicas, [b, a]);
  // b is the preferred leader now, a still leads: a preferred election moves it.
  const e = await runProcess(process.execPath, [bin, 'cluster', 'elect-leaders', '--topic', topic, '--partition', '0', '--json', '--bootstrap', cluster.bootstrapServers], { timeoutMs: 30_000 });
  assert.is(e.code, 0, e.stderr);
  assert.equal(JSON.parse(e.stdout).results, [{ topic, partition: 0, errorCode: 0, errorMessage: null, error: null }]);
  assert.is(cluster.partitionState(topic, 0).leader, b);
  const bad = await runProcess(process.execPath, [bin, 'cluster', 'elect-leaders', '--partition', '0', '--bootstrap', cluster.bootstrapServers], { timeoutMs: 30_000 });
  assert.is(bad.code, 2);
  assert.match(bad.stderr, '--partition needs --topic');
});

test('kastor cluster rebalance evens out replicas and preferred leaders across the brokers', async () => {
  const counts = () => {
    const replicas = new Map(cluster.brokers.map((id) => [id, 0]));
    const preferred = new Map(cluster.brokers.map((id) => [id, 0]));
    for (const t of Object.values(cluster.metadata().topics)) {
      for (const p of t.partitions) {
        for (const r of p.replicas) replicas.set(r, replicas.get(r)! + 1);
        preferred.set(p.replicas[0]!, preferred.get(p.replicas[0]!)! + 1);
      }
    }
    return { replicas: [...replicas.values()], preferred: [...preferred.values()] };
  };
  const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
  const kastor = (args: string[]) => runProcess(process.execPath, [bin, 'cluster', 'rebalance', ...args, '--bootstrap', cluster.bootstrapServers], { timeoutMs: 60_000 });
  const dry = await kastor(['--dry-run', '--json']);
  assert.is(dry.code, 0, dry.stderr);
  const plan = JSON.parse(dry.stdout);
  const before = counts();
  assert.ok(spread(before.replicas) > 1, `the earlier tests left the brokers uneven: ${JSON.stringify(before)}`);
  assert.ok(plan.partitions.length > 0);
  assert.equal(counts(), before, '--dry-run changes nothing');
  const run = await kastor([]);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stderr, 'reassignment done');
  const after = counts();
  assert.ok(spread(after.replicas) <= 1 && spread(after.preferred) <= 1, `even: ${JSON.stringify(after)}`);
  // The preferred election that follows: each moved partition is led by its first replica.
  for (const e of plan.partitions as Array<{ topic: string; partition: number; replicas: number[] }>) {
    assert.is(cluster.partitionState(e.topic, e.partition).leader, e.replicas[0], `${e.topic}-${e.partition}`);
  }
  const again = await kastor(['--dry-run']);
  assert.match(again.stdout, 'already even');
});

test("Kafka's kafka-reassign-partitions.sh (--execute, --verify, --list, --cancel) and kafka-leader-election.sh", async () => {
  const topic = 'scripts';
  await createOn(topic, [a, c]);
  const script = (name: string, args: string[]) => runProcess(join(kafkaBin, `kafka-${name}.sh`), ['--bootstrap-server', cluster.bootstrapServers, ...args], { timeoutMs: 60_000 });
  const plan = join(dir, 'scripts-plan.json');
  writeFileSync(plan, JSON.stringify({ version: 1, partitions: [{ topic, partition: 0, replicas: [b, c], log_dirs: ['any', 'any'] }] }));
  const executed = await script('reassign-partitions', ['--reassignment-json-file', plan, '--execute']);
  assert.is(executed.code, 0, executed.stderr);
  assert.match(executed.stdout, `Current partition replica assignment\n\n{"version":1,"partitions":[{"topic":"${topic}","partition":0,"replicas":[${a},${c}],"log_dirs":["any","any"]}]}`);
  assert.match(executed.stdout, `Successfully started partition reassignment for ${topic}-0`);
  await until('--verify to say complete', async () => (await script('reassign-partitions', ['--reassignment-json-file', plan, '--verify'])).stdout.includes(`Reassignment of partition ${topic}-0 is completed.`), 30_000, 200);
  assert.equal(cluster.partitionState(topic, 0).replicas, [b, c]);
  assert.match((await script('reassign-partitions', ['--list'])).stdout, 'No partition reassignments found.');
  assert.match((await script('reassign-partitions', ['--reassignment-json-file', plan, '--cancel'])).stdout, 'None of the specified partition reassignments are active.');
  const generate = await script('reassign-partitions', ['--generate']);
  assert.is(generate.code, 1);
  assert.match(generate.stderr, 'kastor cluster rebalance --dry-run');
  // Reordered to [c, b] (done at once), c leads; then b, the first of [b, c] again, is elected.
  writeFileSync(plan, JSON.stringify({ version: 1, partitions: [{ topic, partition: 0, replicas: [c, b] }] }));
  assert.is((await script('reassign-partitions', ['--reassignment-json-file', plan, '--execute'])).code, 0);
  const leader = cluster.partitionState(topic, 0).leader;
  const elect = (args: string[]) => script('leader-election', ['--election-type', 'PREFERRED', ...args]);
  const first = await elect(['--topic', topic, '--partition', '0']);
  assert.is(first.code, 0, first.stderr);
  if (leader === c) assert.match(first.stdout, `Valid replica already elected for partitions ${topic}-0`);
  else assert.match(first.stdout, `Successfully completed leader election (PREFERRED) for partitions ${topic}-0`);
  assert.is(cluster.partitionState(topic, 0).leader, c);
  assert.is((await elect(['--all-topic-partitions'])).code, 0);
  const both = await elect(['--topic', topic, '--all-topic-partitions']);
  assert.is(both.code, 1);
  assert.match(both.stderr, 'One and only one of the following options is required');
});

test.run();
