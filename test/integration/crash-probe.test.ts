// Fast crash detection (src/controller/liveness-probe.ts): with a 30 s broker session timeout and a 20 s controller
// lease, a SIGKILLed broker is still found dead and its partitions re-led within seconds, because its NATS
// connection closes with the process and the controller's probe gets "no responders". Also when the dead broker was
// the controller: a standby probing the lease holder takes the lease over at once and deregisters it. A paused
// (SIGSTOP) broker keeps its connection: it is left to the session timeout, never declared dead by the probe.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { until } from '../helpers/until.ts';
import { startTestCluster, type TestCluster } from '../../src/testing/index.ts';
import { connectNats } from '../../src/runtime/node/nats-connection.ts';
import { subjectsFor } from '../../src/transport/subjects.ts';
import { DEFAULT_METADATA_BUCKET } from '../../src/runtime/node/nats-kv.ts';

const TOPIC = 'probe-orders';
const SESSION_MS = 30_000;
/** What the harness gives brokers for a custom session timeout (test-cluster.ts: a sixth of it). */
const HEARTBEAT_MS = SESSION_MS / 6;
let cluster: TestCluster | undefined;

test.after(async () => {
  await cluster?.close();
});

test('a killed broker, then a killed controller, are found dead long before their session timeout', async () => {
  cluster = await startTestCluster({
    brokers: 3,
    sessionTimeoutMs: SESSION_MS,
    brokerArgs: ['--crash-probe', '--controller-lease-ms', '20000'],
    topics: [{ name: TOPIC, partitions: 3, replicationFactor: 3 }],
  });
  const c = cluster;
  const registered = (id: number) => c.metadata().brokers[id] !== undefined;

  // At rest, heartbeats and lease renewals say everyone is alive: nobody is probed. (Watched on a connection
  // of the test's own, closed before anyone dies: its subscription would otherwise answer for the dead.)
  const watcher = await connectNats({ servers: c.natsUrl, name: 'probe-watcher' });
  let probes = 0;
  watcher.subscribe(subjectsFor(DEFAULT_METADATA_BUCKET).alive(1).replace(/\.1$/, '.*'), { callback: () => void probes++ });
  await watcher.flush();
  await new Promise((r) => setTimeout(r, HEARTBEAT_MS + 2_000));
  await watcher.close();
  assert.is(probes, 0, 'no probe while every heartbeat and renewal is on time');

  // A frozen broker keeps its NATS connection: once its heartbeat is overdue it is probed, and the probe must
  // not call it dead.
  const controller = c.metadata().controller!.brokerId;
  const paused = [1, 2, 3].find((id) => id !== controller)!;
  c.pauseBroker(paused);
  await new Promise((r) => setTimeout(r, HEARTBEAT_MS + 1_500)); // overdue, then several probe rounds
  assert.ok(registered(paused), 'a paused broker stays registered within its session timeout');
  c.resumeBroker(paused);

  // A follower-only death first: the controller's own probe.
  const victim = [1, 2, 3].find((id) => id !== controller && id !== paused)!;
  await c.killBroker(victim);
  const tookMs = await until(`broker ${victim} to be deregistered`, () => !registered(victim), 10_000);
  assert.ok(tookMs < 10_000, `deregistered in ${tookMs} ms with a 30 s session timeout`);

  // Then the controller itself: the remaining broker takes the lease over without waiting out its 20 s TTL.
  await c.killBroker(controller);
  await until('a new controller', () => {
    const holder = c.metadata().controller?.brokerId;
    return holder !== undefined && holder !== controller;
  }, 10_000).catch((err) => {
    console.error(c.logs(paused).filter((l) => /controll|lease|probe|connect/i.test(l)).slice(-30).join('\n'));
    throw err;
  });
  await until(`broker ${controller} to be deregistered`, () => !registered(controller), 10_000);
  const leader = await c.waitForLeader(TOPIC, 0, { notBroker: controller, timeoutMs: 10_000 });
  assert.is(leader, paused, 'the only live broker leads');
});

test.run();
