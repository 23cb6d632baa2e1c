// ListPartitionReassignments (KIP-455): the ongoing reassignments, from this broker's view of the metadata
// (where the controller records them): per partition the whole current replica set and the replicas being
// added and removed. A null topic list means every topic; unknown topics and partitions are left out, as
// Kafka's controller does.
import type { ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, OngoingTopicReassignment } from '../../protocol/generated/list-partition-reassignments.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import { isReassigning } from '../../controller/reassignment.ts';
import type { BrokerServices } from '../broker-services.ts';

export function listPartitionReassignments(svc: BrokerServices, req: ListPartitionReassignmentsRequest): ListPartitionReassignmentsResponse {
  const { topics } = svc.metadata.snapshot();
  const asked = req.topics ?? Object.keys(topics).sort().map((name) => ({ name, partitionIndexes: null }));
  const out: OngoingTopicReassignment[] = [];
  for (const t of asked) {
    const topic = topics[t.name];
    if (!topic) continue;
    const parts = (t.partitionIndexes ?? topic.partitions.map((p) => p.partition)).map((i) => topic.partitions[i]).filter((p) => p !== undefined && isReassigning(p));
    if (parts.length === 0) continue;
    out.push({
      name: t.name,
      partitions: parts.map((p) => ({ partitionIndex: p.partition, replicas: [...p.replicas], addingReplicas: [...(p.addingReplicas ?? [])], removingReplicas: [...(p.removingReplicas ?? [])] })),
    });
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics: out };
}
