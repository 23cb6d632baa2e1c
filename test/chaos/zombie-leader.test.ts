// SIGSTOP the leader of a partition for longer than the session timeout while KafkaJS produces with
// acks=all, so the controller replaces it; then SIGCONT it (a zombie that still believes it leads). An
// acks=all produce sent straight to the zombie right after it thaws must not be acknowledged (it is not the
// leader any more), the zombie rejoins as a follower, and the history and the replica logs check out.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TestCluster } from '../../src/testing/index.ts';
import type { SentRecord } from '../../src/testing/checker.ts';
import { pollUntil, produceOnce, startChaosCluster, startKafkaJsWorkload, step, verify, waitForProgress } from '../helpers/chaos-workload.ts';

const TOPIC = 'chaos-zombie';
let cluster: TestCluster | undefined;
test.after(async () => {
  await cluster?.close();
});

test('a frozen leader is replaced and, thawed, cannot acknowledge writes', async () => {
  cluster = await startChaosCluster(TOPIC);
  const c = cluster;
  const w = await startKafkaJsWorkload(c, { topic: TOPIC, partitions: 3, paceMs: 2, maxRecords: 30_000 });
  const zombieWrites: SentRecord[] = [];
  try {
    await pollUntil('the first acknowledged records', () => w.acked() >= 300, 20_000);
    const zombie = c.partitionState(TOPIC, 0).leader;
    const epoch = c.partitionState(TOPIC, 0).leaderEpoch;
    c.pauseBroker(zombie);
    step(`paused broker ${zombie}, leader of ${TOPIC}-0 at epoch ${epoch}`);
    const leader = await c.waitForLeader(TOPIC, 0, { notBroker: zombie, timeoutMs: 15_000 });
    assert.ok(c.partitionState(TOPIC, 0).leaderEpoch > epoch, 'the new leader has a higher epoch');
    step(`new leader ${leader}; waiting for produce to resume`);
    await waitForProgress(w, 3, 100, 20_000);
    c.resumeBroker(zombie);
    step(`resumed broker ${zombie}`);
    // Straight away, before the zombie has necessarily caught up with the metadata.
    const results = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const value = `zombie-${i}`;
        const r = await produceOnce(c, zombie, TOPIC, 0, [value], -1, 3_000);
        const rec: SentRecord = { id: value, topic: TOPIC, partition: 0, status: 'failed', mayRetry: false };
        if ('errorCode' in r && r.errorCode === 0) {
          rec.status = 'acked';
          rec.offset = r.baseOffset;
        }
        zombieWrites.push(rec);
        return r;
      }),
    );
    step(`produce to the zombie: ${JSON.stringify(results)}`);
    for (const r of results) assert.ok(!('errorCode' in r) || r.errorCode !== 0, `the zombie (broker ${zombie}) acknowledged a write: ${JSON.stringify(r)} (leader now ${leader})`);
    await c.waitForInSync(TOPIC, { timeoutMs: 20_000 });
    step('in sync again');
    await waitForProgress(w, 3, 100, 20_000);
  } finally {
    step('stopping the workload');
    await w.stop();
  }
  const v = await verify(c, TOPIC, 3, [...w.sent, ...zombieWrites], w.lateAcks);
  assert.ok(v.acked >= 600, `acknowledged ${v.acked}`);
  console.log(JSON.stringify({ scenario: 'zombie-leader', ...v.stats, highWatermarks: v.highWatermarks, sendErrors: w.errors.length, lateAcks: w.lateAcks?.length ?? 0 }));
});

test.run();
