// AlterPartitionReassignments (KIP-455): start, change or cancel (null replicas) the reassignment of
// partitions to new replica sets. The active controller records them in the metadata and carries them out
// (src/controller/reassignment.ts); the answer comes once they are recorded, not when the data has moved —
// ListPartitionReassignments shows what is still ongoing.
import type { AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse } from '../../protocol/generated/alter-partition-reassignments.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { byTopic, failAll, forwardToController } from './controller-forward.ts';

export async function alterPartitionReassignments(svc: BrokerServices, req: AlterPartitionReassignmentsRequest): Promise<AlterPartitionReassignmentsResponse> {
  const partitions = req.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, replicas: p.replicas })));
  const forwarded = await forwardToController(svc, 'reassignPartitions', { partitions }, req.timeoutMs);
  const results = forwarded.results ?? failAll(partitions, forwarded.errorCode);
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    responses: byTopic(results, (name, list) => ({
      name,
      partitions: list.map((p) => ({ partitionIndex: p.partition, errorCode: p.errorCode, errorMessage: p.errorMessage })),
    })),
  };
}
