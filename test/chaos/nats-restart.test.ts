// Restart nats-server (the bus and the metadata bucket) while KafkaJS produces with acks=all: brokers and
// the harness reconnect, producing resumes on every partition, every partition is back in sync, and the
// history and the replica logs check out.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TestCluster } from '../../src/testing/index.ts';
import { pollUntil, startChaosCluster, startKafkaJsWorkload, verify, waitForProgress } from '../helpers/chaos-workload.ts';

const TOPIC = 'chaos-nats';
let cluster: TestCluster | undefined;
test.after(async () => {
  await cluster?.close();
});

test('a nats-server restart under load loses no acknowledged record', async () => {
  cluster = await startChaosCluster(TOPIC);
  const c = cluster;
  const w = await startKafkaJsWorkload(c, { topic: TOPIC, partitions: 3, paceMs: 2, maxRecords: 30_000 });
  try {
    await pollUntil('the first acknowledged records', () => w.acked() >= 300, 20_000);
    await c.restartNats();
    await waitForProgress(w, 3, 200, 30_000);
    await c.waitForInSync(TOPIC, { timeoutMs: 30_000 });
  } finally {
    await w.stop();
  }
  const v = await verify(c, TOPIC, 3, w.sent, w.lateAcks);
  assert.ok(v.acked >= 900, `acknowledged ${v.acked}`);
  console.log(JSON.stringify({ scenario: 'nats-restart', ...v.stats, highWatermarks: v.highWatermarks, sendErrors: w.errors.length, lateAcks: w.lateAcks?.length ?? 0 }));
});

test.run();
