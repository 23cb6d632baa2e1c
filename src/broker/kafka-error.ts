// A Kafka error as data: the code from Kafka's table, whether a client may retry, and the facts needed to
// act. Handlers turn it into the error_code of the one partition or topic it concerns, never into an
// exception that loses the rest of the response.
import { ErrorCode } from '../protocol/generated/errors.ts';
import { LogFailedError, StorageError } from '../log/errors.ts';

export class KafkaError extends Error {
  constructor(
    readonly errorCode: number,
    message: string,
    readonly facts: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KafkaError';
  }
}

/**
 * The Kafka error code for anything a handler caught: a KafkaError's own code, KAFKA_STORAGE_ERROR for a log
 * that failed on I/O (Kafka's KafkaStorageException: the client refreshes metadata and finds the new leader),
 * else UNKNOWN_SERVER_ERROR.
 */
export function errorCodeOf(err: unknown): number {
  if (err instanceof KafkaError) return err.errorCode;
  if (err instanceof LogFailedError || err instanceof StorageError) return ErrorCode.KAFKA_STORAGE_ERROR;
  return ErrorCode.UNKNOWN_SERVER_ERROR;
}
