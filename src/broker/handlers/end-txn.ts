// EndTxn: commit or abort the producer's transaction. Answered once the coordinator wrote PrepareCommit or
// PrepareAbort (the decision survives a coordinator crash from then on); the markers on the transaction's
// partitions follow, and until they are written the producer's next AddPartitionsToTxn or InitProducerId is
// answered CONCURRENT_TRANSACTIONS, which clients retry.
import type { EndTxnRequest, EndTxnResponse } from '../../protocol/generated/end-txn.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { forVersion } from '../../txn/txn-errors.ts';

export async function endTxn(svc: BrokerServices, req: EndTxnRequest, apiVersion: number): Promise<EndTxnResponse> {
  const answer = (errorCode: number): EndTxnResponse => ({ throttleTimeMs: 0, errorCode: forVersion(errorCode, apiVersion, 2) });
  const routed = svc.txn ? svc.txn.route(req.transactionalId) : { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
  if (!routed.shard) return answer(routed.errorCode);
  return answer(await routed.shard.endTransaction(req.transactionalId, Number(req.producerId), req.producerEpoch, req.committed));
}
