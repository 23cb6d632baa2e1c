// Leader elections an operator asks for (Kafka's ElectLeaders, KIP-183 and KIP-460), decided by the active
// controller on the partition's latest stored state and written by compare-and-set like its own elections:
// - PREFERRED: the first replica of the assignment (the preferred leader) takes over if it is in the ISR and
//   may lead; ELECTION_NOT_NEEDED when it already leads, PREFERRED_LEADER_NOT_AVAILABLE otherwise.
// - UNCLEAN: only for a partition without a live leader (ELECTION_NOT_NEEDED otherwise): a live ISR member
//   if there is one (a clean election), else the first live replica outside the ISR, which leads with
//   ISR = [itself] as Kafka's unclean election does (records only the old ISR had are lost);
//   ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica may lead.
// A broker asks over request/reply (askController) on subjectsFor(bucket).electLeaders; the answer names
// every partition asked for (when all partitions were asked for, those needing no election are left out,
// as Kafka's controller does).
import { ErrorCode } from '../protocol/generated/errors.ts';
import type { PartitionState } from '../metadata/types.ts';
import type { ElectionView } from './partition-election.ts';

export const ElectionType = { PREFERRED: 0, UNCLEAN: 1 } as const;

export interface TopicPartitionRef {
  topic: string;
  partition: number;
}

export interface ElectLeadersRequest {
  electionType: number;
  /** null: every partition of every topic. */
  partitions: TopicPartitionRef[] | null;
}

export interface PartitionOutcome extends TopicPartitionRef {
  errorCode: number;
  errorMessage: string | null;
}

export interface ElectLeadersResponse {
  errorCode: number;
  results?: PartitionOutcome[];
  /** The metadata revision that shows the elections: the asking broker waits for it before answering. */
  revision?: number;
}

export type ElectionDecision = { errorCode: 0; next: PartitionState } | { errorCode: number; errorMessage: string };

const isInt = (v: unknown): v is number => Number.isSafeInteger(v);

export function parseTopicPartitions(v: unknown): TopicPartitionRef[] | null {
  if (!Array.isArray(v)) return null;
  const out: TopicPartitionRef[] = [];
  for (const e of v) {
    if (typeof e !== 'object' || e === null) return null;
    const r = e as Record<string, unknown>;
    if (typeof r.topic !== 'string' || !isInt(r.partition)) return null;
    out.push({ topic: r.topic, partition: r.partition });
  }
  return out;
}

export function parseElectLeadersRequest(v: unknown): ElectLeadersRequest | null {
  if (typeof v !== 'object' || v === null) return null;
  const r = v as Record<string, unknown>;
  if (r.electionType !== ElectionType.PREFERRED && r.electionType !== ElectionType.UNCLEAN) return null;
  if (r.partitions === null) return { electionType: r.electionType, partitions: null };
  const partitions = parseTopicPartitions(r.partitions);
  return partitions ? { electionType: r.electionType, partitions } : null;
}

/** The partition after the election asked for, or the error code that answers it (nothing is written). */
export function decideElection(p: PartitionState, electionType: number, view: ElectionView): ElectionDecision {
  if (electionType === ElectionType.PREFERRED) {
    const preferred = p.replicas[0]!;
    if (p.leader === preferred) return { errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: `broker ${preferred}, the preferred replica, already leads` };
    if (p.isr.includes(preferred) && view.eligible.has(preferred)) return { errorCode: 0, next: { ...p, leader: preferred, leaderEpoch: p.leaderEpoch + 1 } };
    const why = !view.eligible.has(preferred) ? 'is not alive (or is shutting down)' : 'is not in the ISR';
    return { errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, errorMessage: `the preferred replica, broker ${preferred}, ${why}` };
  }
  if (p.leader !== -1 && view.live.has(p.leader)) return { errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: `broker ${p.leader} leads` };
  const isrAlive = p.isr.filter((b) => view.live.has(b));
  const clean = p.replicas.find((r) => isrAlive.includes(r) && view.eligible.has(r));
  if (clean !== undefined) return { errorCode: 0, next: { ...p, leader: clean, leaderEpoch: p.leaderEpoch + 1, isr: isrAlive } };
  const any = p.replicas.find((r) => view.eligible.has(r));
  if (any !== undefined) return { errorCode: 0, next: { ...p, leader: any, leaderEpoch: p.leaderEpoch + 1, isr: [any] } };
  return { errorCode: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, errorMessage: `no replica of ${p.replicas.join(',')} is alive` };
}
