// ElectLeaders (KIP-183, KIP-460): preferred or unclean leader elections an operator asks for (kafka-leader-
// election.sh, Admin.electLeaders). The active controller decides and writes them (src/controller/
// elect-leaders.ts); this broker forwards the request and answers per partition. v0 knows only preferred
// elections and has no top-level error code; a null partition list means every partition of the cluster.
import type { ElectLeadersRequest, ElectLeadersResponse } from '../../protocol/generated/elect-leaders.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import { ElectionType, type TopicPartitionRef } from '../../controller/elect-leaders.ts';
import type { BrokerServices } from '../broker-services.ts';
import { byTopic, failAll, forwardToController } from './controller-forward.ts';

export async function electLeaders(svc: BrokerServices, req: ElectLeadersRequest, apiVersion: number): Promise<ElectLeadersResponse> {
  const electionType = apiVersion >= 1 ? (req.electionType ?? ElectionType.PREFERRED) : ElectionType.PREFERRED;
  const refs: TopicPartitionRef[] | null = req.topicPartitions === null ? null : uniqueRefs(req.topicPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition }))));
  const answer = (errorCode: number, results: ReturnType<typeof failAll>): ElectLeadersResponse => ({
    throttleTimeMs: 0,
    ...(apiVersion >= 1 ? { errorCode } : {}),
    replicaElectionResults: byTopic(results, (topic, partitions) => ({
      topic,
      partitionResult: partitions.map((p) => ({ partitionId: p.partition, errorCode: p.errorCode, errorMessage: p.errorMessage })),
    })),
  });
  if (electionType !== ElectionType.PREFERRED && electionType !== ElectionType.UNCLEAN) {
    return answer(ErrorCode.INVALID_REQUEST, failAll(refs ?? [], ErrorCode.INVALID_REQUEST));
  }
  const { results, errorCode } = await forwardToController(svc, 'electLeaders', { electionType, partitions: refs }, req.timeoutMs);
  if (results === null) return answer(refs === null ? errorCode : ErrorCode.NONE, failAll(refs ?? [], errorCode));
  return answer(ErrorCode.NONE, results);
}

/** A partition named twice is elected (and answered) once, as Kafka collects them into a set. */
function uniqueRefs(refs: TopicPartitionRef[]): TopicPartitionRef[] {
  const seen = new Set<string>();
  return refs.filter((r) => {
    const key = `${r.topic}\0${r.partition}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
