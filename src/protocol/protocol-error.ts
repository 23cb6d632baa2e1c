// The one typed error of the Kafka wire codec. Everything the codec refuses — a frame that does not parse,
// an API key or version Kastor does not serve, a value a version cannot carry — is a ProtocolError with a
// `code`, so the server can tell a hostile or broken client (close the connection) from a request it must
// answer with a Kafka error code (UNSUPPORTED_VERSION, per KIP-511 even for ApiVersions).

export type ProtocolErrorCode =
  /** Bytes that do not parse: short buffer, negative or oversized length, bad varint, trailing bytes. */
  | 'MALFORMED_FRAME'
  /** An API key Kastor has no codec for. */
  | 'UNSUPPORTED_API_KEY'
  /** A known API at a version outside the served range. */
  | 'UNSUPPORTED_VERSION'
  /** Encoding would silently drop a non-ignorable field, or a value does not fit its wire type. */
  | 'UNREPRESENTABLE_VALUE';

/** What is known about the request when decoding failed, so the broker can still answer it. */
export interface ProtocolErrorFacts {
  /** Byte position in the frame where decoding failed. */
  position?: number;
  apiKey?: number;
  apiVersion?: number;
  correlationId?: number;
}

export class ProtocolError extends Error {
  readonly position: number | undefined;
  readonly apiKey: number | undefined;
  readonly apiVersion: number | undefined;
  readonly correlationId: number | undefined;
  /** The message without the position suffix (for re-raising with more facts). */
  readonly detail: string;

  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    facts: ProtocolErrorFacts = {},
    options?: { cause?: unknown },
  ) {
    super(facts.position === undefined ? message : `${message} (at byte ${facts.position})`, options);
    this.name = 'ProtocolError';
    this.detail = message;
    this.position = facts.position;
    this.apiKey = facts.apiKey;
    this.apiVersion = facts.apiVersion;
    this.correlationId = facts.correlationId;
  }
}
