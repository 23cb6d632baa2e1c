// Cut the leader of a partition from the NATS bus (its proxy black-holes traffic; its Kafka port stays open)
// while KafkaJS produces with acks=all: the controller stops hearing it and elects another leader; the cut-off
// broker must not acknowledge acks=all writes on its own; after heal() it rejoins and every partition is back
// in sync; the history and the replica logs check out.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TestCluster } from '../../src/testing/index.ts';
import type { SentRecord } from '../../src/testing/checker.ts';
import { pollUntil, produceOnce, startChaosCluster, startKafkaJsWorkload, step, verify, waitForProgress } from '../helpers/chaos-workload.ts';

const TOPIC = 'chaos-isolate';
let cluster: TestCluster | undefined;
test.after(async () => {
  await cluster?.close();
});

test('a leader cut from NATS is replaced, acknowledges nothing alone, and rejoins after heal', async () => {
  cluster = await startChaosCluster(TOPIC);
  const c = cluster;
  const w = await startKafkaJsWorkload(c, { topic: TOPIC, partitions: 3, paceMs: 2, maxRecords: 30_000 });
  const isolatedWrites: SentRecord[] = [];
  try {
    await pollUntil('the first acknowledged records', () => w.acked() >= 300, 20_000);
    const isolated = c.partitionState(TOPIC, 0).leader;
    c.isolateBroker(isolated);
    step(`isolated broker ${isolated}, leader of ${TOPIC}-0`);
    const leader = await c.waitForLeader(TOPIC, 0, { notBroker: isolated, timeoutMs: 15_000 });
    step(`new leader ${leader}`);
    // Straight to the cut-off broker: it cannot reach any follower, so acks=all must not succeed.
    const r = await produceOnce(c, isolated, TOPIC, 0, ['isolated-0'], -1, 3_000);
    step(`produce to the isolated broker: ${JSON.stringify(r)}`);
    isolatedWrites.push({ id: 'isolated-0', topic: TOPIC, partition: 0, status: 'errorCode' in r && r.errorCode === 0 ? 'acked' : 'failed', offset: 'errorCode' in r ? r.baseOffset : undefined });
    assert.ok(!('errorCode' in r) || r.errorCode !== 0, `the isolated broker acknowledged an acks=all write: ${JSON.stringify(r)}`);
    await waitForProgress(w, 3, 100, 25_000);
    c.heal();
    step('healed');
    await c.waitForInSync(TOPIC, { timeoutMs: 25_000 });
    step('in sync again');
    await waitForProgress(w, 3, 100, 20_000);
  } finally {
    step('stopping the workload');
    await w.stop();
  }
  const v = await verify(c, TOPIC, 3, [...w.sent, ...isolatedWrites], w.lateAcks);
  assert.ok(v.acked >= 600, `acknowledged ${v.acked}`);
  console.log(JSON.stringify({ scenario: 'isolate-leader', ...v.stats, highWatermarks: v.highWatermarks, sendErrors: w.errors.length, lateAcks: w.lateAcks?.length ?? 0 }));
});

test.run();
