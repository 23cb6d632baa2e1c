// `kastor/testing`: what an application's tests (and Kastor's own) need to run a real Kastor cluster on
// loopback and break it — startTestCluster and its fault injection, the history checker and replica-log
// comparison for crash tests, and the lower-level pieces they are built from.
export { startTestCluster, TestCluster, type TestClusterOptions, type SecureListenerOptions, type TopicSpec, type WaitOptions, type BrokerState } from './test-cluster.ts';
export { NatsServer, NatsServerNotFoundError, freePort, findNatsServer, type NatsServerOptions } from './nats-server.ts';
export { NatsCluster, type NatsClusterOptions } from './nats-cluster.ts';
export { BrokerProcess, type BrokerProcessOptions } from './broker-process.ts';
export { TcpProxy, type TcpProxyOptions } from './tcp-proxy.ts';
export { createTopics, fetchMetadata, listLatestOffsets, KafkaRequestError, type BrokerAddress } from './kafka-request.ts';
export {
  checkHistory,
  compareReplicaLogs,
  readReplicaBatches,
  describeViolations,
  type SentRecord,
  type ReadRecord,
  type HistoryInput,
  type HistoryReport,
  type Violation,
  type ReplicaLogReport,
  type ReplicaBatch,
} from './checker.ts';
export {
  checkTxnHistory,
  describeTxnViolations,
  type AttemptedTxn,
  type TxnOutcome,
  type TxnRecordSent,
  type TxnGroupOffset,
  type TxnHistoryInput,
  type TxnHistoryReport,
  type TxnViolation,
  type TxnViolationKind,
} from './txn-checker.ts';
