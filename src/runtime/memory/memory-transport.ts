// An in-memory Transport for deterministic tests and simulation: subjects map to handlers in one process.
// Payloads are copied both ways so no side can alias the other's buffers, as over a real wire. A subject can be
// cut (requests to it time out at once, messages to it are lost) to model a partitioned broker.
//
// Several servers of a subject (a queue group, or a controller handing over) answer in turn as NATS would
// pick one; a request to a subject nobody serves fails at once with NO_RESPONDERS, as NATS answers it. Given a
// clock, a request whose handler has not answered within its timeout fails with TIMEOUT on that clock, as a
// NATS request does (a server that stopped mid-request never answers); without one it waits for the handler.
import type { Clock } from '../clock.ts';
import { TransportError, type ServeOptions, type Transport, type TransportSubscription } from '../transport.ts';

type Handler = (payload: Buffer) => Promise<Uint8Array>;

export class MemoryTransport implements Transport {
  private readonly servers = new Map<string, Handler[]>();
  private readonly cut = new Set<string>();
  private readonly subscribers = new Map<string, Set<(payload: Buffer) => void>>();
  private readonly reconnectListeners = new Set<() => void>();
  private turn = 0;
  /** Requests sent per subject (tests assert how chatty replication is). */
  readonly requests = new Map<string, number>();

  /** `payloadLimit`: the largest message, as a NATS server's max_payload (replies above it are refused). */
  constructor(
    private readonly payloadLimit = 8 * 1024 * 1024,
    private readonly clock?: Pick<Clock, 'setTimeout' | 'clearTimeout'>,
  ) {}

  async request(subject: string, payload: Uint8Array, timeoutMs: number): Promise<Buffer> {
    this.requests.set(subject, (this.requests.get(subject) ?? 0) + 1);
    if (this.cut.has(subject)) throw new TransportError('TIMEOUT', subject);
    const handlers = this.servers.get(subject);
    if (!handlers || handlers.length === 0) throw new TransportError('NO_RESPONDERS', subject);
    if (payload.length > this.payloadLimit) throw new TransportError('FAILED', subject);
    const handler = handlers[this.turn++ % handlers.length]!;
    const reply = await this.within(subject, timeoutMs, handler(Buffer.from(payload)));
    if (this.cut.has(subject)) throw new TransportError('TIMEOUT', subject);
    // NATS would refuse to send it, and the request would time out.
    if (reply.length > this.payloadLimit) throw new TransportError('TIMEOUT', subject);
    return Buffer.from(reply);
  }

  serve(subject: string, handler: Handler, _options?: ServeOptions): TransportSubscription {
    let list = this.servers.get(subject);
    if (!list) this.servers.set(subject, (list = []));
    list.push(handler);
    return {
      stop: () => {
        const i = list.indexOf(handler);
        if (i >= 0) list.splice(i, 1);
        if (list.length === 0 && this.servers.get(subject) === list) this.servers.delete(subject);
      },
    };
  }

  publish(subject: string, payload: Uint8Array): void {
    if (this.cut.has(subject)) return;
    for (const fn of [...(this.subscribers.get(subject) ?? [])]) queueMicrotask(() => fn(Buffer.from(payload)));
  }

  subscribe(subject: string, handler: (payload: Buffer) => void): TransportSubscription {
    let set = this.subscribers.get(subject);
    if (!set) this.subscribers.set(subject, (set = new Set()));
    set.add(handler);
    return { stop: () => void set.delete(handler) };
  }

  onReconnect(fn: () => void): () => void {
    this.reconnectListeners.add(fn);
    return () => void this.reconnectListeners.delete(fn);
  }

  maxPayload(): number {
    return this.payloadLimit;
  }

  private within(subject: string, timeoutMs: number, answer: Promise<Uint8Array>): Promise<Uint8Array> {
    const clock = this.clock;
    if (!clock) return answer;
    return new Promise((resolve, reject) => {
      const timer = clock.setTimeout(() => reject(new TransportError('TIMEOUT', subject)), timeoutMs);
      answer.then(
        (reply) => (clock.clearTimeout(timer), resolve(reply)),
        (err: unknown) => (clock.clearTimeout(timer), reject(err)),
      );
    });
  }

  /** Makes requests on `subject` fail as timeouts, and messages to it vanish, until `heal`. */
  partition(subject: string): void {
    this.cut.add(subject);
  }

  heal(subject: string): void {
    this.cut.delete(subject);
  }

  /** As a NATS connection coming back after a loss: every onReconnect callback runs. */
  reconnected(): void {
    for (const fn of [...this.reconnectListeners]) fn();
  }
}
