// Partition reassignment (KIP-455) and preferred leader election on four whole brokers in one process (the
// memory runtime, simulated time): the controller is not among the partition's brokers, [o1, o2] → [o2, n].
// - The controller that recorded the reassignment crashes while ISR proposals cannot reach it (so nothing
//   could complete); the next controller finds the reassignment in the metadata and finishes it: n catches up
//   and joins the ISR, the assignment becomes [o2, n], leadership moves from o1 (removed) to o2 in a new
//   epoch, o1 deletes its replica and its directory, and n's log holds the same bytes as o2's. Then
//   ElectLeaders PREFERRED after reordering the replicas to [n, o2] moves leadership to n.
// - A broker down while its replica was reassigned away deletes the stale directory when it starts again.
// - A replica added after DeleteRecords moved the log start to 100 starts its log at 100.
// - Automatic preferred-leader balancing: after a controlled shutdown moved leadership off the preferred
//   replica and it came back in sync, the controller's next imbalance check gives it back, unasked.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBroker } from '../../actors/broker-actor.ts';
import { defaultBrokerConfig, type BrokerConfig } from '../../src/broker/broker-config.ts';
import { memoryCluster } from '../../src/runtime/memory/memory-runtime.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { STRAY_DELETE_DELAY_MS } from '../../src/broker/partition-registry.ts';
import { subjectsFor } from '../../src/transport/subjects.ts';
import { batchOf } from '../helpers/log-fixtures.ts';
import { ask, drive } from '../helpers/memory-brokers.ts';

