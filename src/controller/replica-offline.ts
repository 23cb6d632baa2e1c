// A replica whose log failed on I/O (machines/partition-replica.ts, state `offline`) is reported to the
// active controller, which moves its leadership to another ISR member and drops it from the ISR, as Kafka's
// controller does for the replicas of an offline log dir (KIP-858's offline directories in the broker's
// heartbeat). A partition with no other ISR member stays where it is: its leader answers KAFKA_STORAGE_ERROR,
// as Kafka's would, until the broker restarts and recovers the log. JSON over request/reply on
// subjectsFor(bucket).replicaOffline; the broker asks again while no controller answers, within a budget.
import { ErrorCode } from '../protocol/generated/errors.ts';

export interface ReplicaOfflineRequest {
  brokerId: number;
  incarnation: string;
  topic: string;
  partition: number;
}

export interface ReplicaOfflineResponse {
  errorCode: number;
  /** The partition's leader after the change (-1: none; the reporting broker: no other ISR member could take it). */
  leader?: number;
}

export function parseReplicaOfflineRequest(v: unknown): ReplicaOfflineRequest | null {
  if (typeof v !== 'object' || v === null) return null;
  const r = v as Record<string, unknown>;
  if (!Number.isSafeInteger(r.brokerId) || (r.brokerId as number) < 0 || typeof r.incarnation !== 'string') return null;
  if (typeof r.topic !== 'string' || !Number.isSafeInteger(r.partition) || (r.partition as number) < 0) return null;
  return { brokerId: r.brokerId as number, incarnation: r.incarnation, topic: r.topic, partition: r.partition as number };
}

/** Answers the broker asks again for: a registration not (yet) its own incarnation's. */
export const REPLICA_OFFLINE_RETRY_ON = [ErrorCode.STALE_BROKER_EPOCH] as const;
