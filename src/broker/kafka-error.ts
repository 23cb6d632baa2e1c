// A Kafka error as data: the code from Kafka's table, whether a client may retry, and the facts needed to
// act. Handlers turn it into the error_code of the one partition or topic it concerns, never into an
// exception that loses the rest of the response.
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

/** The Kafka error code for anything a handler caught: a KafkaError's own code, else UNKNOWN_SERVER_ERROR. */
export function errorCodeOf(err: unknown): number {
  return err instanceof KafkaError ? err.errorCode : -1;
}
