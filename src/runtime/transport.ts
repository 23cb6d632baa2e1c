// The messaging a broker does with the rest of the cluster, replication and control plane alike: request/reply
// (replica fetches, AlterIsr, controlled shutdown, liveness probes) and publish/subscribe (heartbeats, fetch
// wake-ups, dashboard status). Core NATS in a broker (node/nats-transport.ts), an in-memory bus in tests and
// simulation (memory/memory-transport.ts); no component above it sees NATS.
//
// A reply is one message, so every payload must stay under the server's max_payload (NATS-NOTES.md): the
// transport says what that is (maxPayload), and replication budgets for it.

export interface TransportSubscription {
  stop(): void;
}

export interface ServeOptions {
  /** Servers of one queue group share the requests: each is answered by one of them (NATS queue groups). */
  queue?: string;
}

export interface Transport {
  /** Sends one request and resolves with the reply; rejects with a TransportError. */
  request(subject: string, payload: Uint8Array, timeoutMs: number): Promise<Buffer>;
  /** Answers requests on `subject` with `handler`; concurrent requests run concurrently. */
  serve(subject: string, handler: (payload: Buffer) => Promise<Uint8Array>, options?: ServeOptions): TransportSubscription;
  /** Sends a one-way message (lost if nobody listens). */
  publish(subject: string, payload: Uint8Array): void;
  /** Receives the one-way messages sent on `subject`. */
  subscribe(subject: string, handler: (payload: Buffer) => void): TransportSubscription;
  /** Calls `fn` each time the connection came back after a loss: requests in flight then never get an answer
   *  (NATS does not fail them, they time out), so their senders should give up on them. Returns the unsubscribe. */
  onReconnect(fn: () => void): () => void;
  /** The largest message the transport carries now (the NATS server's max_payload). */
  maxPayload(): number;
}

export type TransportErrorCode = 'TIMEOUT' | 'NO_RESPONDERS' | 'CLOSED' | 'FAILED';

/** A request that got no reply: nobody serves the subject, no answer in time, the connection closed, or else. */
export class TransportError extends Error {
  constructor(
    readonly code: TransportErrorCode,
    readonly subject: string,
    options?: ErrorOptions,
  ) {
    super(`request on ${subject} failed: ${code}`, options);
    this.name = 'TransportError';
  }
}

/** How a request failed: a TransportError's code; anything else thrown is FAILED. */
export function transportErrorCode(err: unknown): TransportErrorCode {
  return err instanceof TransportError ? err.code : 'FAILED';
}
