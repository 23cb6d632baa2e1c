// What a broker answers: one Kafka request frame in, one response frame out (or none), for a connection it
// knows only by these few facts. The Node adapter (src/runtime/node/kafka-listener.ts) feeds it bytes from
// sockets; a simulator can feed it the same bytes real clients send.
import type { ConnectionSecurity } from '../security/connection-security.ts';

export interface ConnectionInfo {
  readonly id: number;
  readonly remote: string;
  /** Set when the client has gone: handlers may stop waiting (a long-polling Fetch, say). */
  readonly closed: boolean;
  /** The listener it came in on, its principal and SASL state (src/security); absent: an anonymous PLAINTEXT client. */
  readonly security?: ConnectionSecurity;
  /** Answers what was received so far, then closes (a failed SASL login gets its error, then the door). */
  closeAfterResponses?(reason: string): void;
}

/** Answers one request frame (without its size prefix) with a response frame (with its prefix), or null. */
export type RequestHandler = (frame: Buffer, conn: ConnectionInfo) => Promise<Buffer | null> | Buffer | null;

/** Thrown by a handler to close the connection without answering (Kafka's rule for unparseable requests). */
export class CloseConnection extends Error {
  constructor(
    readonly reason: string,
    readonly facts: Record<string, unknown> = {},
  ) {
    super(reason);
    this.name = 'CloseConnection';
  }
}
