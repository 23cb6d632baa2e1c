// TopicAdmin.addPartitions (CreatePartitions) over two MetadataStores sharing one in-memory bucket, as two
// brokers answering at once: concurrent grows of one topic and a concurrent ISR change are never lost (the
// update is a compare-and-set that recomputes the new partitions from the topic it lost to), validate_only
// writes nothing, the offsets topic is refused, and each refusal is data with Kafka's message.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryKv } from '../../src/metadata/memory-kv.ts';
import { MetadataStore } from '../../src/metadata/metadata-store.ts';
import { TopicAdmin } from '../../src/broker/topic-admin.ts';
import type { PartitionRegistry } from '../../src/broker/partition-registry.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';
import { nodeIds } from '../../src/runtime/node/node-ids.ts';
import { silentLogger } from '../../src/util/logger.ts';

async function twoBrokers() {
  const kv = new MemoryKv();
  const stores = await Promise.all([1, 2].map(() => MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds })));
  for (const id of [1, 2, 3]) await stores[0]!.registerBroker({ id, host: '127.0.0.1', port: 9000 + id, rack: null, incarnation: `inc-${id}`, registeredAt: 1 });
  await stores[1]!.waitFor((s) => Object.keys(s.brokers).length === 3, 2_000);
  const admins = stores.map(
    (metadata, i) =>
      new TopicAdmin({ metadata, registry: {} as PartitionRegistry, brokerId: i + 1, numPartitions: 1, defaultReplicationFactor: 3, clock: nodeClock, ids: nodeIds, logger: silentLogger }),
  );
  const create = async (name: string, partitions: number) => {
    assert.is((await admins[0]!.create({ name, numPartitions: partitions, replicationFactor: 3 })).errorCode, ErrorCode.NONE);
    await stores[1]!.waitFor((s) => s.topics[name] !== undefined, 2_000);
  };
  return { stores, admins, create, close: () => Promise.all(stores.map((s) => s.close())) };
}

test('two brokers growing one topic at once: the stored count is the largest one that was answered as done', async () => {
  const c = await twoBrokers();
  try {
    for (let round = 0; round < 10; round++) {
      const name = `race-${round}`;
      await c.create(name, 2);
      const [a, b] = await Promise.all([c.admins[0]!.addPartitions({ name, count: 4, assignments: null }), c.admins[1]!.addPartitions({ name, count: 5, assignments: null })]);
      // Store 0 sees store 1's write once its watch delivers it (a turn of the event loop may come first).
      const seen = await c.stores[0]!.waitFor((s) => s.topics[name]!.partitions.length === 5, 2_000).catch(() => c.stores[0]!.snapshot());
      const stored = seen.topics[name]!.partitions;
      assert.equal(stored.map((p) => p.partition), [0, 1, 2, 3, 4], `round ${round}: ${a.errorMessage} / ${b.errorMessage}`);
      assert.is(b.errorCode, ErrorCode.NONE, 'growing to 5 always works: after 4 it adds one');
      if (a.errorCode !== ErrorCode.NONE) assert.equal(a, { errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: 'Topic currently has 5 partitions, which is higher than the requested 4.', topic: null });
      for (const p of stored) assert.is(new Set(p.replicas).size, 3);
    }
  } finally {
    await c.close();
  }
});

test('an ISR change written while partitions are added is kept', async () => {
  const c = await twoBrokers();
  try {
    for (let round = 0; round < 10; round++) {
      const name = `isr-${round}`;
      await c.create(name, 2);
      const shrink = c.stores[1]!.updateTopic(name, (d) => {
        d.partitions[0]!.isr = [d.partitions[0]!.leader];
      });
      const [added] = await Promise.all([c.admins[0]!.addPartitions({ name, count: 3, assignments: null }), shrink]);
      assert.is(added.errorCode, ErrorCode.NONE, added.errorMessage ?? '');
      const stored = c.stores[0]!.snapshot().topics[name]!.partitions;
      assert.is(stored.length, 3);
      assert.equal(stored[0]!.isr, [stored[0]!.leader], `round ${round}: the ISR change survived`);
    }
  } finally {
    await c.close();
  }
});