/** Four brokers; `moving` (one partition) on [o1, o2], none of them the controller, 150 records committed. */
async function setUp(seed: number, config: Partial<BrokerConfig> = {}) {
  const cluster = memoryCluster({ seed });
  const start = (id: number) => createBroker(cluster.runtimeFor(id), defaultBrokerConfig({ brokerId: id, dataDir: `/data/b${id}`, natsServers: [], port: 9090 + id, ...config }), { logger: silentLogger });
  const brokers = [1, 2, 3, 4].map(start);
  const byId = (id: number) => brokers[id - 1]!;
  let up = false;
  void Promise.all(brokers.map((b) => b.start())).then(() => (up = true));
  await drive(cluster, () => up, 'the brokers to start');
  // Seen from a broker that stays up (o2, once known: the controller may crash).
  let watcher = brokers[0]!;
  const snap = () => watcher.services!.metadata.snapshot();
  await drive(cluster, () => Object.keys(snap().brokers).length === 4 && snap().controller !== null, 'registrations and a controller');
  const stop = async () => {
    let down = false;
    void Promise.all(brokers.filter((b) => b.actor.getSnapshot().status !== 'done').map((b) => b.stop())).then(() => (down = true));
    await drive(cluster, () => down, 'the brokers to stop', 50);
  };
  const ctl = snap().controller!.brokerId;
  const [o1, o2, n] = [1, 2, 3, 4].filter((id) => id !== ctl) as [number, number, number];
  const other = byId(o2);
  watcher = other;
  const replica = (id: number) => byId(id).services!.registry.get('moving', 0);
  const partition = () => snap().topics['moving']!.partitions[0]!;
  const restart = async (id: number) => {
    const b = (brokers[id - 1] = start(id));
    let started = false;
    void b.start().then(() => (started = true));
    await drive(cluster, () => started, `broker ${id} restarted`);
  };
  try {
    const created = await ask(cluster, other, ApiKey.CreateTopics, 4, {
      topics: [{ name: 'moving', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [o1, o2] }], configs: [] }],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    assert.is(created.topics[0]!.errorCode, ErrorCode.NONE);
    await drive(cluster, () => replica(o1)?.role === 'leader' && replica(o2)?.role === 'follower' && replica(o1)!.isr.length === 2, 'the partition led by o1, in sync');
    for (const tag of ['a', 'b', 'c']) {
      const produced = await ask(cluster, byId(o1), ApiKey.Produce, 8, { transactionalId: null, acks: -1, timeoutMs: 10_000, topicData: [{ name: 'moving', partitionData: [{ index: 0, records: batchOf(tag, 50) }] }] });
      assert.is(produced.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const reassign = (replicas: number[] | null) => ask(cluster, other, ApiKey.AlterPartitionReassignments, 0, { timeoutMs: 10_000, topics: [{ name: 'moving', partitions: [{ partitionIndex: 0, replicas }] }] });
  const dirsOf = async (id: number) => {
    let dirs: string[] | null = null;
    void cluster.runtimeFor(id).storage.list(`/data/b${id}`).then((d) => (dirs = d));
    await drive(cluster, () => dirs !== null, `the directories of broker ${id}`);
    return dirs!;
  };
  return { cluster, byId, snap, stop, ctl, o1, o2, n, other, replica, partition, restart, reassign, dirsOf };
}

test('a reassignment recorded by a controller that crashes is finished by the next one; preferred election follows', async () => {
  const { cluster, byId, snap, stop, ctl, o1, o2, n, other, replica, partition, reassign, dirsOf } = await setUp(455);
  try {
    const epoch = partition().leaderEpoch;
    // ISR proposals cannot reach any controller until the old one has crashed: n cannot join the ISR, so the
    // reassignment is certainly still ongoing when the controller changes.
    const alterIsr = subjectsFor(other.config.metadataBucket).alterIsr;
    cluster.transport.partition(alterIsr);
    const altered = await reassign([o2, n]);
    assert.equal(altered.responses, [{ name: 'moving', partitions: [{ partitionIndex: 0, errorCode: 0, errorMessage: null }] }]);
    const recorded = partition();
    assert.equal([recorded.replicas, recorded.addingReplicas, recorded.removingReplicas], [[o2, n, o1], [n], [o1]], 'recorded as Kafka does: target, then the originals leaving');
    const listed = await ask(cluster, other, ApiKey.ListPartitionReassignments, 0, { timeoutMs: 10_000, topics: null });
    assert.equal(listed.topics, [{ name: 'moving', partitions: [{ partitionIndex: 0, replicas: [o2, n, o1], addingReplicas: [n], removingReplicas: [o1] }] }]);
    let crashed = false;
    void byId(ctl).crash().then(() => (crashed = true));
    await drive(cluster, () => crashed && snap().controller !== null && snap().controller!.brokerId !== ctl, 'a new controller');
    assert.equal(partition().addingReplicas, [n], 'still ongoing when the new controller takes over');
    cluster.transport.heal(alterIsr);

    await drive(cluster, () => partition().addingReplicas === undefined, 'the reassignment to complete', 20);
    const done = partition();
    assert.equal(done.replicas, [o2, n]);
    assert.equal([...done.isr].sort(), [o2, n].sort());
    assert.is(done.leader, o2, 'leadership left the removed broker');
    assert.is(done.leaderEpoch, epoch + 1);
    await drive(cluster, () => replica(o1) === undefined && replica(o2)?.role === 'leader', 'o1 to drop its replica, o2 to lead');
    assert.not.ok((await dirsOf(o1)).includes('moving-0'), "o1's partition directory is gone");
    const bytes = async (id: number) => (await replica(id)!.log!.read(0, 1 << 20)).data;
    await drive(cluster, () => replica(n)!.log!.logEndOffset === 150, 'n to hold every record');
    assert.ok((await bytes(n)).equals(await bytes(o2)), "n's log is byte-identical to o2's");

    // Preferred leader: reorder to [n, o2] (done at once: nothing moves), then elect.
    assert.is((await reassign([n, o2])).responses[0]!.partitions[0]!.errorCode, 0);
    assert.equal(partition().replicas, [n, o2]);
    const elected = await ask(cluster, other, ApiKey.ElectLeaders, 2, { electionType: 0, topicPartitions: [{ topic: 'moving', partitions: [0] }], timeoutMs: 10_000 });
    assert.equal(elected.replicaElectionResults, [{ topic: 'moving', partitionResult: [{ partitionId: 0, errorCode: 0, errorMessage: null }] }]);
    assert.is(elected.errorCode, 0);
    assert.equal([partition().leader, partition().leaderEpoch], [n, epoch + 2]);
    await drive(cluster, () => replica(n)?.role === 'leader', 'n to lead');
  } finally {
    await stop();
  }
});

test('a broker down while its replica was reassigned away deletes the directory when it starts again', async () => {
  const { cluster, byId, stop, o1, o2, n, partition, restart, reassign, dirsOf } = await setUp(456);
  try {
    let crashed = false;
    void byId(o1).crash().then(() => (crashed = true));
    await drive(cluster, () => crashed && partition().leader === o2 && partition().isr.join() === String(o2), 'o2 to lead alone');
    assert.is((await reassign([o2, n])).responses[0]!.partitions[0]!.errorCode, 0);
    await drive(cluster, () => partition().addingReplicas === undefined, 'the reassignment to complete without o1', 20);
    assert.equal(partition().replicas, [o2, n]);
    assert.ok((await dirsOf(o1)).includes('moving-0'), "the log is still on the absent broker's disk");
    await restart(o1);
    // Removed once a second look at the metadata, STRAY_DELETE_DELAY_MS later, agrees it is stray.
    let dirs = await dirsOf(o1);
    const took = await drive(cluster, () => {
      void dirsOf(o1).then((d) => (dirs = d));
      return !dirs.includes('moving-0');
    }, 'the stale directory removed', 100);
    assert.ok(took >= STRAY_DELETE_DELAY_MS, `removed after the restart (${took} simulated ms): the partition is no longer assigned there`);
    assert.ok((await dirsOf(n)).includes('moving-0'));
  } finally {
    await stop();
  }
});

test('auto leader rebalance gives leadership back to the preferred replica once it is back in the ISR', async () => {
  const { cluster, byId, stop, o1, o2, partition, restart } = await setUp(457, { leaderImbalanceCheckIntervalMs: 2_000 });
  try {
    let stopped = false;
    void byId(o1).stop().then(() => (stopped = true));
    await drive(cluster, () => stopped && partition().leader === o2, 'o2 to lead after o1 shut down');
    const epoch = partition().leaderEpoch;
    await restart(o1);
    await drive(cluster, () => partition().isr.includes(o1), 'o1 back in the ISR');
    const waited = await drive(cluster, () => partition().leader === o1, 'the preferred replica to lead again', 20);
    assert.is(partition().leaderEpoch, epoch + 1);
    assert.ok(waited <= 2_000 + 500, `within one imbalance check (${waited} simulated ms)`);
  } finally {
    await stop();
  }
});

test('a replica added to a partition whose records were deleted up to an offset starts its log there', async () => {
  const { cluster, byId, stop, o1, o2, n, replica, partition, reassign } = await setUp(458);
  try {
    const deleted = await ask(cluster, byId(o1), ApiKey.DeleteRecords, 2, { topics: [{ name: 'moving', partitions: [{ partitionIndex: 0, offset: 100n }] }], timeoutMs: 10_000 });
    assert.is(deleted.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    assert.is((await reassign([o2, n])).responses[0]!.partitions[0]!.errorCode, 0);
    await drive(cluster, () => partition().addingReplicas === undefined, 'the reassignment to complete', 20);
    const log = replica(n)!.log!;
    assert.equal([log.logStartOffset, log.logEndOffset], [100, 150], "n's log holds offsets 100-149 only");
    const bytes = async (id: number) => (await replica(id)!.log!.read(100, 1 << 20)).data;
    await drive(cluster, () => replica(o2)?.role === 'leader', 'o2 to lead');
    assert.ok((await bytes(n)).equals(await bytes(o2)), "n's log is byte-identical to o2's from offset 100");
  } finally {
    await stop();
  }
});

test.run();
