// Typed failures of the metadata layer. Each carries a `code` the broker maps to a Kafka error code
// (TOPIC_ALREADY_EXISTS, UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICATION_FACTOR, ...), the facts needed
// to act on it, and the underlying `cause` when there is one.

export type MetadataErrorCode =
  | 'TOPIC_EXISTS'
  | 'TOPIC_NOT_FOUND'
  | 'INVALID_TOPIC'
  | 'INVALID_REPLICATION_FACTOR'
  | 'INVALID_PARTITIONS'
  | 'INVALID_METADATA'
  | 'UPDATE_CONFLICT'
  | 'TIMEOUT'
  | 'UNAVAILABLE'
  | 'STORE_CLOSED'
  | 'LEASE_LOST';

export class MetadataError extends Error {
  readonly code: MetadataErrorCode;
  constructor(code: MetadataErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.code = code;
  }
}

export class TopicExistsError extends MetadataError {
  constructor(readonly topic: string, cause?: unknown) {
    super('TOPIC_EXISTS', `topic "${topic}" already exists`, cause);
  }
}

export class TopicNotFoundError extends MetadataError {
  constructor(readonly topic: string) {
    super('TOPIC_NOT_FOUND', `topic "${topic}" does not exist`);
  }
}

/** A topic name Kafka would refuse (INVALID_TOPIC_EXCEPTION). */
export class InvalidTopicError extends MetadataError {
  constructor(readonly topic: string, why: string) {
    super('INVALID_TOPIC', `invalid topic name "${topic}": ${why}`);
  }
}

export class InvalidReplicationFactorError extends MetadataError {
  constructor(readonly replicationFactor: number, readonly brokers: number) {
    super(
      'INVALID_REPLICATION_FACTOR',
      replicationFactor > brokers
        ? `replication factor ${replicationFactor} is larger than the ${brokers} available broker(s)`
        : `replication factor must be a positive integer, got ${replicationFactor}`,
    );
  }
}

export class InvalidPartitionsError extends MetadataError {
  constructor(readonly partitions: number) {
    super('INVALID_PARTITIONS', `number of partitions must be a positive integer, got ${partitions}`);
  }
}

/** A metadata value that does not have the shape Kastor writes: refused on write, skipped on read. */
export class InvalidMetadataError extends MetadataError {
  constructor(readonly key: string, why: string, cause?: unknown) {
    super('INVALID_METADATA', `invalid metadata at "${key}": ${why}`, cause);
  }
}

/** updateTopic lost the compare-and-set this many times in a row. */
export class UpdateConflictError extends MetadataError {
  constructor(readonly topic: string, readonly attempts: number, cause?: unknown) {
    super('UPDATE_CONFLICT', `topic "${topic}" changed under ${attempts} consecutive update attempts`, cause);
  }
}

export class MetadataTimeoutError extends MetadataError {
  constructor(readonly what: string, readonly timeoutMs: number) {
    super('TIMEOUT', `${what} did not happen within ${timeoutMs} ms`);
  }
}

/** The watch that feeds the snapshot ended (the NATS connection closed for good, say). */
export class MetadataUnavailableError extends MetadataError {
  constructor(cause?: unknown) {
    super('UNAVAILABLE', 'the metadata watch ended; the snapshot no longer follows the bucket', cause);
  }
}

export class StoreClosedError extends MetadataError {
  constructor() {
    super('STORE_CLOSED', 'the metadata store is closed');
  }
}

/** A compare-and-set on the controller lease lost: another broker holds it (or took it over). */
export class LeaseLostError extends MetadataError {
  constructor(readonly expectedRevision: number | null, cause?: unknown) {
    super('LEASE_LOST', `the controller lease is not at ${expectedRevision === null ? 'an empty key' : `revision ${expectedRevision}`}`, cause);
  }
}
