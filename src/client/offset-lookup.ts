// ListOffsets for the consumer and the admin: the earliest offset (-2), the latest (-1, the high watermark) or
// the first offset whose timestamp is at or after a time, for many partitions at once — one request per
// leader, retried after a metadata refresh when a leader moved.
import { ApiKey } from '../protocol/generated/api-keys.ts';
import type { Cluster } from './cluster.ts';
import { KafkaProtocolError, needsMetadataRefresh } from './errors.ts';

export const EARLIEST_TIMESTAMP = -2n;
export const LATEST_TIMESTAMP = -1n;

export interface OffsetQuery {
  topic: string;
  partition: number;
  /** -2n earliest, -1n latest, otherwise a timestamp in ms. */
  timestamp: bigint;
}

export interface OffsetAnswer {
  topic: string;
  partition: number;
  /** -1n when asked for a timestamp after the last record. */
  offset: bigint;
  timestamp: bigint;
}

const keyOf = (topic: string, partition: number) => `${topic}\0${partition}`;

/** Answers every query (in the order given), or throws the first non-retriable partition error. */
export async function lookupOffsets(cluster: Cluster, queries: OffsetQuery[], isolationLevel = 0): Promise<OffsetAnswer[]> {
  const answers = new Map<string, OffsetAnswer>();
  let todo = queries;
  await cluster.withRetry('ListOffsets', async () => {
    const byLeader = new Map<number, OffsetQuery[]>();
    for (const q of todo) {
      const leader = await cluster.leaderOf(q.topic, q.partition);
      let list = byLeader.get(leader);
      if (!list) byLeader.set(leader, (list = []));
      list.push(q);
    }
    let retriable: unknown = null;
    await Promise.all(
      [...byLeader].map(async ([leader, list]) => {
        const byTopic = new Map<string, OffsetQuery[]>();
        for (const q of list) {
          let l = byTopic.get(q.topic);
          if (!l) byTopic.set(q.topic, (l = []));
          l.push(q);
        }
        let res;
        try {
          const nc = await cluster.nodeConnection(leader);
          res = (
            await cluster.send(nc, ApiKey.ListOffsets, (v) => ({
              replicaId: -1,
              ...(v >= 2 ? { isolationLevel } : {}),
              topics: [...byTopic].map(([name, qs]) => ({
                name,
                partitions: qs.map((q) => ({ partitionIndex: q.partition, ...(v >= 4 ? { currentLeaderEpoch: -1 } : {}), timestamp: q.timestamp })),
              })),
            }))
          ).body;
        } catch (err) {
          if (needsMetadataRefresh(err)) cluster.dropConnection(leader);
          throw err;
        }
        for (const t of res.topics) {
          for (const p of t.partitions) {
            if (p.errorCode !== 0) {
              const err = new KafkaProtocolError(p.errorCode, { topic: t.name, partition: p.partitionIndex, broker: leader });
              if (!err.retriable) throw err;
              cluster.invalidate([t.name]);
              retriable = err;
              continue;
            }
            answers.set(keyOf(t.name, p.partitionIndex), { topic: t.name, partition: p.partitionIndex, offset: p.offset ?? -1n, timestamp: p.timestamp ?? -1n });
          }
        }
      }),
    );
    todo = todo.filter((q) => !answers.has(keyOf(q.topic, q.partition)));
    if (todo.length > 0) throw retriable ?? new KafkaProtocolError(3, { topic: todo[0]!.topic, partition: todo[0]!.partition, message: 'left out of the ListOffsets response' });
  });
  return queries.map((q) => answers.get(keyOf(q.topic, q.partition))!);
}
