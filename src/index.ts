// Kastor's public entry point: run a broker inside a Node service, and the building blocks around it.
export { Broker, type BrokerDeps } from '../actors/broker-actor.ts';
export { defaultBrokerConfig, type BrokerConfig } from './broker/broker-config.ts';
export { createLogger, type Logger, type LogLevel } from './util/logger.ts';
export { buildRecordBatch, readRecords, validateBatch, type KafkaRecord } from './protocol/record-batch.ts';
export { ErrorCode, ERRORS } from './protocol/generated/errors.ts';
