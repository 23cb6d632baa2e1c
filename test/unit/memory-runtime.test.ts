// The memory runtime's parts on their own: the simulated clock (timers in due order, intervals re-armed,
// cleared timers silent, timers set by timers inside the window, wall steps), the in-memory transport (no
// responders, servers taking turns, a cut subject, publish fan-out, reconnect notices, timeouts on its clock)
// and seeded ids (same seed, same ids; time from the clock).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SimulatedClock } from '../../src/runtime/memory/simulated-clock.ts';
import { MemoryTransport } from '../../src/runtime/memory/memory-transport.ts';
import { seededIds } from '../../src/runtime/memory/seeded-ids.ts';
import { memoryCluster } from '../../src/runtime/memory/memory-runtime.ts';
import { TransportError, transportErrorCode } from '../../src/runtime/transport.ts';
import { decodeTime } from 'ulid';

test('simulated clock: timers fire in due order as time advances, and only then', () => {
  const clock = new SimulatedClock(5_000);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push(`b@${clock.monotonic()}`), 20);
  clock.setTimeout(() => fired.push(`a@${clock.monotonic()}`), 10);
  const cleared = clock.setTimeout(() => fired.push('never'), 15);
  const every = clock.setInterval(() => fired.push(`i@${clock.monotonic()}`), 8);
  clock.clearTimeout(cleared);
  clock.advance(9);
  assert.equal(fired, ['i@8']);
  // A timer set by a timer inside the window fires in the same advance.
  clock.setTimeout(() => clock.setTimeout(() => fired.push(`nested@${clock.monotonic()}`), 3), 1);
  clock.advance(16);
  assert.equal(fired, ['i@8', 'a@10', 'nested@13', 'i@16', 'b@20', 'i@24']);
  assert.is(clock.monotonic(), 25);
  assert.is(clock.wall(), 5_025);
  clock.clearInterval(every);
  clock.advance(100);
  assert.is(fired.length, 6);
  assert.is(clock.pending, 0);
  clock.stepWall(-1_000); // NTP stepped the wall clock back: monotonic time does not move
  assert.is(clock.wall(), 4_125);
  assert.is(clock.monotonic(), 125);
  clock.advanceTo(100);
  assert.is(clock.monotonic(), 125, 'advanceTo never goes back');
});

test('memory transport: no responders, servers in turn, a cut subject, publish fan-out, reconnects', async () => {
  const t = new MemoryTransport(1024);
  const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (assert.instance(e, TransportError), transportErrorCode(e)));
  assert.is(await codeOf(t.request('s', new Uint8Array(1), 100)), 'NO_RESPONDERS');
  const a = t.serve('s', async () => Buffer.from('a'), { queue: 'q' });
  t.serve('s', async () => Buffer.from('b'), { queue: 'q' });
  const answers = [];
  for (let i = 0; i < 4; i++) answers.push((await t.request('s', new Uint8Array(1), 100)).toString());
  assert.equal(answers.sort(), ['a', 'a', 'b', 'b'], 'the queue group shares the requests');
  a.stop();
  assert.is((await t.request('s', new Uint8Array(1), 100)).toString(), 'b');
  assert.is(await codeOf(t.request('s', new Uint8Array(2048), 100)), 'FAILED', 'over max_payload');
  t.partition('s');
  assert.is(await codeOf(t.request('s', new Uint8Array(1), 100)), 'TIMEOUT');
  t.heal('s');
  assert.is(t.requests.get('s'), 8);

  const got: string[] = [];
  t.subscribe('p', (m) => got.push(`1:${m}`));
  const second = t.subscribe('p', (m) => got.push(`2:${m}`));
  t.publish('p', Buffer.from('x'));
  second.stop();
  t.publish('p', Buffer.from('y'));
  await new Promise((r) => setImmediate(r));
  assert.equal(got, ['1:x', '2:x', '1:y']);

  let reconnects = 0;
  const off = t.onReconnect(() => reconnects++);
  t.reconnected();
  off();
  t.reconnected();
  assert.is(reconnects, 1);
});

test('memory transport on a clock: an unanswered request times out after its timeout, an answer in time wins', async () => {
  const clock = new SimulatedClock();
  const t = new MemoryTransport(1024, clock);
  t.serve('silent', () => new Promise(() => {})); // a server that stopped mid-request
  let answer: (v: Uint8Array) => void = () => {};
  t.serve('slow', () => new Promise((r) => (answer = r)));
  let code = '';
  void t.request('silent', new Uint8Array(1), 300).catch((e: unknown) => (code = transportErrorCode(e)));
  const slow = t.request('slow', new Uint8Array(1), 300);
  clock.advance(299);
  await new Promise((r) => setImmediate(r));
  assert.is(code, '', 'not before its timeout');
  answer(Buffer.from('late but in time'));
  assert.is((await slow).toString(), 'late but in time');
  clock.advance(1);
  await new Promise((r) => setImmediate(r));
  assert.is(code, 'TIMEOUT');
  assert.is(clock.pending, 0, 'the answered request left no timer behind');
});

test('seeded ids: the same seed gives the same ids, their time from the clock; brokers of a cluster differ', () => {
  const clock = new SimulatedClock(1_700_000_000_000);
  const a = seededIds(3, clock);
  const b = seededIds(3, clock);
  const ids = [a.ulid(), a.ulid()];
  assert.equal([b.ulid(), b.ulid()], ids);
  assert.ok(ids[0]! < ids[1]!, 'increasing within one millisecond');
  assert.is(decodeTime(ids[0]!), 1_700_000_000_000);
  assert.is(a.random(), b.random());
  const cluster = memoryCluster({ seed: 9 });
  assert.is.not(cluster.runtimeFor(1).ids.ulid(), cluster.runtimeFor(2).ids.ulid());
  assert.is(cluster.runtimeFor(1).storage, cluster.runtimeFor(1).storage, 'one disk per broker');
  assert.is(cluster.runtimeFor(1).kv, cluster.runtimeFor(2).kv, 'one bucket for the cluster');
});

test.run();
