// Kastor's public entry point: run a broker inside a Node service, and the building blocks around it.
export { Broker, createBroker, type BrokerDeps, type ClientListener } from '../actors/broker-actor.ts';
export { startNodeBroker, type NodeBrokerDeps } from './runtime/node/node-broker.ts';
export { createNodeRuntime, type NodeRuntime, type NodeRuntimeOptions } from './runtime/node/node-runtime.ts';
export { memoryCluster, type MemoryCluster, type MemoryRuntime } from './runtime/memory/memory-runtime.ts';
export type { Runtime, Clock, Ids, Transport } from './runtime/runtime.ts';
export { defaultBrokerConfig, type BrokerConfig } from './broker/broker-config.ts';
export { type Logger, type LogLevel } from './util/logger.ts';
export { createNodeLogger as createLogger } from './runtime/node/node-logger.ts';
export { buildRecordBatch, readRecords, validateBatch, type KafkaRecord } from './protocol/record-batch.ts';
export { ErrorCode, ERRORS } from './protocol/generated/errors.ts';
