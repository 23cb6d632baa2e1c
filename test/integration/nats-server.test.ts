// The NATS test harness: a real nats-server on a free port with its own store, which stops, dies and
// comes back on the same port with its JetStream data intact.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { NatsServer, freePort, NatsServerNotFoundError, NatsServer as NS } from '../../src/testing/nats-server.ts';

test('starts on a free port, keeps KV data across SIGKILL and restart, cleans up its directory', async () => {
  const server = await NatsServer.start();
  let nc: Awaited<ReturnType<typeof connect>> | undefined;
  try {
    assert.ok(server.port > 0 && server.port !== 4222);
    nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100, noAsyncTraces: true });
    const kv = await new Kvm(nc).create('harness', { history: 1 });
    await kv.put('k', 'v1');

    await server.kill();
    assert.is(server.running, false);
    await server.restart();
    assert.is(server.running, true);

    // The client reconnects by itself; JetStream recovered the bucket from the store directory.
    const deadline = Date.now() + 10_000;
    let value: string | undefined;
    while (Date.now() < deadline) {
      try {
        const e = await (await new Kvm(nc).open('harness')).get('k');
        value = e?.string();
        if (value) break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.is(value, 'v1');
    const jsm = await jetstreamManager(nc);
    const streams = await jsm.streams.list().next();
    assert.ok(streams.some((s) => s.config.name === 'KV_harness'));
  } finally {
    await nc?.close();
    await server.dispose();
  }
  assert.is(existsSync(server.dir), false);
});

test('two servers side by side get different ports and directories', async () => {
  const a = await NatsServer.start();
  const b = await NatsServer.start();
  try {
    assert.is.not(a.port, b.port);
    assert.is.not(a.dir, b.dir);
  } finally {
    await a.dispose();
    await b.dispose();
  }
});

test('a missing binary is a clear error naming how to install it', async () => {
  try {
    await NS.start({ binary: '/nonexistent/nats-server', port: await freePort() });
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.instance(err, NatsServerNotFoundError);
    assert.match((err as Error).message, /apt-get install nats-server/);
  }
});

test.run();
