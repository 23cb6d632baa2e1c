// The ISR-change proposal a partition leader sends to the active controller (Kafka's AlterPartition,
// KIP-497): "with leader epoch E, the in-sync replicas of this partition should now be `isr`". The
// controller commits it to the cluster metadata with a compare-and-set, and the leader applies the new ISR
// when its metadata watch delivers it — never from the reply alone, so every broker sees one history.
//
// The shape is fixed here and implemented on the controller side against exactly this JSON over core NATS
// request/reply (the runtime's transport) on `subjectsFor(bucket).alterIsr`. Failures of the transport itself (no controller yet,
// timeout) come back as Kafka error codes too, so a leader handles every outcome as data.
import { transportErrorCode, type Transport } from '../runtime/transport.ts';
import type { PartitionState } from '../metadata/types.ts';
import type { Subjects } from '../transport/subjects.ts';
import { ErrorCode } from '../protocol/generated/errors.ts';

export interface AlterIsrRequest {
  topic: string;
  partition: number;
  leaderId: number;
  leaderEpoch: number;
  isr: number[];
  /**
   * The ISR the proposal was computed from: the controller refuses it (INVALID_UPDATE_VERSION) when the ISR
   * changed meanwhile, as Kafka's partition epoch does, so a proposal made on a stale view cannot put back a
   * member the controller took out (a broker that restarted, say).
   */
  fromIsr?: number[];
  /**
   * The incarnation of each member the proposal adds, as the leader saw it fetch (KIP-903's broker epoch):
   * a member whose registration is a later incarnation is refused (INELIGIBLE_REPLICA).
   */
  added?: Record<string, string>;
}

export interface AlterIsrResponse {
  errorCode: number;
  /** The partition as committed, when the proposal was accepted (or already in effect). */
  partition?: PartitionState;
}

export type ProposeIsr = (req: AlterIsrRequest) => Promise<AlterIsrResponse>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A ProposeIsr that asks the active controller over the transport; never rejects. */
export function transportProposeIsr(transport: Pick<Transport, 'request'>, subjects: Pick<Subjects, 'alterIsr'>, timeoutMs = 5_000): ProposeIsr {
  return async (req) => {
    try {
      const reply = await transport.request(subjects.alterIsr, encoder.encode(JSON.stringify(req)), timeoutMs);
      const body = JSON.parse(decoder.decode(reply)) as Partial<AlterIsrResponse>;
      if (typeof body.errorCode !== 'number') return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR };
      return body.partition ? { errorCode: body.errorCode, partition: body.partition } : { errorCode: body.errorCode };
    } catch (err) {
      return { errorCode: proposalFailureCode(err) };
    }
  };
}

/** No controller listening is NOT_CONTROLLER (retriable after a controller appears); a silence is a timeout. */
function proposalFailureCode(err: unknown): number {
  const code = transportErrorCode(err);
  if (code === 'NO_RESPONDERS') return ErrorCode.NOT_CONTROLLER;
  if (code === 'TIMEOUT') return ErrorCode.REQUEST_TIMED_OUT;
  return ErrorCode.UNKNOWN_SERVER_ERROR;
}
