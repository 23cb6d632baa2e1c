// The replica a partition-level request addresses, or the Kafka error that tells the client what to do:
// NOT_LEADER_OR_FOLLOWER when the partition exists but is not hosted here (refresh metadata and go to the
// leader), UNKNOWN_TOPIC_OR_PARTITION when it does not exist, and KIP-320's epoch fencing when the client
// believes in another leader epoch (FENCED_LEADER_EPOCH: the client's is older; UNKNOWN_LEADER_EPOCH: newer).
// A produce waits (leaderReplica) for a replica that the metadata names leader here and that is still opening
// its log, instead of refusing it.
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

/**
 * The replica a produce addresses, once it can take the write: when the metadata names this broker leader and
 * the replica is still recovering (opening its log: a topic just created, a broker just started), the produce
 * waits for it, at most `timeoutMs`, instead of being refused. Kafka's leader does the same: Partition.makeLeader
 * creates the log under the partition's leaderIsrUpdateLock, and appendRecordsToLeader takes that lock, so a
 * produce arriving during the transition waits for it. A refusal here is not harmless: another broker's Metadata
 * already named this leader (it cannot know this broker's replica is not open yet), a client without
 * idempotence then has later requests accepted while the refused ones are retried behind them, reordering the
 * partition (librdkafka's test 0005). Still recovering at the deadline: NOT_LEADER_OR_FOLLOWER as before (nothing
 * was appended, so the client retries safely); a replica that follows, or whose log failed, is refused at once.
 */
export async function leaderReplica(svc: BrokerServices, topic: string, partition: number, timeoutMs: number): Promise<PartitionReplica> {
  const replica = localReplica(svc, topic, partition);
  if (replica.role !== 'recovering' || replica.leaderId !== svc.brokerId || timeoutMs <= 0) return replica;
  await svc.registry.waitRecovered(topic, partition, timeoutMs);
  // Looked up again: the topic may have been deleted or re-created meanwhile.
  return localReplica(svc, topic, partition);
}
