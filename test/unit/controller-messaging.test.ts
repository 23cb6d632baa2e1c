// The broker's side of the control plane with a fake transport and a simulated clock: heartbeats go
// out at once and then every interval until stopped; a controlled shutdown request is retried while no
// controller answers or the one answering lost its lease, gives up at its deadline, and takes any other
// answer as final.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SimulatedClock } from '../../src/runtime/memory/simulated-clock.ts';
import { HeartbeatPublisher } from '../../src/controller/heartbeat-publisher.ts';
import { requestControlledShutdown } from '../../src/controller/controlled-shutdown.ts';
import type { Clock } from '../../src/runtime/clock.ts';

test('heartbeats: one at start, one per interval, none after stop', () => {
  const clock = new SimulatedClock();
  const sent: Array<[string, string, number]> = [];
  const hb = new HeartbeatPublisher({
    transport: { publish: (subject: string, data: Uint8Array) => void sent.push([subject, Buffer.from(data).toString(), clock.monotonic()]) },
    subject: 'kastor.x.heartbeat',
    heartbeat: { brokerId: 3, incarnation: 'inc' },
    intervalMs: 500,
    clock,
  });
  hb.start();
  for (let i = 0; i < 3; i++) clock.advance(499), clock.advance(1);
  assert.equal(sent.map(([, , t]) => t), [0, 500, 1000, 1500]);
  assert.equal(JSON.parse(sent[0]![1]), { brokerId: 3, incarnation: 'inc' });
  assert.is(sent[0]![0], 'kastor.x.heartbeat');
  hb.stop();
  for (let i = 0; i < 10; i++) clock.advance(500);
  assert.is(sent.length, 4);
});

/** A clock whose timers fire on the next macrotask, advancing time by their delay. */
function fastClock(): Clock & { t: number } {
  const c = {
    t: 0,
    wall: () => c.t,
    monotonic: () => c.t,
    setTimeout: (fn: () => void, ms: number) => setImmediate(() => ((c.t += ms), fn())),
    clearTimeout: (h: unknown) => clearImmediate(h as NodeJS.Immediate),
    setInterval: () => {
      throw new Error('not used');
    },
    clearInterval: () => {},
  };
  return c;
}

const reply = (v: unknown) => Buffer.from(JSON.stringify(v));

test('controlled shutdown: retried through no responders and NOT_CONTROLLER until answered', async () => {
  const answers: Array<() => unknown> = [
    () => {
      throw new Error('503 no responders');
    },
    () => reply({ errorCode: 41, remainingLeaderships: 0 }),
    () => reply({ errorCode: 0, remainingLeaderships: 2 }),
  ];
  const requests: string[] = [];
  const res = await requestControlledShutdown({
    transport: { request: async (_subject: string, data: Uint8Array) => (requests.push(Buffer.from(data).toString()), answers.shift()!() as Buffer) },
    subject: 's',
    request: { brokerId: 1, incarnation: 'i' },
    clock: fastClock(),
  });
  assert.equal(res, { errorCode: 0, remainingLeaderships: 2 });
  assert.is(requests.length, 3);
  assert.equal(JSON.parse(requests[0]!), { brokerId: 1, incarnation: 'i' });
});

test('controlled shutdown: another error is final; no answer at all gives up at the deadline', async () => {
  const stale = await requestControlledShutdown({
    transport: { request: async () => reply({ errorCode: 77, remainingLeaderships: 0 }) },
    subject: 's',
    request: { brokerId: 1, incarnation: 'i' },
    clock: fastClock(),
  });
  assert.is(stale!.errorCode, 77);
  const clock = fastClock();
  let tries = 0;
  const none = await requestControlledShutdown({
    transport: {
      request: async () => {
        tries++;
        throw new Error('503 no responders');
      },
    },
    subject: 's',
    request: { brokerId: 1, incarnation: 'i' },
    timeoutMs: 1000,
    clock,
  });
  assert.is(none, null);
  assert.is(tries, 10, 'one try per 100 ms pause within the deadline');
  assert.is(clock.t, 1000);
});

test.run();
