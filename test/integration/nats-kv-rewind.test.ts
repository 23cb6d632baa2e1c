// A real nats-server that comes back without its latest writes (its JetStream store put back to a copy taken
// earlier: what a crash before nats-server 2.9's periodic sync leaves) is seen as such by a NATS KV watch (a
// KvRewound and a fresh replay, deletes included), and the metadata store writes what the bucket lost back;
// a restart that lost nothing yields no KvRewound.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsServer } from '../../src/testing/nats-server.ts';
import { connectNats, type NatsConnection } from '../../src/runtime/node/nats-connection.ts';
import { NatsKv } from '../../src/runtime/node/nats-kv.ts';
import { MetadataStore } from '../../src/metadata/metadata-store.ts';
import { newTopicId } from '../../src/metadata/assignment.ts';
import type { KvWatch, KvWatchEvent } from '../../src/metadata/kv.ts';
import type { TopicInfo } from '../../src/metadata/types.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';
import { nodeIds } from '../../src/runtime/node/node-ids.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : null);

/** Reads a watch's events one at a time, each within a deadline. */
function reader(w: KvWatch) {
  const it = w[Symbol.asyncIterator]();
  return async (what: string, timeoutMs = 15_000): Promise<KvWatchEvent> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no watch event within ${timeoutMs} ms while waiting for ${what}`)), timeoutMs)));
    try {
      const r = await Promise.race([it.next(), late]);
      if (r.done) throw new Error(`the watch ended while waiting for ${what}`);
      return r.value;
    } finally {
      clearTimeout(timer);
    }
  };
}

/** A server whose store can be copied aside while it is stopped and put back later. */
async function withServer(fn: (server: NatsServer, snapshot: () => Promise<() => Promise<void>>) => Promise<void>): Promise<void> {
  const server = await NatsServer.start();
  const backups = mkdtempSync(join(tmpdir(), 'kastor-nats-rewind-'));
  let n = 0;
  // Stops the server (gracefully: everything acknowledged is on disk), copies its store, starts it again; the
  // function returned stops it, puts the copy back and starts it: the writes since the copy are gone.
  const snapshot = async () => {
    const copy = join(backups, String(n++));
    await server.stop();
    cpSync(server.storeDir, copy, { recursive: true });
    await server.restart();
    return async () => {
      await server.stop();
      rmSync(server.storeDir, { recursive: true, force: true });
      cpSync(copy, server.storeDir, { recursive: true });
      await server.restart();
    };
  };
  try {
    await fn(server, snapshot);
  } finally {
    await server.dispose();
    rmSync(backups, { recursive: true, force: true });
  }
}

/** Retries a write while JetStream recovers the bucket after a restart, until a deadline. */
async function retry<T>(fn: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

test('a watch sees the bucket go back after NATS restarts without its latest writes, and replays it with the deletes', async () => {
  await withServer(async (server, snapshot) => {
    const nc = await connectNats({ servers: server.url, name: 'watcher' });
    const other = await connectNats({ servers: server.url, name: 'writer' });
    try {
      const kv = await NatsKv.open(nc, { bucket: 'meta' });
      await kv.put('a', enc('a1'));
      await kv.put('b', enc('b1'));
      await kv.put('e', enc('e1'));
      await kv.put('gone', enc('g1'));
      await kv.delete('gone');
      const restore = await snapshot();
      const w = kv.watch();
      try {
        const next = reader(w);
        const replay: string[] = [];
        for (let ev = await next('the replay'); ev.operation !== 'REPLAYED'; ev = await next('the replay')) {
          if (ev.operation === 'PUT') replay.push(`${ev.key}=${dec(ev.value)}`);
        }
        assert.equal(replay, ['a=a1', 'b=b1', 'e=e1']);
        // Written after the copy: lost when it is put back.
        const w1 = await retry(() => kv.put('b', enc('b2')));
        const w2 = await kv.put('c', enc('c1'));
        await kv.delete('a');
        const live: string[] = [];
        while (live.length < 3) {
          const ev = await next('the live changes');
          if (ev.operation === 'PUT' || ev.operation === 'DEL') live.push(`${ev.key}=${dec(ev.value)}@${ev.revision}`);
        }
        assert.equal(live, [`b=b2@${w1}`, `c=c1@${w2}`, `a=null@${w2 + 1}`]);

        await restore();
        // Another client writes as soon as it can: its write may take a lost revision before the watch is back.
        const kvOther = await retry(() => NatsKv.open(other, { bucket: 'meta' }));
        const d = await retry(() => kvOther.put('d', enc('d1')));
        assert.ok(d <= w2 + 1, `the restored stream hands out lost revisions again (d got ${d})`);

        let ev = await next('the rewind');
        while (ev.operation !== 'REWOUND') {
          // Only the post-restart write can come first, and only if the watch resumed before it was written.
          assert.ok(ev.operation === 'PUT' && ev.key === 'd', `unexpected ${JSON.stringify(ev)} before the rewind`);
          ev = await next('the rewind');
        }
        // Everything before the copy is known kept (the delete of `gone` was its last write); nothing after it.
        assert.is(ev.revision, w1 - 1);
        const after = new Map<string, string | null>();
        for (ev = await next('the fresh replay'); ev.operation !== 'REPLAYED'; ev = await next('the fresh replay')) {
          if (ev.operation === 'PUT' || ev.operation === 'DEL') after.set(ev.key, dec(ev.value));
        }
        // The fresh replay carries the delete of `gone`, so a reader tells it from a key the bucket lost.
        assert.is(after.get('gone'), null);
        assert.is(after.get('a'), 'a1');
        assert.is(after.get('b'), 'b1');
        assert.is(after.has('c'), false);
        // d: in the replay, or delivered live right after it.
        if (!after.has('d')) {
          const live2 = await next('d');
          assert.ok(live2.operation === 'PUT' && live2.key === 'd', JSON.stringify(live2));
        }
        const w3 = await kv.put('f', enc('f1'));
        ev = await next('a write after the rewind');
        assert.equal([ev.operation, 'key' in ev ? ev.key : '', ev.revision], ['PUT', 'f', w3]);
      } finally {
        w.stop();
      }
    } finally {
      await nc.close();
      await other.close();
    }
  });
});

test('a restart that lost nothing yields no rewind: the watch resumes after the last revision it delivered', async () => {
  await withServer(async (server) => {
    const nc = await connectNats({ servers: server.url, name: 'watcher' });
    try {
      const kv = await NatsKv.open(nc, { bucket: 'meta' });
      await kv.put('a', enc('a1'));
      const w = kv.watch();
      try {
        const next = reader(w);
        while ((await next('the replay')).operation !== 'REPLAYED');
        const r1 = await kv.put('a', enc('a2'));
        assert.is((await next('a2')).revision, r1);
        await server.stop(); // graceful: nothing acknowledged is lost
        await server.restart();
        const r2 = await retry(() => kv.put('b', enc('b1')));
        const ev = await next('the write after the restart');
        assert.equal([ev.operation, ev.revision], ['PUT', r2]);
      } finally {
        w.stop();
      }
    } finally {
      await nc.close();
    }
  });
});

function topic(name: string): TopicInfo {
  return {
    name,
    id: newTopicId(nodeIds.ulid()),
    partitions: [{ partition: 0, replicas: [1, 2, 3], leader: 1, leaderEpoch: 0, isr: [1, 2, 3] }],
    config: {},
    createdAt: Date.now(),
  };
}

test('metadata stores write back what the bucket lost when NATS comes back without it', async () => {
  await withServer(async (server, snapshot) => {
    const conns: NatsConnection[] = [];
    const stores: MetadataStore[] = [];
    const open = async (name: string) => {
      const nc = await connectNats({ servers: server.url, name });
      conns.push(nc);
      const store = await MetadataStore.open(await NatsKv.open(nc, { bucket: 'meta' }), { clock: nodeClock, ids: nodeIds, readyTimeoutMs: 15_000 });
      stores.push(store);
      return store;
    };
    try {
      const a = await open('store-a');
      const b = await open('store-b');
      await a.createTopic(topic('kept'));
      await b.waitFor((s) => s.topics.kept !== undefined, 5_000);
      const restore = await snapshot();
      // Decided after the copy, seen by both stores, then lost by the bucket.
      await retry(() => a.createTopic(topic('lost')));
      await retry(() =>
        a.updateTopic('kept', (d) => {
          d.partitions[0].leaderEpoch = 7;
          d.partitions[0].isr = [1, 2];
        }),
      );
      await b.waitFor((s) => s.topics.lost !== undefined && s.topics.kept.partitions[0].leaderEpoch === 7, 5_000);
      await restore();
      // A store opened afterwards reads only the bucket: it holds the lost decisions again once repaired.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const fresh = await open(`fresh-${stores.length}`);
        const s = fresh.snapshot();
        if (s.topics.lost && s.topics.kept?.partitions[0].leaderEpoch === 7) {
          assert.equal(s.topics.kept.partitions[0].isr, [1, 2]);
          break;
        }
        if (Date.now() > deadline) assert.unreachable(`the bucket still lacks the lost writes: ${JSON.stringify(s.topics)}`);
        await fresh.close();
        stores.pop();
        await new Promise((r) => setTimeout(r, 200));
      }
      // And the stores that lived through it never went back.
      for (const s of [a, b]) assert.is(s.snapshot().topics.kept.partitions[0].leaderEpoch, 7);
    } finally {
      for (const s of stores) await s.close();
      for (const nc of conns) await nc.close();
    }
  });
});

test.run();
