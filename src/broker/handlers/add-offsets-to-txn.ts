// AddOffsetsToTxn: the consumer group's __consumer_offsets partition joins the producer's transaction, so that
// the offsets it then commits with TxnOffsetCommit get the transaction's marker (KIP-98's
// consume-transform-produce: the input's offsets commit with the output).
import type { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from '../../protocol/generated/add-offsets-to-txn.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { OFFSETS_TOPIC } from '../../group/offsets-topic.ts';
import { forVersion } from '../../txn/txn-errors.ts';

export async function addOffsetsToTxn(svc: BrokerServices, req: AddOffsetsToTxnRequest, apiVersion: number): Promise<AddOffsetsToTxnResponse> {
  const answer = (errorCode: number): AddOffsetsToTxnResponse => ({ throttleTimeMs: 0, errorCode: forVersion(errorCode, apiVersion, 2) });
  if (!req.groupId) return answer(ErrorCode.INVALID_GROUP_ID);
  const routed = svc.txn ? svc.txn.route(req.transactionalId) : { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
  if (!routed.shard) return answer(routed.errorCode);
  if (!svc.groups || !(await svc.groups.ensureOffsetsTopic())) return answer(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  const partition = svc.groups.partitionFor(req.groupId);
  return answer(await routed.shard.addPartitions(req.transactionalId, Number(req.producerId), req.producerEpoch, { [OFFSETS_TOPIC]: [partition] }));
}
