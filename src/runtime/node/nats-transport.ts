// The Transport over core NATS: requests through the connection's one inbox subscription (inbox-requests.ts),
// serving and subscribing as plain (or queue-group) subscriptions, publishing fire-and-forget.
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { TransportError, type Transport, type TransportErrorCode } from '../transport.ts';
import { reconnectNotifier } from './nats-connection.ts';
import { inboxRequestsFor } from './inbox-requests.ts';

/** How a NATS request failed, read from a nats.js (or InboxRequests) error's name. */
export function natsErrorCode(err: unknown): TransportErrorCode {
  const e = err as { name?: string; isNoResponders?: () => boolean; cause?: { name?: string } };
  if (typeof e?.isNoResponders === 'function' && e.isNoResponders()) return 'NO_RESPONDERS';
  if (e?.name === 'NoRespondersError' || e?.cause?.name === 'NoRespondersError') return 'NO_RESPONDERS';
  if (e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError') return 'TIMEOUT';
  if (e?.name === 'ClosedConnectionError' || e?.name === 'DrainingConnectionError') return 'CLOSED';
  return 'FAILED';
}

/** What nats.js assumes before the server's INFO says otherwise, and the NATS server's default. */
const NATS_DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/**
 * `onHandlerError`: a failed handler, a reply that could not be sent, a publish on a closed connection.
 * `onReconnect`: the connection's reconnect notifier when its owner already has one (one status watch each).
 */
export function natsTransport(
  nc: NatsConnection,
  onHandlerError: (err: unknown) => void = () => {},
  onReconnect: (fn: () => void) => () => void = reconnectNotifier(nc, onHandlerError),
): Transport {
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
        throw new TransportError(natsErrorCode(err), subject, { cause: err });
      }
    },
    serve(subject, handler, options) {
      const sub: Subscription = nc.subscribe(subject, {
        ...(options?.queue ? { queue: options.queue } : {}),
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
    publish(subject, payload) {
      if (nc.isClosed()) return; // lost, as a one-way message to nobody is
      try {
        nc.publish(subject, payload);
      } catch (err) {
        onHandlerError(err); // a closed connection: a lost one-way message, as over a lossy link
      }
    },
    subscribe(subject, handler) {
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
