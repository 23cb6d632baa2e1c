// Typed errors of the RecordBatch codec. Validation of client input returns a Kafka errorCode as data
// (see validateBatch); these are for callers that asked to decode something they could not.

export class UnsupportedCompressionError extends Error {
  readonly code = 'UNSUPPORTED_COMPRESSION';
  constructor(
    readonly codec: string | number,
    options?: { cause?: unknown },
  ) {
    super(`record batch compression '${codec}' is not supported`, options);
    this.name = 'UnsupportedCompressionError';
  }
}

/** A batch or record whose bytes do not parse; errorCode is the Kafka error a broker would answer. */
export class RecordBatchError extends Error {
  readonly code = 'RECORD_BATCH_INVALID';
  constructor(
    message: string,
    readonly errorCode: number,
    readonly pos: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RecordBatchError';
  }
}

/** Kafka error codes the codec answers with (from Kafka's Errors table). */
export const CORRUPT_MESSAGE = 2;
export const UNSUPPORTED_FOR_MESSAGE_FORMAT = 43;
export const INVALID_RECORD = 87;
export const UNSUPPORTED_COMPRESSION_TYPE = 76;
