// Kastor's TypeScript client: producer, consumer (manual assignment) and admin over the Kafka protocol,
// usable against Kastor or any Kafka broker that serves RecordBatch v2 (Produce 3+, Fetch 4+).
export { Kafka, type KafkaOptions } from './kafka.ts';
export { Producer, type ProducerOptions, type ProducerMessage, type ProducerRecord, type RecordMetadata, type Acks } from './producer.ts';
export { Consumer, type ConsumerOptions, type ConsumerBatch, type ConsumerRecord, type Assignment, type TopicPartition, type StartOffset } from './consumer.ts';
export { Admin, type NewTopic, type TopicDescription, type ClusterDescription, type PartitionOffsets } from './admin.ts';
export { Cluster, parseBootstrap, type ClusterOptions, type RetryOptions, type BrokerInfo, type TopicMetadata, type PartitionMetadata } from './cluster.ts';
export { KafkaProtocolError, KafkaClientError, ConnectionError, isRetriable, type KafkaClientErrorCode } from './errors.ts';
export { BrokerConnection } from './broker-connection.ts';
export { SaslAuthenticationError, type SaslOptions } from './sasl-client.ts';
export { describeScramUsers, upsertScramUser, deleteScramUser, type ScramUser } from './scram-users.ts';
export { murmur2, partitionForKey } from './partitioner.ts';
