// DescribeTransactions (KIP-664): each transactional id's state at its coordinator — Kafka's state name, the
// producer id and epoch, the timeout, when the open transaction started, and its partitions. Answered only by
// the coordinator (NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS elsewhere, so the admin looks it up with
// FindCoordinator key type 1); an id the coordinator does not hold, or holds as Dead, is TRANSACTIONAL_ID_NOT_FOUND,
// as Kafka's TransactionCoordinator.handleDescribeTransactions.
import type { DescribeTransactionsRequest, DescribeTransactionsResponse, TransactionState } from '../../protocol/generated/describe-transactions.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';

function describeOne(svc: BrokerServices, transactionalId: string): TransactionState {
  const blank = (errorCode: number): TransactionState => ({
    errorCode,
    transactionalId,
    transactionState: '',
    transactionTimeoutMs: 0,
    transactionStartTimeMs: -1n,
    producerId: -1n,
    producerEpoch: -1,
    topics: [],
  });
  const routed = svc.txn ? svc.txn.route(transactionalId) : { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
  if (!routed.shard) return blank(routed.errorCode);
  const m = routed.shard.txns.get(transactionalId);
  if (!m || m.state === 'Dead') return blank(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
  return {
    errorCode: ErrorCode.NONE,
    transactionalId,
    transactionState: m.state,
    transactionTimeoutMs: m.timeoutMs,
    transactionStartTimeMs: BigInt(m.startTimestamp),
    producerId: BigInt(m.producerId),
    producerEpoch: m.producerEpoch,
    topics: Object.entries(m.partitions)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([topic, partitions]) => ({ topic, partitions: [...partitions] })),
  };
}

export function describeTransactions(svc: BrokerServices, req: DescribeTransactionsRequest): DescribeTransactionsResponse {
  return { throttleTimeMs: 0, transactionStates: req.transactionalIds.map((id) => describeOne(svc, id)) };
}
