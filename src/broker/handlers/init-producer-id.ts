// InitProducerId: the idempotent and transactional producer are not served yet (their own issue), so the
// broker says so plainly instead of handing out a producer id whose sequence numbers it would not check.
// A client with idempotence on gets a non-retriable error and a log line on the broker names the cause.
import type { InitProducerIdRequest, InitProducerIdResponse } from '../../protocol/generated/init-producer-id.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';

export function initProducerId(svc: BrokerServices, req: InitProducerIdRequest, clientId: string | null): InitProducerIdResponse {
  svc.logger.warn('InitProducerId refused: the idempotent/transactional producer is not supported yet; disable idempotence in the client', {
    clientId,
    transactionalId: req.transactionalId,
  });
  const errorCode = req.transactionalId ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
  return { throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 } as InitProducerIdResponse;
}
