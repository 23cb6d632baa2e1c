// The controller across real `kastor broker` processes (three of them on one nats-server, short timeouts
// through the CLI flags): SIGKILL of the controller's process hands the lease to another broker with a
// higher epoch, and the killed broker's partitions get new leaders from their ISRs, which Kafka clients
// see in Metadata.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsServer } from '../../src/testing/nats-server.ts';
import { BrokerProcess } from '../../src/testing/broker-process.ts';
import { connectNats, type NatsConnection } from '../../src/runtime/node/nats-connection.ts';
import { NatsKv } from '../../src/runtime/node/nats-kv.ts';
import { MetadataStore } from '../../src/metadata/metadata-store.ts';
import { newTopicId } from '../../src/metadata/assignment.ts';
import type { ClusterSnapshot } from '../../src/metadata/types.ts';
import { run } from '../helpers/single-broker.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';
import { nodeIds } from '../../src/runtime/node/node-ids.ts';
import { ulid } from 'ulid';

const FLAGS = ['--controller-lease-ms', '1000', '--session-timeout-ms', '1500', '--heartbeat-interval-ms', '200'];

let dir = '';
let nats: NatsServer | undefined;
let nc: NatsConnection | undefined;
let store: MetadataStore | undefined;
const brokers = new Map<number, BrokerProcess>();

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kastor-controller-procs-'));
  nats = await NatsServer.start({ dir: join(dir, 'nats') });
  for (const id of [1, 2, 3]) {
    brokers.set(id, await BrokerProcess.start({ id, natsUrl: nats.url, dataDir: join(dir, `broker-${id}`), extraArgs: FLAGS }));
  }
  nc = await connectNats({ servers: nats.url });
  store = await MetadataStore.open(await NatsKv.open(nc, 'kastor-metadata'), { clock: nodeClock, ids: nodeIds });
});

test.after(async () => {
  await Promise.all([...brokers.values()].map((b) => b.kill()));
  await store?.close();
  await nc?.close();
  await nats?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test('SIGKILL of the controller process: another broker becomes controller and its partitions get new leaders', async () => {
  const s0 = await store!.waitFor((s) => Object.keys(s.brokers).length === 3 && s.controller !== null, 10_000);
  const victim = s0.controller!.brokerId;
  const [a, b] = [1, 2, 3].filter((id) => id !== victim) as [number, number];
  await store!.createTopic({
    name: 'kill',
    id: newTopicId(ulid(Date.now())),
    partitions: [
      { partition: 0, replicas: [victim, a, b], leader: victim, leaderEpoch: 0, isr: [victim, a, b] },
      { partition: 1, replicas: [a, victim, b], leader: a, leaderEpoch: 0, isr: [a, victim, b] },
      { partition: 2, replicas: [b, a, victim], leader: b, leaderEpoch: 0, isr: [b, a, victim] },
    ],
    config: {},
    createdAt: Date.now(),
  });
  const killedAt = Date.now();
  await brokers.get(victim)!.kill();
  brokers.delete(victim);

  const sCtl = await store!.waitFor((s) => s.controller !== null && s.controller.brokerId !== victim, 6_000);
  assert.ok(sCtl.controller!.epoch > s0.controller!.epoch, 'a new controller epoch');
  const failoverMs = Date.now() - killedAt;
  assert.ok(failoverMs < 5_000, `controller failover in ${failoverMs} ms`);

  const settled = (s: ClusterSnapshot) => s.brokers[victim] === undefined && s.topics.kill!.partitions.every((p) => p.leader !== victim && !p.isr.includes(victim));
  const s1 = await store!.waitFor(settled, 8_000);
  const [p0, p1, p2] = s1.topics.kill!.partitions.map((p) => p!);
  assert.equal({ leader: p0.leader, leaderEpoch: p0.leaderEpoch, isr: p0.isr }, { leader: a, leaderEpoch: 1, isr: [a, b] });
  assert.equal({ leader: p1.leader, leaderEpoch: p1.leaderEpoch, isr: p1.isr }, { leader: a, leaderEpoch: 0, isr: [a, b] });
  assert.equal({ leader: p2.leader, leaderEpoch: p2.leaderEpoch, isr: p2.isr }, { leader: b, leaderEpoch: 0, isr: [b, a] });

  // A Kafka client bootstrapping from a survivor sees the new leader and the new controller's cluster.
  const { stdout } = await run('kcat', ['-L', '-b', brokers.get(a)!.bootstrap, '-t', 'kill']);
  assert.match(stdout, /2 brokers:/);
  assert.match(stdout, new RegExp(`partition 0, leader ${a}, `));
});

test('a frozen controller (SIGSTOP) is replaced and deregistered; resumed, it registers again and stays a standby', async () => {
  const s0 = await store!.waitFor((s) => s.controller !== null && brokers.has(s.controller.brokerId) && Object.keys(s.brokers).length === brokers.size, 6_000);
  const frozen = s0.controller!.brokerId;
  const other = [...brokers.keys()].find((id) => id !== frozen)!;
  const incarnation = s0.brokers[frozen]!.incarnation;
  const led = s0.topics.kill!.partitions.filter((p) => p.leader === frozen).map((p) => p.partition);
  assert.ok(led.length > 0, 'the frozen broker leads something');
  brokers.get(frozen)!.pause();
  try {
    const moved = (s: ClusterSnapshot) => led.every((i) => s.topics.kill!.partitions[i]!.leader === other);
    const s1 = await store!.waitFor((s) => s.controller?.brokerId === other && s.brokers[frozen] === undefined && moved(s), 8_000);
    for (const i of led) assert.is(s1.topics.kill!.partitions[i]!.leaderEpoch, s0.topics.kill!.partitions[i]!.leaderEpoch + 1);
  } finally {
    brokers.get(frozen)!.resume();
  }
  const s2 = await store!.waitFor((s) => s.brokers[frozen] !== undefined, 5_000);
  assert.is(s2.brokers[frozen]!.incarnation, incarnation, 'the same incarnation registers again');
  const epoch = s2.controller!.epoch;
  // Its lease expired on its own clock: it must not take the lease back or write as a controller.
  await store!.waitFor((s) => s.revision > s2.revision + 8, 5_000); // a few renewals by the new controller
  assert.equal(store!.snapshot().controller, { brokerId: other, epoch });
  assert.ok(brokers.get(frozen)!.running);
});

test.run();
