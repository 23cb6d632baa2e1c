// Request/reply on one inbox subscription per connection, for the requests a broker sends all the time
// (replica fetches, crash probes). nats.js's own request() builds an Error, stack trace and all, for every
// request that completes (RequestOne.cancel rejects its settled deferred with one): that was the largest
// single item in an idle controller's profile, and every replica fetch round pays it under load.
//
// A request is published with a reply subject under this connection's inbox; the answer arrives on the
// wildcard subscription. A subject nobody subscribes to is answered by the server itself with a header-only
// 503 status (NATS's "no responders"; our connections send headers and no_responders), which rejects with a
// NoRespondersError as nc.request would. The subscription is made before the first publish on the same
// connection, so the server has it by the time any answer comes.
import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';

/** Names as nats.js's errors, so natsErrorCode (nats-transport.ts) reads either. */
export class InboxRequestError extends Error {
  constructor(
    override readonly name: 'NoRespondersError' | 'TimeoutError' | 'ClosedConnectionError',
    readonly subject: string,
  ) {
    super(name === 'TimeoutError' ? `request on ${subject} timed out` : name === 'NoRespondersError' ? `no responders on ${subject}` : `request on ${subject}: the connection closed`);
  }
}

interface Pending {
  subject: string;
  resolve: (msg: Msg) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class InboxRequests {
  private readonly prefix = createInbox();
  private readonly pending = new Map<string, Pending>();
  private seq = 0;
  private sub: Subscription | null = null;

  constructor(private readonly nc: Pick<NatsConnection, 'subscribe' | 'publish' | 'closed'>) {
    // As nc.request: a request the closing connection can no longer answer fails now, not at its timeout.
    void nc.closed().then(() => {
      for (const [token, p] of this.pending) {
        this.pending.delete(token);
        clearTimeout(p.timer);
        p.reject(new InboxRequestError('ClosedConnectionError', p.subject));
      }
    });
  }

  /** Sends `payload` to `subject`; resolves with the first answer, rejects on no responders or after timeoutMs. */
  request(subject: string, payload: Uint8Array | string, timeoutMs: number): Promise<Msg> {
    this.sub ??= this.nc.subscribe(`${this.prefix}.*`, { callback: (err, msg) => void (err || this.answer(msg)) });
    const token = (this.seq++).toString(36);
    return new Promise<Msg>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        reject(new InboxRequestError('TimeoutError', subject));
      }, timeoutMs);
      this.pending.set(token, { subject, resolve, reject, timer });
      try {
        this.nc.publish(subject, payload, { reply: `${this.prefix}.${token}` });
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(token);
        reject(err as Error); // a closed or draining connection
      }
    });
  }

  /** Requests waiting for an answer (tests). */
  get inFlight(): number {
    return this.pending.size;
  }

  private answer(msg: Msg): void {
    const token = msg.subject.slice(this.prefix.length + 1);
    const p = this.pending.get(token);
    if (!p) return; // timed out already
    this.pending.delete(token);
    clearTimeout(p.timer);
    if (msg.data.length === 0 && msg.headers?.code === 503) p.reject(new InboxRequestError('NoRespondersError', p.subject));
    else p.resolve(msg);
  }
}

const perConnection = new WeakMap<object, InboxRequests>();

/** The connection's one InboxRequests (one inbox subscription however many callers). */
export function inboxRequestsFor(nc: Pick<NatsConnection, 'subscribe' | 'publish' | 'closed'>): InboxRequests {
  let r = perConnection.get(nc);
  if (!r) perConnection.set(nc, (r = new InboxRequests(nc)));
  return r;
}
