// MetadataStore over the in-memory KV: snapshots, read-your-writes, CAS retries, validation of what is
// read, waiting and closing — deterministic, no server. The NATS-backed behaviour is in
// test/integration/metadata-store.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryKv } from '../../src/metadata/memory-kv.ts';
import { MetadataStore } from '../../src/metadata/metadata-store.ts';
import { RevisionMismatchError } from '../../src/metadata/kv-errors.ts';
import type { MetadataKv } from '../../src/metadata/kv.ts';
import {
  InvalidMetadataError,
  InvalidTopicError,
  MetadataTimeoutError,
  MetadataUnavailableError,
  StoreClosedError,
  TopicExistsError,
  TopicNotFoundError,
  UpdateConflictError,
} from '../../src/metadata/errors.ts';
import type { BrokerInfo, TopicInfo } from '../../src/metadata/types.ts';
import { newTopicId } from '../../src/metadata/assignment.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';
import { nodeIds } from '../../src/runtime/node/node-ids.ts';
import { ulid } from 'ulid';

const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

function topic(name: string, partitions = 2, replicas = [1, 2]): TopicInfo {
  return {
    name,
    id: newTopicId(ulid()),
    partitions: Array.from({ length: partitions }, (_, p) => ({ partition: p, replicas, leader: replicas[0], leaderEpoch: 0, isr: replicas })),
    config: {},
    createdAt: 1,
  };
}

function broker(id: number, incarnation = `inc-${id}`): BrokerInfo {
  return { id, host: '127.0.0.1', port: 9000 + id, rack: null, incarnation, registeredAt: 1 };
}

async function expectError(p: Promise<unknown>, cls: Function): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, cls);
    return err;
  }
  assert.unreachable(`expected ${cls.name}`);
}

test('cluster id is created once and shared; Kafka format', async () => {
  const kv = new MemoryKv();
  const a = await MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds });
  const b = await MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds });
  const [ida, idb] = await Promise.all([a.ensureClusterId(), b.ensureClusterId()]);
  assert.is(ida, idb);
  assert.match(ida, /^[A-Za-z0-9_-]{22}$/);
  assert.is(await a.ensureClusterId(), ida);
  assert.is(a.snapshot().clusterId, ida);
  await a.close();
  await b.close();
});

test('a write is in the writer\'s snapshot when it returns, and reaches another store', async () => {
  const kv = new MemoryKv();
  const a = await MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds });
  const b = await MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds });
  await a.createTopic(topic('orders.v1'));
  assert.ok(a.snapshot().topics['orders.v1'], 'read your own write');
  await b.waitFor((s) => s.topics['orders.v1'] !== undefined, 2_000);
  await expectError(b.createTopic(topic('orders.v1')), TopicExistsError);
  await b.deleteTopic('orders.v1');
  assert.is(b.snapshot().topics['orders.v1'], undefined);
  await a.waitFor((s) => s.topics['orders.v1'] === undefined, 2_000);
  await expectError(a.deleteTopic('orders.v1'), TopicNotFoundError);
  await expectError(a.updateTopic('orders.v1', () => {}), TopicNotFoundError);
  await expectError(a.createTopic(topic('bad name!')), InvalidTopicError);
  await expectError(a.createTopic({ ...topic('x'), id: 'not-hex' }), InvalidMetadataError);
  await a.close();
  await b.close();
});

test('a store opened later replays everything into its first snapshot', async () => {
  const kv = new MemoryKv();
  const a = await MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds });
  await a.registerBroker(broker(1));
  await a.createTopic(topic('t1'));
  await a.createTopic(topic('t2'));
  await a.deleteTopic('t2');
  const b = await MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds });
  assert.equal(Object.keys(b.snapshot().topics), ['t1']);
  assert.equal(b.snapshot().brokers[1], broker(1));
  assert.is(b.snapshot().revision, a.snapshot().revision);
  await a.close();
  await b.close();
});

test('snapshots are frozen and unchanged parts keep their identity', async () => {
  const kv = new MemoryKv();
  const s = await MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds });
  await s.registerBroker(broker(1));
  await s.createTopic(topic('a'));
  await s.createTopic(topic('b'));
  const before = s.snapshot();
  await s.updateTopic('a', (t) => {
    t.partitions[0].leaderEpoch++;
  });
  const after = s.snapshot();
  assert.is.not(after, before);
  assert.is(after.topics.b, before.topics.b, 'topic b untouched');
  assert.is(after.brokers, before.brokers, 'broker map untouched');
  assert.is(after.topics.a.partitions[1], before.topics.a.partitions[1], 'untouched partition of a');
  assert.is.not(after.topics.a.partitions[0], before.topics.a.partitions[0]);
  assert.is(after.topics.a.partitions[0].leaderEpoch, 1);
  for (const o of [after, after.topics, after.topics.a, after.topics.a.partitions[0], after.topics.a.partitions[0].isr, after.brokers[1]]) {
    assert.ok(Object.isFrozen(o));
  }
  assert.throws(() => {
    (after.topics.a.partitions[0] as { leader: number }).leader = 99;
  });
  await s.close();
});

