// Error codes as each version of the transactional APIs may carry them (KIP-588): PRODUCER_FENCED is new in
// InitProducerId v4, AddPartitionsToTxn, AddOffsetsToTxn and EndTxn v2 and TxnOffsetCommit v3; older clients get
// INVALID_PRODUCER_EPOCH for the same fence, as Kafka answers them.
import { ErrorCode } from '../protocol/generated/errors.ts';

export function forVersion(errorCode: number, apiVersion: number, producerFencedFrom: number): number {
  return errorCode === ErrorCode.PRODUCER_FENCED && apiVersion < producerFencedFrom ? ErrorCode.INVALID_PRODUCER_EPOCH : errorCode;
}
