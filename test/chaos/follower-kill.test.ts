// SIGKILL a follower while kcat produces with -X acks=all to a one-partition RF=3, min.insync.replicas=2
// topic: the leader keeps acknowledging once the ISR shrinks to two, the follower comes back, catches up and
// rejoins the ISR; no acknowledged record is lost, the replica logs are byte-identical below the HW.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TestCluster } from '../../src/testing/index.ts';
import { pollUntil, startChaosCluster, startKcatWorkload, verify, waitForProgress } from '../helpers/chaos-workload.ts';

const TOPIC = 'chaos-follower';
let cluster: TestCluster | undefined;
test.after(async () => {
  await cluster?.close();
});

test('a follower crash under kcat acks=all loses nothing and the follower rejoins the ISR', async () => {
  cluster = await startChaosCluster(TOPIC, 1);
  const c = cluster;
  const w = startKcatWorkload(c, { topic: TOPIC, partitions: 1, batchSize: 50, maxRecords: 20_000 });
  try {
    await pollUntil('the first acknowledged records', () => w.acked() >= 200, 20_000);
    const { leader, replicas } = c.partitionState(TOPIC, 0);
    const follower = replicas.find((r) => r !== leader)!;
    await c.killBroker(follower);
    await pollUntil('the ISR without the dead follower', () => !c.partitionState(TOPIC, 0).isr.includes(follower), 15_000);
    assert.is(c.partitionState(TOPIC, 0).leader, leader, 'the leader stays');
    await waitForProgress(w, 1, 200, 20_000);
    await c.restartBroker(follower);
    await c.waitForInSync(TOPIC, { timeoutMs: 20_000 });
    await waitForProgress(w, 1, 100, 20_000);
  } finally {
    await w.stop();
  }
  const v = await verify(c, TOPIC, 1, w.sent);
  assert.ok(v.acked >= 500, `acknowledged ${v.acked}`);
  console.log(JSON.stringify({ scenario: 'follower-kill-kcat', ...v.stats, highWatermarks: v.highWatermarks, sendErrors: w.errors.length, lateAcks: w.lateAcks?.length ?? 0 }));
});

test.run();
