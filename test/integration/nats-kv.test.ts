// The NATS JetStream MetadataKv against the shared KV conformance suite, each test on its own
// nats-server; plus what only the real bucket can show (the bucket is created once and reopened).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NatsServer } from '../../src/testing/nats-server.ts';
import { connectNats, type NatsConnection } from '../../src/transport/nats-connection.ts';
import { NatsKv } from '../../src/metadata/nats-kv.ts';
import { kvConformance } from '../helpers/kv-conformance.ts';

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

test.run();
