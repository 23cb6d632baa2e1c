// ListTransactions (KIP-664): the transactions of every __transaction_state partition this broker coordinates
// (an admin asks every broker and merges, as Kafka's), filtered by state, producer id and (v1) how long they
// have been running (txn-listing.ts). As Kafka, the whole answer is COORDINATOR_LOAD_IN_PROGRESS while one of
// this broker's partitions is still loading: a partial list would silently miss its transactions.
import type { ListTransactionsRequest, ListTransactionsResponse } from '../../protocol/generated/list-transactions.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { TXN_STATE_TOPIC } from '../../txn/txn-topic.ts';
import { txnListingFilter } from '../../txn/txn-listing.ts';

export function listTransactions(svc: BrokerServices, req: ListTransactionsRequest): ListTransactionsResponse {
  const answer = (errorCode: number, unknownStateFilters: string[] = [], transactionStates: ListTransactionsResponse['transactionStates'] = []): ListTransactionsResponse => ({
    throttleTimeMs: 0,
    errorCode,
    unknownStateFilters,
    transactionStates,
  });
  const txn = svc.txn;
  if (!txn) return answer(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  const partitions = svc.metadata.snapshot().topics[TXN_STATE_TOPIC]?.partitions ?? [];
  for (let p = 0; p < partitions.length; p++) {
    if (partitions[p]?.leader !== svc.brokerId) continue;
    const routed = txn.shards.route(p);
    if (routed.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) return answer(routed.errorCode);
  }
  const filter = txnListingFilter(req, svc.clock.wall());
  const out: ListTransactionsResponse['transactionStates'] = [];
  for (const shard of txn.shards.loaded()) {
    for (const m of shard.txns.values()) {
      if (filter.includes(m)) out.push({ transactionalId: m.transactionalId, producerId: BigInt(m.producerId), transactionState: m.state });
    }
  }
  out.sort((a, b) => a.transactionalId.localeCompare(b.transactionalId));
  return answer(ErrorCode.NONE, filter.unknownStateFilters, out);
}
