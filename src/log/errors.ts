// Typed failures of the partition log. Each has a stable code, the facts needed to act on it, and the
// underlying cause. Kafka equivalents are named where one exists so the broker can map them to error codes.

export class StorageError extends Error {
  readonly code = 'STORAGE_IO';
  constructor(message: string, readonly facts: { path?: string; op?: string; code?: string } = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
  }
}

/** A batch that fails validation in data already flushed (before the recovery point): never dropped silently. */
export class CorruptSegmentError extends Error {
  readonly code = 'CORRUPT_SEGMENT';
  constructor(readonly file: string, readonly position: number, readonly reason: string, options?: { cause?: unknown }) {
    super(`corrupt batch in ${file} at byte ${position}: ${reason}`, options);
    this.name = 'CorruptSegmentError';
  }
}

/**
 * An I/O failure (write or fsync) left the log's on-disk state unknown; like Kafka's KafkaStorageException
 * taking a log dir offline, every later operation fails until the log is reopened and recovered.
 */
export class LogFailedError extends Error {
  readonly code = 'LOG_FAILED';
  constructor(readonly dir: string, options?: { cause?: unknown }) {
    super(`partition log ${dir} failed on I/O and must be reopened`, options);
    this.name = 'LogFailedError';
  }
}

/** Kafka's OFFSET_OUT_OF_RANGE: the offset is below the log start or past the log end. */
export class OffsetOutOfRangeError extends Error {
  readonly code = 'OFFSET_OUT_OF_RANGE';
  constructor(readonly facts: { dir: string; offset: number; logStartOffset: number; logEndOffset: number }) {
    super(`offset ${facts.offset} is outside [${facts.logStartOffset}, ${facts.logEndOffset}] of ${facts.dir}`);
    this.name = 'OffsetOutOfRangeError';
  }
}

/** Appended bytes that the log refuses: not whole batches, or replicated offsets that are not contiguous. */
export class InvalidAppendError extends Error {
  readonly code = 'INVALID_APPEND';
  constructor(message: string, readonly facts: { dir: string; offset?: number; expected?: number }) {
    super(message);
    this.name = 'InvalidAppendError';
  }
}

export class LogClosedError extends Error {
  readonly code = 'LOG_CLOSED';
  constructor(readonly dir: string) {
    super(`partition log ${dir} is closed`);
    this.name = 'LogClosedError';
  }
}

/** A checkpoint file that does not parse; the caller falls back to a safe default and warns. */
export class CheckpointFormatError extends Error {
  readonly code = 'CHECKPOINT_FORMAT';
  constructor(readonly path: string, readonly reason: string) {
    super(`checkpoint ${path} is malformed: ${reason}`);
    this.name = 'CheckpointFormatError';
  }
}
