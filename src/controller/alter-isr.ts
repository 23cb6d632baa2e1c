// ISR changes proposed by partition leaders (Kafka's AlterPartition, KIP-497): the leader that sees a
// follower fall behind or catch up asks the controller to commit a new ISR; the controller checks that the
// proposer is the current leader at the current leader epoch and that the new ISR is made of registered
// replicas with the leader in it, then commits by compare-and-set. Sent as JSON over core NATS
// request/reply on subjectsFor(bucket).alterIsr. The message shapes are fixed by the client side,
// src/replication/isr-proposal.ts. A proposal of the ISR already in effect is answered with success and
// writes nothing.
import { ErrorCode } from '../protocol/generated/errors.ts';
import type { PartitionState } from '../metadata/types.ts';
// The message shapes belong to the proposing side; the controller implements exactly them.
import type { AlterIsrRequest, AlterIsrResponse } from '../replication/isr-proposal.ts';

export type { AlterIsrRequest, AlterIsrResponse };

const isInt = (v: unknown): v is number => Number.isSafeInteger(v);

/** The request if it has the right shape, else null (answered with INVALID_REQUEST). */
export function parseAlterIsrRequest(v: unknown): AlterIsrRequest | null {
  if (typeof v !== 'object' || v === null) return null;
  const r = v as Record<string, unknown>;
  if (typeof r.topic !== 'string' || !isInt(r.partition) || !isInt(r.leaderId) || !isInt(r.leaderEpoch)) return null;
  if (!Array.isArray(r.isr) || !r.isr.every(isInt)) return null;
  const req: AlterIsrRequest = { topic: r.topic, partition: r.partition, leaderId: r.leaderId, leaderEpoch: r.leaderEpoch, isr: r.isr as number[] };
  if (r.fromIsr !== undefined) {
    if (!Array.isArray(r.fromIsr) || !r.fromIsr.every(isInt)) return null;
    req.fromIsr = r.fromIsr as number[];
  }
  if (r.added !== undefined) {
    if (typeof r.added !== 'object' || r.added === null || !Object.values(r.added).every((v) => typeof v === 'string')) return null;
    req.added = r.added as Record<string, string>;
  }
  return req;
}

export type AlterIsrDecision = { errorCode: number } | { errorCode: 0; next: PartitionState };

/**
 * Checks a proposal against the partition's current state (null: no such partition) and the registered
 * brokers. The order follows Kafka's controller: fencing first, then the proposed members.
 */
export function decideAlterIsr(current: PartitionState | null, req: AlterIsrRequest, registered: ReadonlyMap<number, string>): AlterIsrDecision {
  if (current === null) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  if (req.leaderEpoch !== current.leaderEpoch) return { errorCode: ErrorCode.FENCED_LEADER_EPOCH };
  if (req.leaderId !== current.leader) return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
  if (req.fromIsr && !sameSet(req.fromIsr, current.isr)) return { errorCode: ErrorCode.INVALID_UPDATE_VERSION };
  if (new Set(req.isr).size !== req.isr.length || !req.isr.includes(req.leaderId)) return { errorCode: ErrorCode.INVALID_REQUEST };
  if (req.isr.some((b) => !current.replicas.includes(b))) return { errorCode: ErrorCode.INVALID_REQUEST };
  if (req.isr.some((b) => !registered.has(b))) return { errorCode: ErrorCode.INELIGIBLE_REPLICA };
  for (const [id, incarnation] of Object.entries(req.added ?? {})) {
    if (req.isr.includes(Number(id)) && registered.get(Number(id)) !== incarnation) return { errorCode: ErrorCode.INELIGIBLE_REPLICA };
  }
  return { errorCode: 0, next: { ...current, isr: [...req.isr] } };
}

function sameSet(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
