// OffsetForLeaderEpoch for clients (KIP-320): after a leader change, librdkafka and the Java consumer ask the
// new leader where the epoch of their last fetched record ends, and truncate their position there when the
// log diverged. The answer is the leader's epoch cache lookup, the same one a follower's divergence check
// uses (LeaderEpochCache.endOffsetFor, Kafka's LeaderEpochFileCache.endOffsetFor): the start of the next
// higher epoch with the largest epoch at or below the one asked, the log end offset for the latest epoch, and
// -1/-1 when the cache knows no answer. As Kafka 3.9 (ReplicaManager.lastOffsetForLeaderEpoch, which asks
// every partition with fetchOnlyFromLeader): current_leader_epoch older than the leader's is FENCED_LEADER_EPOCH,
// newer UNKNOWN_LEADER_EPOCH, a replica that does not lead NOT_LEADER_OR_FOLLOWER, whatever replica_id says.
import type { OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse } from '../../protocol/generated/offset-for-leader-epoch.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { errorCodeOf, KafkaError } from '../kafka-error.ts';
import { localReplica } from './local-replica.ts';

export function offsetForLeaderEpoch(svc: BrokerServices, req: OffsetForLeaderEpochRequest): OffsetForLeaderEpochResponse {
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p) => {
        try {
          const log = localReplica(svc, t.topic, p.partition, p.currentLeaderEpoch ?? -1).leaderLog();
          const end = log.epochs.endOffsetFor(p.leaderEpoch);
          return { errorCode: ErrorCode.NONE, partition: p.partition, leaderEpoch: end.epoch, endOffset: BigInt(end.endOffset) };
        } catch (err) {
          if (!(err instanceof KafkaError)) svc.logger.error('offset for leader epoch failed', { topic: t.topic, partition: p.partition, error: err as Error });
          return { errorCode: errorCodeOf(err), partition: p.partition, leaderEpoch: -1, endOffset: -1n };
        }
      }),
    })),
  };
}
