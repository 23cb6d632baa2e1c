// What a partition's leader stored, read with a plain Fetch from offset 0: the producer id of each batch in the
// partition's first MiB (idempotent batches carry one >= 0), for tests that check a client's idempotent producer.
import { BrokerConnection } from '../../src/client/broker-connection.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { forEachBatch } from '../../src/protocol/record-batch.ts';

export async function storedProducerIds(leader: { host: string; port: number }, topic: string, partition: number): Promise<number[]> {
  const conn = await BrokerConnection.connect(leader);
  try {
    const res = await conn.request(ApiKey.Fetch, 11, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [], rackId: '',
    });
    const ids: number[] = [];
    forEachBatch(res.responses[0]!.partitions[0]!.records ?? Buffer.alloc(0), (_pos, h) => ids.push(h.producerId));
    return ids;
  } finally {
    conn.close();
  }
}
