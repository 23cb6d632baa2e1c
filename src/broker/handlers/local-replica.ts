// The replica a partition-level request addresses, or the Kafka error that tells the client what to do:
// NOT_LEADER_OR_FOLLOWER when the partition exists but is not hosted here (refresh metadata and go to the
// leader), UNKNOWN_TOPIC_OR_PARTITION when it does not exist, and KIP-320's epoch fencing when the client
// believes in another leader epoch (FENCED_LEADER_EPOCH: the client's is older; UNKNOWN_LEADER_EPOCH: newer).
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import type { PartitionReplica } from '../partition-replica.ts';
import { KafkaError } from '../kafka-error.ts';

export function localReplica(svc: BrokerServices, topic: string, partition: number, currentLeaderEpoch = -1): PartitionReplica {
  const replica = svc.registry.get(topic, partition);
  if (!replica) {
    const known = svc.metadata.snapshot().topics[topic];
    const exists = known !== undefined && partition >= 0 && partition < known.partitions.length;
    throw new KafkaError(exists ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no replica of ${topic}-${partition} on broker ${svc.brokerId}`, {
      topic,
      partition,
    });
  }
  if (currentLeaderEpoch >= 0 && currentLeaderEpoch !== replica.leaderEpoch) {
    throw new KafkaError(
      currentLeaderEpoch < replica.leaderEpoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH,
      `leader epoch ${currentLeaderEpoch} does not match ${replica.leaderEpoch}`,
      { topic, partition },
    );
  }
  return replica;
}
