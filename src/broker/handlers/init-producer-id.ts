// InitProducerId for the idempotent producer (KIP-98, no transactions). A producer id comes from this
// broker's block of ids reserved in the cluster metadata (ProducerIdAllocator); its epoch starts at 0.
// With v3+ a producer may name its current id and epoch (KIP-360, after UNKNOWN_PRODUCER_ID or
// OUT_OF_ORDER_SEQUENCE_NUMBER): it gets the same id with the epoch bumped, or a new id at epoch 0 once
// the epoch would pass Int16.MAX. (Kafka itself answers a non-transactional request with a fresh id every
// time; bumping keeps the id stable, and the partitions' producer state fences the old epoch either way.)
//
// Transactions are not served: a request with a transactionalId gets UNSUPPORTED_VERSION, which KafkaJS
// and librdkafka both treat as fatal and non-retriable (unlike the coordinator errors they would retry
// until a timeout), and a broker log line names the cause.
import type { InitProducerIdRequest, InitProducerIdResponse } from '../../protocol/generated/init-producer-id.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { PRODUCER_ID_BLOCK_SIZE, ProducerIdAllocator } from '../../producer-state/producer-id-allocator.ts';

const MAX_EPOCH = 0x7fff;

// One allocator per broker, keyed by the broker's services object (no module-level singleton state:
// several brokers in one process each get their own).
const allocators = new WeakMap<BrokerServices, ProducerIdAllocator>();

function allocatorOf(svc: BrokerServices): ProducerIdAllocator {
  let a = allocators.get(svc);
  if (!a) {
    a = new ProducerIdAllocator(() => svc.metadata.reserveProducerIdBlock(svc.brokerId, PRODUCER_ID_BLOCK_SIZE));
    allocators.set(svc, a);
  }
  return a;
}

export async function initProducerId(svc: BrokerServices, req: InitProducerIdRequest, clientId: string | null): Promise<InitProducerIdResponse> {
  const answer = (errorCode: number, producerId: number, producerEpoch: number): InitProducerIdResponse =>
    ({ throttleTimeMs: 0, errorCode, producerId: BigInt(producerId), producerEpoch }) as InitProducerIdResponse;
  if (req.transactionalId !== null && req.transactionalId !== undefined) {
    svc.logger.warn('InitProducerId refused: transactions are not supported (the idempotent producer is); use a producer without transactional.id', {
      clientId,
      transactionalId: req.transactionalId,
    });
    return answer(ErrorCode.UNSUPPORTED_VERSION, -1, -1);
  }
  const givenId = Number(req.producerId ?? -1n);
  const givenEpoch = req.producerEpoch ?? -1;
  if ((givenId < 0) !== (givenEpoch < 0)) {
    return answer(ErrorCode.INVALID_REQUEST, -1, -1);
  }
  try {
    if (givenId >= 0 && givenEpoch < MAX_EPOCH) {
      svc.logger.info('producer epoch bumped', { clientId, producerId: givenId, producerEpoch: givenEpoch + 1 });
      return answer(ErrorCode.NONE, givenId, givenEpoch + 1);
    }
    const id = await allocatorOf(svc).allocate();
    return answer(ErrorCode.NONE, id, 0);
  } catch (err) {
    svc.logger.error('InitProducerId failed: no producer id block could be reserved', { clientId, error: err as Error });
    return answer(ErrorCode.COORDINATOR_NOT_AVAILABLE, -1, -1);
  }
}
