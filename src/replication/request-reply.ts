// The request/reply transport replication runs on: core NATS in a broker, an in-memory bus in tests
// (memory-bus.ts), both behind this one small interface so the fetchers and the server never see NATS.
//
// A reply is one message, so every payload must stay under the server's max_payload (NATS-NOTES.md): the
// transport says what that is (maxPayload), the replication server budgets its responses for it, and a
// leader refuses produced batches too large to replicate (maxBatchBytes).
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { reconnectNotifier } from '../transport/nats-connection.ts';
import { inboxRequestsFor } from '../transport/inbox-requests.ts';

export interface RequestReply {
  /** Sends one request and resolves with the reply; rejects with a ReplicationTransportError. */
  request(subject: string, payload: Uint8Array, timeoutMs: number): Promise<Buffer>;
  /** Answers requests on `subject` with `handler`; concurrent requests run concurrently. */
  serve(subject: string, handler: (payload: Buffer) => Promise<Uint8Array>): { stop(): void };
  /** Sends a one-way message (lost if nobody listens): a follower waking the fetch its leader holds. */
  notify(subject: string, payload: Uint8Array): void;
  /** Receives the one-way messages sent on `subject`. */
  listen(subject: string, handler: (payload: Buffer) => void): { stop(): void };
  /** Calls `fn` each time the connection came back after a loss: requests in flight then never get an answer
   *  (NATS does not fail them, they time out), so their senders should give up on them. Returns the unsubscribe. */
  onReconnect(fn: () => void): () => void;
  /** The largest message the transport carries now (the NATS server's max_payload). */
  maxPayload(): number;
}

/**
 * The largest batch replication carries over `transport`: half its max_payload, so a fetch answer holding it
 * (the replication server budgets answers to the same half) always fits in one message, with room for the
 * other partitions' entries. A leader refuses larger produced batches (PartitionReplica.produce).
 */
export function maxBatchBytes(transport: Pick<RequestReply, 'maxPayload'>): number {
  return Math.floor(transport.maxPayload() / 2);
}

/** What nats.js assumes before the server's INFO says otherwise, and the NATS server's default. */
const NATS_DEFAULT_MAX_PAYLOAD = 1024 * 1024;

export type TransportErrorCode = 'TIMEOUT' | 'NO_RESPONDERS' | 'CLOSED' | 'FAILED';

export class ReplicationTransportError extends Error {
  constructor(
    readonly code: TransportErrorCode,
    readonly subject: string,
    options?: ErrorOptions,
  ) {
    super(`replication request on ${subject} failed: ${code}`, options);
    this.name = 'ReplicationTransportError';
  }
}

/** How a NATS request failed: no responders (nobody subscribes), timeout, closed connection, or else. */
export function transportErrorCode(err: unknown): TransportErrorCode {
  const e = err as { name?: string; isNoResponders?: () => boolean; cause?: { name?: string } };
  if (typeof e?.isNoResponders === 'function' && e.isNoResponders()) return 'NO_RESPONDERS';
  if (e?.name === 'NoRespondersError' || e?.cause?.name === 'NoRespondersError') return 'NO_RESPONDERS';
  if (e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError') return 'TIMEOUT';
  if (e?.name === 'ClosedConnectionError' || e?.name === 'DrainingConnectionError') return 'CLOSED';
  return 'FAILED';
}

/** `onReconnect`: the connection's reconnect notifier when its owner already has one (one status watch each). */
export function natsRequestReply(
  nc: NatsConnection,
  onHandlerError: (err: unknown) => void = () => {},
  onReconnect: (fn: () => void) => () => void = reconnectNotifier(nc, onHandlerError),
): RequestReply {
  const requests = inboxRequestsFor(nc);
  return {
    async request(subject, payload, timeoutMs) {
      try {
        const msg = await requests.request(subject, payload, timeoutMs);
        // A view, not a copy: nats.js hands each message bytes of its own (a socket read, or a buffer made for
        // a message spanning several reads), never reused, so they can outlive the message while a follower
        // appends them. Copying every replicated byte here cost a copy and an allocation per batch.
        return Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
      } catch (err) {
        throw new ReplicationTransportError(transportErrorCode(err), subject, { cause: err });
      }
    },
    serve(subject, handler) {
      const sub: Subscription = nc.subscribe(subject, {
        callback: (err, msg) => {
          if (err) return onHandlerError(err);
          const data = Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
          handler(data).then(
            (reply) => {
              // respond() throws on a closed connection or a reply over max_payload: report it, never crash.
              try {
                msg.respond(reply);
              } catch (e) {
                onHandlerError(e);
              }
            },
            (e: unknown) => onHandlerError(e),
          );
        },
      });
      return { stop: () => sub.unsubscribe() };
    },
    notify(subject, payload) {
      try {
        nc.publish(subject, payload);
      } catch (err) {
        onHandlerError(err); // a closed connection: the held fetch ends on its own timeout
      }
    },
    listen(subject, handler) {
      const sub: Subscription = nc.subscribe(subject, {
        callback: (err, msg) => {
          if (err) return onHandlerError(err);
          handler(Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength));
        },
      });
      return { stop: () => sub.unsubscribe() };
    },
    onReconnect,
    maxPayload: () => nc.info?.max_payload ?? NATS_DEFAULT_MAX_PAYLOAD,
  };
}
