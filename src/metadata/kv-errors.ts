// Typed failures of a MetadataKv, the same for every implementation, so callers branch on `code`
// instead of on a backend's error text or numeric API code.

export type KvErrorCode = 'KEY_EXISTS' | 'REVISION_MISMATCH' | 'INVALID_KEY' | 'KV_OPERATION_FAILED';

export class KvError extends Error {
  readonly code: KvErrorCode;
  readonly key: string;
  constructor(code: KvErrorCode, key: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.code = code;
    this.key = key;
  }
}

/** create() of a key that holds a value. */
export class KeyExistsError extends KvError {
  constructor(key: string, cause?: unknown) {
    super('KEY_EXISTS', key, `key "${key}" already exists`, cause);
  }
}

/** A compare-and-set lost: the key is not at the revision the writer read (or no longer exists). */
export class RevisionMismatchError extends KvError {
  readonly expectedRevision: number;
  constructor(key: string, expectedRevision: number, cause?: unknown) {
    super('REVISION_MISMATCH', key, `key "${key}" is not at revision ${expectedRevision}`, cause);
    this.expectedRevision = expectedRevision;
  }
}

export class InvalidKeyError extends KvError {
  constructor(key: string, why: string) {
    super('INVALID_KEY', key, `invalid key "${key}": ${why}`);
  }
}

/** Anything else the backend reported (timeout, no JetStream, connection closed), with it as the cause. */
export class KvOperationError extends KvError {
  readonly operation: string;
  constructor(operation: string, key: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super('KV_OPERATION_FAILED', key, `key-value ${operation} of "${key}" failed: ${reason}`, cause);
    this.operation = operation;
  }
}
