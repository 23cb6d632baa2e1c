// SIGKILL the leader of a partition three times in a row (restarting it in between) while KafkaJS produces
// with acks=all to an RF=3, min.insync.replicas=2 topic: a new leader is elected from the ISR each time,
// producing resumes, and afterwards no acknowledged record is lost or moved, nothing is duplicated that was
// not retried, order and offsets hold, and every replica log is byte-identical below the high watermark.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TestCluster } from '../../src/testing/index.ts';
import { pollUntil, startChaosCluster, startKafkaJsWorkload, verify, waitForProgress } from '../helpers/chaos-workload.ts';

const TOPIC = 'chaos-leader';
let cluster: TestCluster | undefined;
test.after(async () => {
  await cluster?.close();
});

test('three leader crashes in a row lose no acknowledged record', async () => {
  cluster = await startChaosCluster(TOPIC);
  const c = cluster;
  const w = await startKafkaJsWorkload(c, { topic: TOPIC, partitions: 3, paceMs: 2, maxRecords: 30_000 });
  try {
    await pollUntil('the first acknowledged records', () => w.acked() >= 300, 20_000);
    const epochs = [c.partitionState(TOPIC, 0).leaderEpoch];
    for (let round = 0; round < 3; round++) {
      const killed = await c.killLeader(TOPIC, 0);
      const leader = await c.waitForLeader(TOPIC, 0, { notBroker: killed, timeoutMs: 15_000 });
      assert.is.not(leader, killed);
      epochs.push(c.partitionState(TOPIC, 0).leaderEpoch);
      await waitForProgress(w, 3, 100, 20_000);
      await c.restartBroker(killed);
      await c.waitForInSync(TOPIC, { timeoutMs: 20_000 });
    }
    for (let i = 1; i < epochs.length; i++) assert.ok(epochs[i]! > epochs[i - 1]!, `leader epochs increase: ${epochs.join(', ')}`);
  } finally {
    await w.stop();
  }
  const v = await verify(c, TOPIC, 3, w.sent, w.lateAcks);
  assert.ok(v.acked >= 600, `acknowledged ${v.acked}`);
  console.log(JSON.stringify({ scenario: 'leader-kill-x3', ...v.stats, highWatermarks: v.highWatermarks, sendErrors: w.errors.length, lateAcks: w.lateAcks?.length ?? 0 }));
});

test.run();
