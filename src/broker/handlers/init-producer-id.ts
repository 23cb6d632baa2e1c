// InitProducerId. Without a transactional id (the idempotent producer, KIP-98): a producer id from this
// broker's block of ids reserved in the cluster metadata (ProducerIdAllocator), epoch 0. With v3+ a producer
// may name its current id and epoch (KIP-360, after UNKNOWN_PRODUCER_ID or OUT_OF_ORDER_SEQUENCE_NUMBER): it
// gets the same id with the epoch bumped, or a new id at epoch 0 once the epoch would pass Int16.MAX. (Kafka
// itself answers a non-transactional request with a fresh id every time; bumping keeps the id stable, and the
// partitions' producer state fences the old epoch either way.)
//
// With a transactional id the request goes to the id's transaction coordinator (src/txn): its producer id
// and next epoch, which fences every earlier producer of the same id (its open transaction is aborted first:
// CONCURRENT_TRANSACTIONS until then, which clients retry). transaction.timeout.ms must lie in
// [1, transaction.max.timeout.ms] (INVALID_TRANSACTION_TIMEOUT).
import type { InitProducerIdRequest, InitProducerIdResponse } from '../../protocol/generated/init-producer-id.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { forVersion } from '../../txn/txn-errors.ts';

const MAX_EPOCH = 0x7fff;

export async function initProducerId(svc: BrokerServices, req: InitProducerIdRequest, version: number, clientId: string | null): Promise<InitProducerIdResponse> {
  const answer = (errorCode: number, producerId: number, producerEpoch: number): InitProducerIdResponse =>
    ({ throttleTimeMs: 0, errorCode, producerId: BigInt(producerId), producerEpoch }) as InitProducerIdResponse;
  const givenId = Number(req.producerId ?? -1n);
  const givenEpoch = req.producerEpoch ?? -1;
  if ((givenId < 0) !== (givenEpoch < 0)) {
    return answer(ErrorCode.INVALID_REQUEST, -1, -1);
  }
  if (req.transactionalId !== null && req.transactionalId !== undefined) {
    const max = svc.txn?.maxTimeoutMs ?? 0;
    if (req.transactionTimeoutMs <= 0 || req.transactionTimeoutMs > max) {
      svc.logger.info('InitProducerId refused: transaction.timeout.ms out of range', { clientId, transactionalId: req.transactionalId, timeoutMs: req.transactionTimeoutMs, max });
      return answer(ErrorCode.INVALID_TRANSACTION_TIMEOUT, -1, -1);
    }
    const routed = svc.txn ? svc.txn.route(req.transactionalId) : { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    if (!routed.shard) return answer(routed.errorCode, -1, -1);
    const r = await routed.shard.initProducerId(req.transactionalId, req.transactionTimeoutMs, givenId >= 0 ? { producerId: givenId, producerEpoch: givenEpoch } : null);
    return answer(forVersion(r.errorCode, version, 4), r.producerId, r.producerEpoch);
  }
  try {
    if (givenId >= 0 && givenEpoch < MAX_EPOCH) {
      svc.logger.info('producer epoch bumped', { clientId, producerId: givenId, producerEpoch: givenEpoch + 1 });
      return answer(ErrorCode.NONE, givenId, givenEpoch + 1);
    }
    const id = await svc.producerIds.allocate();
    return answer(ErrorCode.NONE, id, 0);
  } catch (err) {
    svc.logger.error('InitProducerId failed: no producer id block could be reserved', { clientId, error: err as Error });
    return answer(ErrorCode.COORDINATOR_NOT_AVAILABLE, -1, -1);
  }
}
