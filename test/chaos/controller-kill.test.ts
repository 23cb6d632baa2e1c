// SIGKILL the active controller (cluster.metadata().controller) while KafkaJS produces with acks=all: another
// broker takes the controller lease (a higher epoch), the partitions the dead broker led get new leaders,
// producing resumes on every partition; afterwards the history and the replica logs check out.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TestCluster } from '../../src/testing/index.ts';
import { pollUntil, startChaosCluster, startKafkaJsWorkload, verify, waitForProgress } from '../helpers/chaos-workload.ts';

const TOPIC = 'chaos-controller';
let cluster: TestCluster | undefined;
test.after(async () => {
  await cluster?.close();
});

test('a controller crash: a new controller, new leaders, no acknowledged record lost', async () => {
  cluster = await startChaosCluster(TOPIC);
  const c = cluster;
  await pollUntil('an active controller', () => c.metadata().controller !== null, 10_000);
  const w = await startKafkaJsWorkload(c, { topic: TOPIC, partitions: 3, paceMs: 2, maxRecords: 30_000 });
  try {
    await pollUntil('the first acknowledged records', () => w.acked() >= 300, 20_000);
    const before = c.metadata().controller!;
    await c.killBroker(before.brokerId);
    await pollUntil(
      'another controller',
      () => {
        const now = c.metadata().controller;
        return now !== null && now.brokerId !== before.brokerId;
      },
      15_000,
    );
    assert.ok(c.metadata().controller!.epoch > before.epoch, 'the controller epoch increases');
    for (let p = 0; p < 3; p++) await c.waitForLeader(TOPIC, p, { notBroker: before.brokerId, timeoutMs: 15_000 });
    await waitForProgress(w, 3, 100, 20_000);
    await c.restartBroker(before.brokerId);
    await c.waitForInSync(TOPIC, { timeoutMs: 20_000 });
  } finally {
    await w.stop();
  }
  const v = await verify(c, TOPIC, 3, w.sent, w.lateAcks);
  assert.ok(v.acked >= 600, `acknowledged ${v.acked}`);
  console.log(JSON.stringify({ scenario: 'controller-kill', ...v.stats, highWatermarks: v.highWatermarks, sendErrors: w.errors.length, lateAcks: w.lateAcks?.length ?? 0 }));
});

test.run();
