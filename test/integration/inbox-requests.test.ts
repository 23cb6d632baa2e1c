// InboxRequests on a real nats-server: answers matched to their requests over one inbox subscription,
// NATS's no-responders status turned into a NoRespondersError (what the crash probe relies on), a timeout,
// and a closed connection refused at once; natsErrorCode reads its errors as it reads nats.js's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NatsServer } from '../../src/testing/nats-server.ts';
import { connectNats } from '../../src/runtime/node/nats-connection.ts';
import { InboxRequests } from '../../src/runtime/node/inbox-requests.ts';
import { natsErrorCode } from '../../src/runtime/node/nats-transport.ts';

const server = await NatsServer.start();
const nc = await connectNats({ servers: server.url, name: 'inbox-requests-test' });
const text = new TextDecoder();

test('concurrent requests each get their own answer', async () => {
  const requests = new InboxRequests(nc);
  const sub = nc.subscribe('double', { callback: (_e, m) => void setTimeout(() => m.respond(String(Number(m.string()) * 2)), 20 - Number(m.string())) });
  try {
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => requests.request('double', String(i), 2_000)));
    assert.equal(answers.map((m) => text.decode(m.data)), Array.from({ length: 10 }, (_, i) => String(i * 2)));
    assert.is(requests.inFlight, 0);
  } finally {
    sub.unsubscribe();
  }
});

test('a subject nobody subscribes to is a NoRespondersError, at once', async () => {
  const requests = new InboxRequests(nc);
  const t0 = performance.now();
  try {
    await requests.request('nobody.here', 'x', 5_000);
    assert.unreachable('answered');
  } catch (err) {
    assert.is((err as Error).name, 'NoRespondersError');
    assert.is(natsErrorCode(err), 'NO_RESPONDERS');
  }
  assert.ok(performance.now() - t0 < 2_000, 'not after the timeout');
  assert.is(requests.inFlight, 0);
});

test('a silent responder is a TimeoutError after timeoutMs', async () => {
  const requests = new InboxRequests(nc);
  const sub = nc.subscribe('silent', { callback: () => {} });
  try {
    await nc.flush();
    await requests.request('silent', 'x', 100);
    assert.unreachable('answered');
  } catch (err) {
    assert.is(natsErrorCode(err), 'TIMEOUT');
  } finally {
    sub.unsubscribe();
  }
  assert.is(requests.inFlight, 0);
});

test('a closed connection refuses the request', async () => {
  const other = await connectNats({ servers: server.url, name: 'inbox-requests-closed' });
  const requests = new InboxRequests(other);
  await other.close();
  try {
    await requests.request('double', '1', 1_000);
    assert.unreachable('sent on a closed connection');
  } catch (err) {
    assert.is(natsErrorCode(err), 'CLOSED');
  }
  assert.is(requests.inFlight, 0);
});

test('a request in flight when the connection closes fails then, not at its timeout', async () => {
  const other = await connectNats({ servers: server.url, name: 'inbox-requests-closing' });
  const requests = new InboxRequests(other);
  const sub = nc.subscribe('never.answers', { callback: () => {} });
  try {
    await nc.flush();
    const pending = requests.request('never.answers', 'x', 60_000).then(
      () => 'answered',
      (err: unknown) => natsErrorCode(err),
    );
    await other.flush();
    const t0 = performance.now();
    await other.close();
    assert.is(await pending, 'CLOSED');
    assert.ok(performance.now() - t0 < 5_000, 'failed on the close');
    assert.is(requests.inFlight, 0);
  } finally {
    sub.unsubscribe();
  }
});

test.after(async () => {
  await nc.close();
  await server.stop();
});

test.run();
