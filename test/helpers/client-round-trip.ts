// Five records through a cluster with Kastor's client: produced with acks=all to partition 0 of `topic`, read
// back from the start, asserted in order. The smallest proof that a cluster set up some new way (TLS to NATS,
// closed NATS, a dev cluster) serves produce and fetch.
import * as assert from 'uvu/assert';
import type { Kafka } from '../../src/client/index.ts';

export async function roundTripFive(kafka: Kafka, topic: string): Promise<void> {
  const producer = kafka.producer({ acks: 'all' });
  const consumer = kafka.consumer();
  try {
    for (let i = 0; i < 5; i++) await producer.send({ topic, messages: [{ value: `v${i}` }] });
    consumer.assign([{ topic, partition: 0, offset: 'earliest' }]);
    const seen: string[] = [];
    for (let polls = 0; seen.length < 5 && polls < 100; polls++) {
      const batch = await consumer.next();
      if (batch.done) break;
      for (const r of batch.value.records) seen.push(r.value!.toString());
    }
    assert.equal(seen, ['v0', 'v1', 'v2', 'v3', 'v4']);
  } finally {
    await consumer.close();
    await producer.close();
  }
}
