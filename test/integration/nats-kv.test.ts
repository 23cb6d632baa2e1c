// The NATS JetStream MetadataKv against the shared KV conformance suite, each test on its own
// nats-server; plus what only the real bucket can show (the bucket is created once and reopened).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NatsServer } from '../../src/testing/nats-server.ts';
import { connectNats, type NatsConnection } from '../../src/runtime/node/nats-connection.ts';
import { NatsKv } from '../../src/runtime/node/nats-kv.ts';
import { kvConformance } from '../helpers/kv-conformance.ts';
import { jetstreamManager } from '@nats-io/jetstream';

const enc = (s: string) => new TextEncoder().encode(s);

kvConformance(test, async () => {
  const server = await NatsServer.start();
  const conns: NatsConnection[] = [];
  const open = async () => {
    const nc = await connectNats({ servers: server.url, name: 'kv-conformance' });
    conns.push(nc);
    return NatsKv.open(nc, { bucket: 'conformance' });
  };
  try {
    const kv = await open();
    return {
      kv,
      second: open,
      dispose: async () => {
        for (const nc of conns) await nc.close();
        await server.dispose();
      },
    };
  } catch (err) {
    for (const nc of conns) await nc.close();
    await server.dispose();
    throw err;
  }
});

test('opening an existing bucket keeps its data; history outside 1..5 is refused', async () => {
  const server = await NatsServer.start();
  const nc = await connectNats({ servers: server.url });
  try {
    const a = await NatsKv.open(nc, { bucket: 'meta' });
    await a.put('k', new TextEncoder().encode('v'));
    const b = await NatsKv.open(nc, { bucket: 'meta' });
    assert.is(new TextDecoder().decode((await b.get('k'))!.value), 'v');
    try {
      await NatsKv.open(nc, { bucket: 'other', history: 9 });
      assert.unreachable('history 9 accepted');
    } catch (err) {
      assert.instance(err, RangeError);
    }
  } finally {
    await nc.close();
    await server.dispose();
  }
});

test('a watch whose consumer is deleted on the server recreates it and misses no change', async () => {
  const server = await NatsServer.start();
  const nc = await connectNats({ servers: server.url });
  const admin = await connectNats({ servers: server.url });
  const kv = await NatsKv.open(nc, { bucket: 'meta' });
  const w = kv.watch();
  try {
    const it = w[Symbol.asyncIterator]();
    const r1 = await kv.put('a', enc('1'));
    const got: string[] = [];
    const next = async () => {
      const r = await it.next();
      if (!r.done && r.value.operation !== 'REPLAYED' && r.value.operation !== 'REWOUND') got.push(`${r.value.key}@${r.value.revision}`);
      return r;
    };
    while (got.length < 1) await next();
    const jsm = await jetstreamManager(admin);
    const consumers = await jsm.consumers.list('KV_meta').next();
    assert.ok(consumers.length >= 1);
    for (const c of consumers) await jsm.consumers.delete('KV_meta', c.name);
    const r2 = await kv.put('b', enc('2'));
    const r3 = await kv.put('a', enc('3'));
    // Found within one check interval (2 s), far below the client's own two missed 30 s heartbeats.
    const started = Date.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<'late'>((res) => (timer = setTimeout(() => res('late'), 8_000)));
    while (got.length < 3) {
      const r = await Promise.race([next(), late]);
      if (r === 'late') assert.unreachable(`only ${got.join(', ')} after the consumer was deleted`);
    }
    clearTimeout(timer);
    assert.equal(got, [`a@${r1}`, `b@${r2}`, `a@${r3}`]);
    assert.ok(Date.now() - started < 8_000);
  } finally {
    w.stop();
    await admin.close();
    await nc.close();
    await server.dispose();
  }
});

test.run();