test('validate_only writes nothing; refusals are data with Kafka\'s messages; the offsets topic keeps its count', async () => {
  const c = await twoBrokers();
  try {
    await c.create('t', 2);
    await c.create('__consumer_offsets', 3);
    const before = c.stores[0]!.snapshot().revision;
    const dry = await c.admins[0]!.addPartitions({ name: 't', count: 6, assignments: null, validateOnly: true });
    assert.is(dry.errorCode, ErrorCode.NONE);
    assert.is(dry.topic!.partitions.length, 6, 'answers with the topic it would be');
    assert.is(c.stores[0]!.snapshot().topics.t!.partitions.length, 2);
    assert.is(c.stores[0]!.snapshot().revision, before, 'nothing was written');
    const refused = async (count: number, assignments: number[][] | null) => {
      const r = await c.admins[1]!.addPartitions({ name: 't', count, assignments });
      return [r.errorCode, r.errorMessage];
    };
    assert.equal(await refused(1, null), [ErrorCode.INVALID_PARTITIONS, 'Topic currently has 2 partitions, which is higher than the requested 1.']);
    assert.equal(await refused(2, null), [ErrorCode.INVALID_PARTITIONS, 'Topic already has 2 partitions.']);
    assert.equal(await refused(3, [[1, 2, 4]]), [ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Unknown broker(s) in replica assignment: 4.']);
    assert.equal((await refused(3, [[1, 2]]))[0], ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assert.equal((await refused(3, [[2, 2, 1]]))[0], ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assert.equal(await refused(4, [[1, 2, 3]]), [ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Increasing the number of partitions by 2 but 1 assignments provided.']);
    const unknown = await c.admins[0]!.addPartitions({ name: 'nope', count: 3, assignments: null });
    assert.equal([unknown.errorCode, unknown.errorMessage], [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "The topic 'nope' does not exist."]);
    const offsets = await c.admins[0]!.addPartitions({ name: '__consumer_offsets', count: 6, assignments: null });
    assert.is(offsets.errorCode, ErrorCode.INVALID_REQUEST);
    assert.is(c.stores[0]!.snapshot().topics.__consumer_offsets!.partitions.length, 3);
    assert.is(c.stores[0]!.snapshot().topics.t!.partitions.length, 2, 'no refusal changed the topic');
  } finally {
    await c.close();
  }
});

test('a topic with a partition being reassigned is refused REASSIGNMENT_IN_PROGRESS, as ZkAdminManager; once done it grows', async () => {
  const c = await twoBrokers();
  try {
    await c.create('moving', 2);
    // Partition 1 moving from [1,2,3] to [1,2] (3 leaving), as AlterPartitionReassignments records it.
    await c.stores[0]!.updateTopic('moving', (d) => {
      d.partitions[1]!.removingReplicas = [3];
      d.partitions[1]!.addingReplicas = [];
    });
    await c.stores[1]!.waitFor((s) => (s.topics.moving!.partitions[1]!.removingReplicas?.length ?? 0) > 0, 2_000);
    const message = "A partition reassignment is in progress for the topic 'moving'.";
    for (const validateOnly of [false, true]) {
      const r = await c.admins[1]!.addPartitions({ name: 'moving', count: 4, assignments: null, validateOnly });
      assert.equal([r.errorCode, r.errorMessage], [ErrorCode.REASSIGNMENT_IN_PROGRESS, message], `validateOnly ${validateOnly}`);
    }
    assert.is(c.stores[0]!.snapshot().topics.moving!.partitions.length, 2);
    await c.stores[0]!.updateTopic('moving', (d) => {
      d.partitions[1]!.replicas = [1, 2];
      d.partitions[1]!.isr = [1, 2];
      delete d.partitions[1]!.removingReplicas;
      delete d.partitions[1]!.addingReplicas;
    });
    await c.stores[1]!.waitFor((s) => s.topics.moving!.partitions[1]!.removingReplicas === undefined, 2_000);
    const grown = await c.admins[1]!.addPartitions({ name: 'moving', count: 4, assignments: null });
    assert.is(grown.errorCode, ErrorCode.NONE, grown.errorMessage ?? '');
    assert.is(c.stores[0]!.snapshot().topics.moving!.partitions.length, 4);
  } finally {
    await c.close();
  }
});

test.run();
