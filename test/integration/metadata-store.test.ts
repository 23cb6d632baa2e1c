// MetadataStore over a real nats-server: two stores on two connections see each other's writes, updates
// from both under contention all land, snapshots share structure, and the store rides out a SIGKILL and
// restart of the server (the watch resumes, a write after the restart succeeds and is seen by the other).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NatsServer } from '../../src/testing/nats-server.ts';
import { connectNats, type NatsConnection } from '../../src/runtime/node/nats-connection.ts';
import { NatsKv } from '../../src/runtime/node/nats-kv.ts';
import { MetadataStore } from '../../src/metadata/metadata-store.ts';
import { newTopicId } from '../../src/metadata/assignment.ts';
import { TopicExistsError, TopicNotFoundError } from '../../src/metadata/errors.ts';
import type { TopicInfo } from '../../src/metadata/types.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';
import { nodeIds } from '../../src/runtime/node/node-ids.ts';
import { ulid } from 'ulid';

function topic(name: string, partitions = 3): TopicInfo {
  return {
    name,
    id: newTopicId(ulid()),
    partitions: Array.from({ length: partitions }, (_, p) => ({ partition: p, replicas: [1, 2, 3], leader: 1, leaderEpoch: 0, isr: [1, 2, 3] })),
    config: { 'retention.ms': '1000' },
    createdAt: Date.now(),
  };
}

/** Two stores, each on its own connection to a fresh server; disposed in `finally`. */
async function withTwoStores(fn: (a: MetadataStore, b: MetadataStore, server: NatsServer, conns: NatsConnection[]) => Promise<void>) {
  const server = await NatsServer.start();
  const conns: NatsConnection[] = [];
  const stores: MetadataStore[] = [];
  try {
    for (const name of ['store-a', 'store-b']) {
      const nc = await connectNats({ servers: server.url, name });
      conns.push(nc);
      stores.push(await MetadataStore.open(await NatsKv.open(nc, { bucket: 'meta' }), { clock: nodeClock, ids: nodeIds, readyTimeoutMs: 10_000 }));
    }
    await fn(stores[0], stores[1], server, conns);
  } finally {
    for (const s of stores) await s.close();
    for (const nc of conns) await nc.close();
    await server.dispose();
  }
}

async function expectError(p: Promise<unknown>, cls: Function): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, cls);
    return;
  }
  assert.unreachable(`expected ${cls.name}`);
}

test('a topic created in one store appears in the other; delete removes it from both', async () => {
  await withTwoStores(async (a, b) => {
    const t = topic('orders');
    await a.createTopic(t);
    const seen = await b.waitFor((s) => s.topics.orders !== undefined, 5_000);
    assert.equal(seen.topics.orders, t);
    await expectError(b.createTopic(topic('orders')), TopicExistsError);
    assert.is(await a.ensureClusterId(), await b.ensureClusterId());
    await b.deleteTopic('orders');
    assert.is(b.snapshot().topics.orders, undefined);
    await a.waitFor((s) => s.topics.orders === undefined, 5_000);
    await expectError(a.deleteTopic('orders'), TopicNotFoundError);
  });
});

test('updateTopic from two stores under contention: both changes applied', async () => {
  await withTwoStores(async (a, b) => {
    await a.createTopic(topic('t'));
    await b.waitFor((s) => s.topics.t !== undefined, 5_000);
    // Both stores start from the same revision each round, so compare-and-sets genuinely collide.
    const run = async (store: MetadataStore, p: number) => {
      for (let i = 0; i < 8; i++) {
        await store.updateTopic('t', (d) => {
          d.partitions[p].leaderEpoch++;
          d.partitions[p].isr = d.partitions[p].isr.includes(3) ? [1, 2] : [1, 2, 3];
        });
      }
    };
    await Promise.all([
      run(a, 0),
      run(b, 1),
      a.updateTopic('t', (d) => {
        d.config['retention.ms'] = '2000';
      }),
    ]);
    const final = await a.waitFor((s) => s.topics.t.partitions[1].leaderEpoch === 8, 5_000);
    assert.is(final.topics.t.partitions[0].leaderEpoch, 8);
    assert.is(final.topics.t.config['retention.ms'], '2000');
    // b has everything a has once it has applied a's revision: waiting on one field would race the
    // concurrent config write, which may land after a's last partition-0 write.
    const fromB = await b.waitFor((s) => s.revision >= final.revision, 5_000);
    assert.equal(fromB.topics.t, final.topics.t);
  });
});

test('snapshots are frozen and unchanged parts keep identity across watched changes', async () => {
  await withTwoStores(async (a, b) => {
    await a.createTopic(topic('x'));
    await a.createTopic(topic('y'));
    const before = await b.waitFor((s) => s.topics.x !== undefined && s.topics.y !== undefined, 5_000);
    await a.updateTopic('x', (d) => {
      d.partitions[2].leader = 2;
      d.partitions[2].leaderEpoch = 1;
    });
    const after = await b.waitFor((s) => s.topics.x.partitions[2].leader === 2, 5_000);
    assert.is(after.topics.y, before.topics.y);
    assert.is(after.topics.x.partitions[0], before.topics.x.partitions[0]);
    assert.is(after.topics.x.config, before.topics.x.config);
    assert.is(after.brokers, before.brokers);
    assert.ok(Object.isFrozen(after) && Object.isFrozen(after.topics.x.partitions[2]));
  });
});

test('survives SIGKILL and restart of nats-server: the watch resumes and writes succeed again', async () => {
  await withTwoStores(async (a, b, server, conns) => {
    await a.createTopic(topic('before'));
    await b.waitFor((s) => s.topics.before !== undefined, 5_000);

    // Both clients must see the server come back (the reconnect wait is 250 ms).
    const reconnected = conns.map(async (nc) => {
      for await (const s of nc.status()) if (s.type === 'reconnect') return;
    });
    await server.kill();
    await server.restart();
    const deadline = Date.now() + 15_000;
    await Promise.all(reconnected);

    // JetStream may need a moment after "ready" to recover the bucket: retry the write until a deadline.
    let attempts = 0;
    for (;;) {
      attempts++;
      try {
        await a.createTopic(topic('after'));
        break;
      } catch (err) {
        if (err instanceof TopicExistsError) break; // an earlier attempt landed but its answer was lost
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.ok(attempts >= 1);
    // The other store learns of it through its resumed watch, and the old data is still there.
    const seen = await b.waitFor((s) => s.topics.after !== undefined, 10_000);
    assert.ok(seen.topics.before);
    // And the other direction: an update from b reaches a.
    await b.updateTopic('before', (d) => {
      d.partitions[0].leaderEpoch = 5;
    });
    await a.waitFor((s) => s.topics.before.partitions[0].leaderEpoch === 5, 10_000);
  });
});

test.run();