test('malformed values are skipped with a warning and never stop the store', async () => {
  const kv = new MemoryKv();
  const warnings: Array<{ msg: string; facts: Record<string, unknown> }> = [];
  const s = await MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds, onWarning: (msg, facts) => warnings.push({ msg, facts }) });
  await kv.put('topics.junk', enc('{not json'));
  await kv.put('topics.mismatch', enc(topic('other')));
  await kv.put('brokers.x', enc(broker(1)));
  await kv.put('brokers.2', enc({ ...broker(2), port: '9092' }));
  await kv.put('controller', enc({ brokerId: 'me' }));
  await kv.put('cluster.id', enc(42));
  await kv.put('producer-ids.block', enc('someone else\'s key'));
  await s.createTopic(topic('good'));
  const snap = s.snapshot();
  assert.equal(Object.keys(snap.topics), ['good']);
  assert.equal(snap.brokers, {});
  assert.is(snap.controller, null);
  assert.is(snap.clusterId, '');
  const keys = warnings.map((w) => w.facts.key).sort();
  assert.equal(keys, ['brokers.2', 'brokers.x', 'cluster.id', 'controller', 'topics.junk', 'topics.mismatch']);
  assert.ok(warnings.every((w) => typeof w.facts.reason === 'string' && (w.facts.reason as string).length > 0));
  // A malformed value already in the bucket when a store opens is skipped the same way.
  const later = await MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds, onWarning: () => {} });
  assert.equal(Object.keys(later.snapshot().topics), ['good']);
  await s.close();
  await later.close();
});

test('updateTopic under contention from two stores applies every change', async () => {
  const kv = new MemoryKv();
  const a = await MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds });
  const b = await MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds });
  await a.createTopic(topic('t'));
  const bump = (store: MetadataStore, p: number) =>
    store.updateTopic('t', (d) => {
      d.partitions[p].leaderEpoch++;
    });
  // Two writers racing, each with a run of updates: every lost compare-and-set is retried on fresh data.
  const run = async (store: MetadataStore, p: number) => {
    for (let i = 0; i < 10; i++) await bump(store, p);
  };
  await Promise.all([run(a, 0), run(b, 1)]);
  const t = await b.waitFor((s) => s.topics.t.partitions[0].leaderEpoch === 10, 2_000);
  assert.is(t.topics.t.partitions[1].leaderEpoch, 10);
  assert.is(a.snapshot().topics.t.partitions[1].leaderEpoch, 10);
  await a.close();
  await b.close();
});

test('updateTopic: concurrent updates of one topic go out together, each applied or refused on its own', async () => {
  const kv = new MemoryKv();
  let updates = 0;
  const update = kv.update.bind(kv);
  kv.update = (key, v, rev) => {
    updates++;
    return update(key, v, rev);
  };
  const s = await MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds });
  await s.createTopic(topic('t', 100));
  // 100 partition leaders' ISR changes at once (the 10,000-partition bench's burst): one at a time, each would
  // lose its compare-and-set to the others; coalesced, the first goes alone and the other 99 in the next write.
  const all = Array.from({ length: 100 }, (_, p) =>
    s.updateTopic('t', (d) => {
      d.partitions[p].isr = [1];
    }),
  );
  const refused = s.updateTopic('t', (d) => {
    d.partitions = [];
  });
  const results = await Promise.all(all);
  await expectError(refused, InvalidMetadataError);
  assert.ok(updates <= 2, `${updates} writes for 100 updates`);
  assert.equal(s.snapshot().topics.t.partitions.filter((p) => p.isr.join() !== '1').map((p) => p.partition), []);
  // Each caller gets the value as written, the other updates of its write included.
  assert.is(results[0].partitions[99].isr.join(), results[99].partitions[0].isr.join());
  await expectError(s.updateTopic('bad name!', () => {}), InvalidTopicError);
  await s.close();
});

test('updateTopic: no-op recipes write nothing, invalid results are refused, endless conflicts give up', async () => {
  const kv = new MemoryKv();
  const s = await MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds });
  await s.createTopic(topic('t'));
  const rev = s.snapshot().revision;
  const same = await s.updateTopic('t', () => {});
  assert.is(s.snapshot().revision, rev);
  assert.is(same.name, 't');
  await expectError(
    s.updateTopic('t', (d) => {
      d.partitions = [];
    }),
    InvalidMetadataError,
  );
  await expectError(
    s.updateTopic('t', (d) => {
      d.name = 'renamed';
    }),
    InvalidMetadataError,
  );
  assert.is(s.snapshot().revision, rev);
  await s.close();

  // A KV whose compare-and-set always loses.
  let updates = 0;
  const losing: MetadataKv = Object.assign(Object.create(kv) as MetadataKv, {
    update: async (key: string, _v: Uint8Array, rev: number) => {
      updates++;
      throw new RevisionMismatchError(key, rev);
    },
  });
  const l = await MetadataStore.open(losing, { clock: nodeClock, ids: nodeIds, maxUpdateAttempts: 3 });
  const err = (await expectError(
    l.updateTopic('t', (d) => {
      d.config['retention.ms'] = '1';
    }),
    UpdateConflictError,
  )) as UpdateConflictError;
  assert.is(err.code, 'UPDATE_CONFLICT');
  assert.is(err.attempts, 3);
  assert.is(updates, 3);
  await l.close();
});

