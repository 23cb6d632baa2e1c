// The typed errors of Kastor's client. A Kafka error code a broker answered becomes a KafkaProtocolError
// carrying the code, its name and retriability from the shared table (ERRORS, generated from Errors.java)
// and the partition it concerns; everything the client itself decides (closed, out of retries, bad
// arguments, no broker reachable) is a KafkaClientError with a string code. Connection-level failures are the
// ConnectionError of broker-connection.ts, which is retriable. Every error keeps its `cause`.
import { ERRORS } from '../protocol/generated/errors.ts';
import { ConnectionError } from './broker-connection.ts';

export { ConnectionError };

export interface PartitionFacts {
  topic?: string;
  partition?: number;
  /** The broker that answered. */
  broker?: number;
}

/** A Kafka error code a broker answered (per partition, per topic or for the whole response). */
export class KafkaProtocolError extends Error {
  /** Kafka's numeric error code. */
  readonly code: number;
  /** Kafka's error name, e.g. UNKNOWN_TOPIC_OR_PARTITION (also `name`, as the brief of the client asks). */
  readonly errorName: string;
  readonly retriable: boolean;
  readonly topic: string | undefined;
  readonly partition: number | undefined;
  readonly broker: number | undefined;

  constructor(code: number, facts: PartitionFacts & { message?: string | null } = {}, options?: { cause?: unknown }) {
    const known = ERRORS[code];
    const where = facts.topic === undefined ? '' : facts.partition === undefined ? ` (topic ${facts.topic})` : ` (${facts.topic}-${facts.partition})`;
    const detail = facts.message ? `: ${facts.message}` : known ? `: ${known.message}` : '';
    super(`${known?.name ?? `error code ${code}`}${where}${detail}`, options);
    this.code = code;
    this.errorName = known?.name ?? `UNKNOWN_ERROR_CODE_${code}`;
    this.name = this.errorName;
    this.retriable = known?.retriable ?? false;
    this.topic = facts.topic;
    this.partition = facts.partition;
    this.broker = facts.broker;
  }
}

export type KafkaClientErrorCode =
  /** No bootstrap broker (or no known broker) accepted a connection. */
  | 'BROKERS_UNREACHABLE'
  /** The producer, consumer or admin was closed while the operation was pending. */
  | 'CLIENT_CLOSED'
  /** A retriable failure kept happening past the retry budget; `cause` is the last one. */
  | 'RETRIES_EXHAUSTED'
  /** A caller mistake: bad option, unknown partition, message too large. */
  | 'INVALID_ARGUMENT'
  /** The broker serves none of the versions of an API this client speaks. */
  | 'UNSUPPORTED_VERSION'
  /** The records of a fetched batch do not decode (corrupt or an unsupported compression codec). */
  | 'CORRUPT_RECORDS'
  /** A transactional producer's call out of order (send outside a transaction, commit without one). */
  | 'INVALID_TXN_STATE';

const RETRIABLE_CLIENT_CODES = new Set<KafkaClientErrorCode>(['BROKERS_UNREACHABLE']);

export class KafkaClientError extends Error {
  readonly retriable: boolean;
  readonly topic: string | undefined;
  readonly partition: number | undefined;

  constructor(
    readonly code: KafkaClientErrorCode,
    message: string,
    facts: PartitionFacts = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KafkaClientError';
    this.retriable = RETRIABLE_CLIENT_CODES.has(code);
    this.topic = facts.topic;
    this.partition = facts.partition;
  }
}

/** True for errors worth retrying after a metadata refresh: retriable Kafka codes and lost connections. */
export function isRetriable(err: unknown): boolean {
  if (err instanceof KafkaProtocolError || err instanceof KafkaClientError) return err.retriable;
  return err instanceof ConnectionError;
}

/** Kafka codes after which the client's idea of who leads the partition is wrong: refresh metadata. */
export function needsMetadataRefresh(err: unknown): boolean {
  if (err instanceof ConnectionError) return true;
  if (!(err instanceof KafkaProtocolError)) return false;
  return [3, 5, 6, 9, 13, 15, 16, 74, 75, 100].includes(err.code);
}
