// Typed failures of the controller. A controller write attempted without a valid lease is refused before
// it reaches the bucket: the code lets callers tell "someone else is controller now" from real failures.

export type ControllerErrorCode = 'NOT_ACTIVE_CONTROLLER';

export class ControllerError extends Error {
  readonly code: ControllerErrorCode;
  constructor(code: ControllerErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.code = code;
  }
}

/** The lease is not held (lost, expired on this broker's clock, or never won): the write is not made. */
export class NotActiveControllerError extends ControllerError {
  constructor(readonly brokerId: number, readonly what: string) {
    super('NOT_ACTIVE_CONTROLLER', `broker ${brokerId} is not the active controller; not doing: ${what}`);
  }
}
