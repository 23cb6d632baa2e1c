// connectNats: NATS-NOTES settings, a clear error naming the URL when the first connect fails, and a
// connection that comes back by itself after the server is killed and restarted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NatsServer, freePort } from '../../src/testing/nats-server.ts';
import { connectNats, NatsConnectError, KASTOR_NATS_DEFAULTS } from '../../src/runtime/node/nats-connection.ts';

test('a failed first connect names the URL and keeps the cause', async () => {
  const url = `nats://127.0.0.1:${await freePort()}`;
  try {
    await connectNats({ servers: url, name: 'nobody-home' });
    assert.unreachable('connected to nothing');
  } catch (err) {
    assert.instance(err, NatsConnectError);
    assert.is((err as NatsConnectError).code, 'NATS_CONNECT_FAILED');
    assert.ok((err as Error).message.includes(url), (err as Error).message);
    assert.ok((err as Error).cause instanceof Error);
  }
});

test('settings follow NATS-NOTES: no async traces, endless reconnect, short ping', () => {
  assert.is(KASTOR_NATS_DEFAULTS.noAsyncTraces, true);
  assert.is(KASTOR_NATS_DEFAULTS.maxReconnectAttempts, -1);
  assert.ok(KASTOR_NATS_DEFAULTS.reconnectTimeWait <= 500);
  assert.ok(KASTOR_NATS_DEFAULTS.pingInterval <= 5_000);
  assert.ok(KASTOR_NATS_DEFAULTS.maxPingOut >= 2 && KASTOR_NATS_DEFAULTS.maxPingOut <= 3);
});

test('reconnects by itself after SIGKILL and restart of the server', async () => {
  const server = await NatsServer.start();
  const nc = await connectNats({ servers: server.url, name: 'reconnector' });
  try {
    const sub = nc.subscribe('echo', {
      callback: (_e, m) => {
        m.respond(m.data);
      },
    });
    assert.is(new TextDecoder().decode((await nc.request('echo', 'hi', { timeout: 2_000 })).data), 'hi');
    const back = (async () => {
      for await (const s of nc.status()) if (s.type === 'reconnect') return true;
      return false;
    })();
    await server.kill();
    await server.restart();
    assert.is(await back, true);
    // Right after a reconnect the subscription may not be re-registered yet: retry until a deadline.
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const r = await nc.request('echo', 'again', { timeout: 1_000 });
        assert.is(new TextDecoder().decode(r.data), 'again');
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
    }
    assert.is(nc.isClosed(), false);
    sub.unsubscribe();
  } finally {
    await nc.close();
    await server.dispose();
  }
});

test.run();
