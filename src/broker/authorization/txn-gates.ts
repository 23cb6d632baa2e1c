// Authorization of transactions, as Kafka's KafkaApis: AddPartitionsToTxn, AddOffsetsToTxn, EndTxn and
// TxnOffsetCommit need Write on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); AddPartitionsToTxn
// also Write on each topic (a denied topic's partitions TOPIC_AUTHORIZATION_FAILED, the others
// OPERATION_NOT_ATTEMPTED: nothing is added), AddOffsetsToTxn and TxnOffsetCommit Read on the group
// (GROUP_AUTHORIZATION_FAILED) and TxnOffsetCommit Read on each topic. DescribeTransactions and ListTransactions
// (KIP-664) need Describe on the transactional ids.
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { AddPartitionsToTxnRequest } from '../../protocol/generated/add-partitions-to-txn.ts';
import type { TxnOffsetCommitRequest, TxnOffsetCommitResponse } from '../../protocol/generated/txn-offset-commit.ts';
import { may, split, type Gate } from './gate.ts';

const TXN_DENIED = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;

export const addPartitionsToTxnGate: Gate = async (req: AddPartitionsToTxnRequest, g, next) => {
  const answer = (code: (topic: string) => number) => ({
    throttleTimeMs: 0,
    resultsByTopicV3AndBelow: req.v3AndBelowTopics.map((t) => ({ name: t.name, resultsByPartition: t.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode: code(t.name) })) })),
  });
  if (!may(g, 'Write', 'TransactionalId', req.v3AndBelowTransactionalId)) return answer(() => TXN_DENIED);
  const { no } = split(req.v3AndBelowTopics, (t) => may(g, 'Write', 'Topic', t.name));
  if (no.length === 0) return next(req);
  const denied = new Set(no.map((t) => t.name));
  return answer((name) => (denied.has(name) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.OPERATION_NOT_ATTEMPTED));
};

export const endTxnGate: Gate = async (req: { transactionalId: string }, g, next) =>
  may(g, 'Write', 'TransactionalId', req.transactionalId) ? next(req) : { throttleTimeMs: 0, errorCode: TXN_DENIED };

export const addOffsetsToTxnGate: Gate = async (req: { transactionalId: string; groupId: string }, g, next) => {
  if (!may(g, 'Write', 'TransactionalId', req.transactionalId)) return { throttleTimeMs: 0, errorCode: TXN_DENIED };
  if (!may(g, 'Read', 'Group', req.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
  return next(req);
};

export const txnOffsetCommitGate: Gate = async (req: TxnOffsetCommitRequest, g, next) => {
  const answer = (topics: TxnOffsetCommitRequest['topics'], errorCode: number) => topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) }));
  if (!may(g, 'Write', 'TransactionalId', req.transactionalId)) return { throttleTimeMs: 0, topics: answer(req.topics, TXN_DENIED) };
  if (!may(g, 'Read', 'Group', req.groupId)) return { throttleTimeMs: 0, topics: answer(req.topics, ErrorCode.GROUP_AUTHORIZATION_FAILED) };
  const { yes, no } = split(req.topics, (t) => may(g, 'Read', 'Topic', t.name));
  if (no.length === 0) return next(req);
  const denied = answer(no, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  if (yes.length === 0) return { throttleTimeMs: 0, topics: denied };
  const res = (await next({ ...req, topics: yes })) as TxnOffsetCommitResponse;
  return { ...res, topics: [...res.topics, ...denied] };
};

/** DescribeTransactions: Describe on each transactional id; ListTransactions lists the ones the principal may Describe. */
export const describeTransactionsGate: Gate = async (req: { transactionalIds: string[] }, g, next) => {
  const { yes, no } = split(req.transactionalIds, (id) => may(g, 'Describe', 'TransactionalId', id));
  if (no.length === 0) return next(req);
  const denied = no.map((transactionalId) => ({ errorCode: TXN_DENIED, transactionalId, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1n, producerId: -1n, producerEpoch: -1, topics: [] }));
  const res = yes.length === 0 ? { throttleTimeMs: 0, transactionStates: [] } : await next({ ...req, transactionalIds: yes });
  return { ...res, transactionStates: [...res.transactionStates, ...denied] };
};

export const listTransactionsGate: Gate = async (req, g, next) => {
  const res = await next(req);
  return { ...res, transactionStates: res.transactionStates.filter((t: { transactionalId: string }) => may(g, 'Describe', 'TransactionalId', t.transactionalId, true)) };
};
