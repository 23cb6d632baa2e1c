// Kastor's producer across a leader failure: three brokers, a topic with replication factor 3 and
// min.insync.replicas 2, acks=all; the leader of partition 0 is SIGKILLed while sends are in flight. The
// producer must follow the new leader (no send fails), and every acknowledged record must be read back at the
// offset it was acknowledged with. Without idempotence a retried batch may be stored twice; that is allowed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestCluster, type TestCluster } from '../../src/testing/test-cluster.ts';
import { Kafka, type RecordMetadata } from '../../src/client/index.ts';

test('acks=all: the producer follows the new leader after a SIGKILL and no acknowledged record is lost', async () => {
  let cluster: TestCluster | undefined;
  try {
    cluster = await startTestCluster({ brokers: 3, topics: [{ name: 'fo', partitions: 2, replicationFactor: 3, config: { 'min.insync.replicas': '2' } }] });
    const kafka = new Kafka({ bootstrap: cluster.bootstrapServers, clientId: 'failover-test', retry: { retries: 30, initialBackoffMs: 100, maxBackoffMs: 1000 } });
    const producer = kafka.producer({ acks: 'all', deliveryTimeoutMs: 60_000, timeoutMs: 10_000 });
    const acked: Array<RecordMetadata & { value: string }> = [];
    // A consumer reads both partitions all along, so it too has to follow partition 0's new leader.
    const consumer = kafka.consumer({ maxWaitMs: 200 });
    consumer.assign([0, 1].map((partition) => ({ topic: 'fo', partition, offset: 'earliest' as const })));
    const stored = new Map<string, string>();
    const reading = (async () => {
      for await (const batch of consumer) for (const rec of batch.records) stored.set(`${batch.partition}@${rec.offset}`, rec.value!.toString());
    })();
    const TOTAL_SENDS = 120;
    let sent = 0;
    let killed = -1;
    let ackedAfterKill = 0;
    const killAt = 30;
    const worker = async () => {
      while (sent < TOTAL_SENDS) {
        const i = sent++;
        if (i === killAt) killed = await cluster!.killLeader('fo', 0);
        const messages = Array.from({ length: 20 }, (_, j) => ({ value: `m-${i}-${j}` }));
        const meta = await producer.send({ topic: 'fo', messages });
        meta.forEach((m, j) => acked.push({ ...m, value: messages[j]!.value }));
        if (killed >= 0) ackedAfterKill += meta.filter((m) => m.partition === 0).length;
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    await producer.close();
    assert.ok(killed > 0, 'a leader was killed');
    assert.is(acked.length, TOTAL_SENDS * 20, 'every send was acknowledged');
    assert.ok(ackedAfterKill > 0, 'partition 0 took records after its leader died');
    const newLeader = await cluster.waitForLeader('fo', 0, { notBroker: killed });
    assert.is.not(newLeader, killed);

    // The consumer must reach both partitions' high watermarks.
    const admin = kafka.admin();
    const ends = await admin.fetchOffsets('fo');
    await admin.close();
    const deadline = Date.now() + 30_000;
    const done = () => ends.every((e) => (consumer.position({ topic: 'fo', partition: e.partition }) ?? -1n) >= e.latest);
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`the consumer did not reach the ends ${ends.map((e) => e.latest)} within 30 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await consumer.close();
    await reading;
    const missing = acked.filter((a) => stored.get(`${a.partition}@${a.offset}`) !== a.value);
    assert.is(missing.length, 0, `acknowledged records not found at their offsets: ${missing.slice(0, 5).map((m) => `${m.value}@${m.partition}:${m.offset}`).join(', ')}`);
    assert.ok(acked.some((a) => a.partition === 0) && acked.some((a) => a.partition === 1));
  } finally {
    await cluster?.close();
  }
});

test.run();
