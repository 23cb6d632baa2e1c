// The metadata bucket replicated over a 3-node NATS cluster (replicas: 3): when the server leading the
// bucket's stream is SIGKILLed, stores connected to the surviving servers keep their snapshots, write
// again once JetStream has elected a new leader, and see each other's writes — although their own
// connections never dropped, so only the watch's consumer check can notice its consumer is gone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstreamManager } from '@nats-io/jetstream';
import { NatsCluster } from '../../src/testing/nats-cluster.ts';
import { connectNats, type NatsConnection } from '../../src/runtime/node/nats-connection.ts';
import { NatsKv } from '../../src/runtime/node/nats-kv.ts';
import { MetadataStore } from '../../src/metadata/metadata-store.ts';
import { newTopicId } from '../../src/metadata/assignment.ts';
import { TopicExistsError } from '../../src/metadata/errors.ts';
import type { TopicInfo } from '../../src/metadata/types.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';
import { nodeIds } from '../../src/runtime/node/node-ids.ts';
import { ulid } from 'ulid';

const topic = (name: string): TopicInfo => ({
  name,
  id: newTopicId(ulid()),
  partitions: [{ partition: 0, replicas: [1, 2, 3], leader: 1, leaderEpoch: 0, isr: [1, 2, 3] }],
  config: {},
  createdAt: 1,
});

test('R3 bucket: stores ride out the loss of the stream leader', async () => {
  const cluster = await NatsCluster.start({ size: 3 });
  const conns: NatsConnection[] = [];
  const stores: MetadataStore[] = [];
  try {
    const setup = await connectNats({ servers: cluster.urls, name: 'setup' });
    conns.push(setup);
    const kv = await NatsKv.open(setup, { bucket: 'meta', replicas: 3 });
    assert.is((await (await jetstreamManager(setup)).streams.info('KV_meta')).config.num_replicas, 3);
    await kv.put('bootstrap', new TextEncoder().encode('{}'));
    const leader = (await (await jetstreamManager(setup)).streams.info('KV_meta')).cluster?.leader;
    const leaderIndex = cluster.names.indexOf(leader ?? '');
    assert.ok(leaderIndex >= 0, `stream leader ${leader}`);
    const survivors = cluster.servers.filter((_, i) => i !== leaderIndex);

    // Each store talks only to one surviving server, so killing the leader does not disconnect it.
    for (const [i, s] of survivors.entries()) {
      const nc = await connectNats({ servers: s.url, name: `store-${i}`, overrides: { ignoreClusterUpdates: true } });
      conns.push(nc);
      stores.push(await MetadataStore.open(await NatsKv.open(nc, { bucket: 'meta', replicas: 3 }), { clock: nodeClock, ids: nodeIds, readyTimeoutMs: 15_000 }));
    }
    const [a, b] = stores;
    await a.createTopic(topic('before'));
    await b.waitFor((s) => s.topics.before !== undefined, 10_000);

    await cluster.servers[leaderIndex].kill();
    assert.ok(b.snapshot().topics.before, 'the snapshot outlives the leader');

    // Writes fail until a new stream leader is elected (seconds): retry until a deadline.
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await a.createTopic(topic('after'));
        break;
      } catch (err) {
        if (err instanceof TopicExistsError) break; // an earlier attempt landed, its answer was lost
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    await b.waitFor((s) => s.topics.after !== undefined, 15_000);
    await b.updateTopic('after', (d) => {
      d.partitions[0].isr = [1, 2];
    });
    await a.waitFor((s) => s.topics.after?.partitions[0]?.isr.length === 2, 15_000);
  } finally {
    for (const s of stores) await s.close();
    for (const nc of conns) await nc.close();
    await cluster.dispose();
  }
});

test.run();
