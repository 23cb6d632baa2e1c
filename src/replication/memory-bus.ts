// An in-memory RequestReply for deterministic tests: a map of subject → handler in one process. Payloads
// are copied both ways so no side can alias the other's buffers, as over a real wire. A subject can be
// cut (requests to it time out at once) to model a partitioned broker.
import { ReplicationTransportError, type RequestReply } from './request-reply.ts';

export class MemoryBus implements RequestReply {
  private readonly handlers = new Map<string, (payload: Buffer) => Promise<Uint8Array>>();
  private readonly cut = new Set<string>();
  private readonly listeners = new Map<string, Set<(payload: Buffer) => void>>();
  /** Requests sent per subject (tests assert how chatty replication is). */
  readonly requests = new Map<string, number>();

  /** `maxPayload`: the largest message, as a NATS server's max_payload (replies above it are refused). */
  constructor(private readonly payloadLimit = 8 * 1024 * 1024) {}

  async request(subject: string, payload: Uint8Array, _timeoutMs: number): Promise<Buffer> {
    this.requests.set(subject, (this.requests.get(subject) ?? 0) + 1);
    if (this.cut.has(subject)) throw new ReplicationTransportError('TIMEOUT', subject);
    const handler = this.handlers.get(subject);
    if (!handler) throw new ReplicationTransportError('NO_RESPONDERS', subject);
    if (payload.length > this.payloadLimit) throw new ReplicationTransportError('FAILED', subject);
    const reply = await handler(Buffer.from(payload));
    if (this.cut.has(subject)) throw new ReplicationTransportError('TIMEOUT', subject);
    // NATS would refuse to send it, and the request would time out.
    if (reply.length > this.payloadLimit) throw new ReplicationTransportError('TIMEOUT', subject);
    return Buffer.from(reply);
  }

  serve(subject: string, handler: (payload: Buffer) => Promise<Uint8Array>): { stop(): void } {
    this.handlers.set(subject, handler);
    return { stop: () => this.handlers.get(subject) === handler && this.handlers.delete(subject) };
  }

  notify(subject: string, payload: Uint8Array): void {
    if (this.cut.has(subject)) return;
    for (const fn of [...(this.listeners.get(subject) ?? [])]) queueMicrotask(() => fn(Buffer.from(payload)));
  }

  listen(subject: string, handler: (payload: Buffer) => void): { stop(): void } {
    let set = this.listeners.get(subject);
    if (!set) this.listeners.set(subject, (set = new Set()));
    set.add(handler);
    return { stop: () => void set.delete(handler) };
  }

  /** An in-memory bus never loses its connection. */
  onReconnect(_fn: () => void): () => void {
    return () => {};
  }

  maxPayload(): number {
    return this.payloadLimit;
  }

  /** Makes requests on `subject` fail as timeouts until `heal`. */
  partition(subject: string): void {
    this.cut.add(subject);
  }

  heal(subject: string): void {
    this.cut.delete(subject);
  }
}
