// The active controller's reconcile passes over a real MetadataStore (in-memory bucket): a topic change (an ISR
// update) makes the next pass look at that topic alone, not at every partition of the cluster, while a broker
// that leaves makes it look at every topic again and elect leaders where it led.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ulid } from 'ulid';
import { MemoryKv } from '../../src/metadata/memory-kv.ts';
import { MetadataStore } from '../../src/metadata/metadata-store.ts';
import { newTopicId } from '../../src/metadata/assignment.ts';
import type { BrokerInfo, TopicInfo } from '../../src/metadata/types.ts';
import { ActiveController } from '../../src/controller/active-controller.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';
import { nodeIds } from '../../src/runtime/node/node-ids.ts';
import { subjectsFor } from '../../src/transport/subjects.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { until } from '../helpers/until.ts';

const TOPICS = 20;

function topic(name: string): TopicInfo {
  return {
    name,
    id: newTopicId(ulid()),
    partitions: Array.from({ length: 6 }, (_, p) => {
      const replicas = [1, 2, 3].map((_, i) => ((p + i) % 3) + 1);
      return { partition: p, replicas, leader: replicas[0]!, leaderEpoch: 0, isr: replicas };
    }),
    config: {},
    createdAt: 1,
  };
}

/** A store holding brokers 1-3 and TOPICS topics, and a controller on it (started by the test). */
async function setup(): Promise<{ metadata: MetadataStore; controller: ActiveController }> {
  const metadata = await MetadataStore.open(new MemoryKv(), { clock: nodeClock, ids: nodeIds });
  for (const id of [1, 2, 3]) await metadata.registerBroker(broker(id));
  for (let t = 0; t < TOPICS; t++) await metadata.createTopic(topic(`t${t}`));
  const controller = new ActiveController({
    brokerId: 1,
    epoch: 1,
    metadata,
    transport: { subscribe: () => ({ stop() {} }), serve: () => ({ stop() {} }), onReconnect: () => () => {} } as never,
    subjects: subjectsFor('test'),
    clock: nodeClock,
    // Long enough that no broker misses it here: only an unregistration takes one away.
    sessionTimeoutMs: 60_000,
    holdsLease: () => true,
    logger: silentLogger,
  });
  return { metadata, controller };
}

const broker = (id: number): BrokerInfo => ({ id, host: '127.0.0.1', port: 9000 + id, rack: null, incarnation: `inc-${id}`, registeredAt: 1 });

test('a topic change is reconciled alone; a broker leaving makes every topic be looked at again', async () => {
  const { metadata, controller } = await setup();
  try {
    controller.start();
    await until('the first pass over every topic', () => controller.topicsReconciled >= TOPICS, 5_000);
    const afterFirst = controller.topicsReconciled;
    assert.is(afterFirst, TOPICS);

    // A leader shrinks one partition's ISR (what AlterIsr writes): the next pass looks at that topic only.
    await metadata.updateTopic('t7', (d) => void (d.partitions[0]!.isr = d.partitions[0]!.isr.slice(0, 2)));
    await until('a pass after the ISR change', () => controller.topicsReconciled > afterFirst, 5_000);
    await new Promise((r) => setImmediate(r));
    assert.is(controller.topicsReconciled, afterFirst + 1, 'only the changed topic');

    // Broker 3 leaves: every topic again, and the partitions it led get new leaders.
    const before = controller.topicsReconciled;
    await metadata.unregisterBroker(3, 'inc-3');
    await until('every partition led by a live broker', () => Object.values(metadata.snapshot().topics).every((t) => t.partitions.every((p) => p.leader !== 3 && !p.isr.includes(3))), 5_000);
    assert.ok(controller.topicsReconciled - before >= TOPICS, `every topic looked at again (${controller.topicsReconciled - before})`);
  } finally {
    await controller.stop();
    await metadata.close();
  }
});

test('the elections of different topics are written together, at most 16 at a time', async () => {
  const { metadata, controller } = await setup();
  // Every topic write takes 20 ms: one after another, 20 topics would never overlap.
  let inFlight = 0;
  let most = 0;
  const updateTopic = metadata.updateTopic.bind(metadata);
  metadata.updateTopic = (async (...args: Parameters<typeof updateTopic>) => {
    most = Math.max(most, ++inFlight);
    try {
      await new Promise((r) => setTimeout(r, 20));
      return await updateTopic(...args);
    } finally {
      inFlight--;
    }
  }) as typeof metadata.updateTopic;
  try {
    controller.start();
    await until('the first pass over every topic', () => controller.topicsReconciled >= TOPICS, 5_000);
    await metadata.unregisterBroker(3, 'inc-3');
    await until('every partition led by a live broker', () => Object.values(metadata.snapshot().topics).every((t) => t.partitions.every((p) => p.leader !== 3 && !p.isr.includes(3))), 5_000);
    assert.ok(most > 1, `topic writes overlapped (at most ${most} at once)`);
    assert.ok(most <= 16, `at most 16 at once (${most})`);
  } finally {
    await controller.stop();
    await metadata.close();
  }
});

test.run();