test('brokers: re-registration replaces the incarnation; unregister can be limited to one incarnation', async () => {
  const kv = new MemoryKv();
  const s = await MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds });
  await s.registerBroker(broker(1, 'first'));
  await s.registerBroker(broker(1, 'second'));
  assert.is(s.snapshot().brokers[1].incarnation, 'second');
  await s.unregisterBroker(1, 'first'); // the old life must not remove the new one
  assert.is(s.snapshot().brokers[1].incarnation, 'second');
  await s.unregisterBroker(1, 'second');
  assert.is(s.snapshot().brokers[1], undefined);
  await s.registerBroker(broker(2));
  await s.unregisterBroker(2);
  await s.unregisterBroker(3); // absent: nothing to do
  assert.equal(s.snapshot().brokers, {});
  await expectError(s.registerBroker({ ...broker(4), port: 70000 }), InvalidMetadataError);
  await s.close();
});

test('controller key: a renewal by the same holder keeps the controller object', async () => {
  const kv = new MemoryKv();
  const s = await MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds });
  const r = await kv.create('controller', enc({ brokerId: 2, epoch: 7, renewedAt: 1 }));
  const first = await s.waitFor((x) => x.controller !== null, 2_000);
  assert.equal(first.controller, { brokerId: 2, epoch: 7 });
  const r2 = await kv.update('controller', enc({ brokerId: 2, epoch: 7, renewedAt: 2 }), r);
  const renewed = await s.waitFor((x) => x.revision >= r2, 2_000);
  assert.is(renewed.controller, first.controller);
  await kv.update('controller', enc({ brokerId: 3, epoch: r2 }), r2);
  const taken = await s.waitFor((x) => x.controller?.brokerId === 3, 2_000);
  assert.is(taken.controller!.epoch, r2);
  await s.close();
});

test('subscribe gets (next, prev); a throwing subscriber is reported and the others still run', async () => {
  const kv = new MemoryKv();
  const warnings: string[] = [];
  const s = await MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds, onWarning: (m) => warnings.push(m) });
  const seen: Array<[number, number]> = [];
  const unsubscribe = s.subscribe((next, prev) => seen.push([prev.revision, next.revision]));
  s.subscribe(() => {
    throw new Error('boom');
  });
  await s.createTopic(topic('a'));
  await s.createTopic(topic('b'));
  unsubscribe();
  await s.createTopic(topic('c'));
  assert.is(seen.length, 2);
  assert.ok(seen[0][1] > seen[0][0] && seen[1][0] === seen[0][1]);
  assert.ok(warnings.length >= 3);
  await s.close();
});

test('waitFor times out with MetadataTimeoutError; close fails pending waits and refuses writes', async () => {
  const kv = new MemoryKv();
  const s = await MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds });
  const err = (await expectError(s.waitFor((x) => x.topics.never !== undefined, 30), MetadataTimeoutError)) as MetadataTimeoutError;
  assert.is(err.code, 'TIMEOUT');
  const pending = s.waitFor((x) => x.topics.never !== undefined, 10_000);
  await s.close();
  await expectError(pending, StoreClosedError);
  await expectError(s.createTopic(topic('late')), StoreClosedError);
  await expectError(s.updateTopic('late', () => {}), StoreClosedError);
});

test('open fails with MetadataTimeoutError when the replay never completes, MetadataUnavailableError when the watch ends', async () => {
  const silent: MetadataKv = Object.assign(Object.create(new MemoryKv()) as MetadataKv, {
    watch: () => ({ stop() {}, async *[Symbol.asyncIterator]() {} }) as never,
  });
  const hanging: MetadataKv = Object.assign(Object.create(new MemoryKv()) as MetadataKv, {
    watch: () => {
      let stop!: () => void;
      const stopped = new Promise<void>((r) => (stop = r));
      return {
        stop,
        async *[Symbol.asyncIterator]() {
          await stopped;
        },
      };
    },
  });
  await expectError(MetadataStore.open(hanging, { clock: nodeClock, ids: nodeIds, readyTimeoutMs: 50 }), MetadataTimeoutError);
  const err = (await expectError(MetadataStore.open(silent, { clock: nodeClock, ids: nodeIds, readyTimeoutMs: 5_000 }), MetadataUnavailableError)) as MetadataUnavailableError;
  assert.is(err.code, 'UNAVAILABLE');
});

test.run();
