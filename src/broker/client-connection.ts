// One client connection as a broker serves it, bytes in and bytes out, with no socket: the byte stream is split
// into request frames, every frame goes to the request handler, and the responses leave in request order. The
// Node listener (src/runtime/node/kafka-listener.ts) puts a socket behind the ConnectionSink; a simulator can put
// anything there and feed the same bytes real clients send.
//
// Requests on one connection are handled concurrently (so pipelined acks=all produces share a group
// commit) but answered strictly in the order they arrived, as Kafka clients require (kafka-python
// raises CorrelationIdError otherwise). A handler that returns null (acks=0 Produce) sends nothing and
// does not hold up later responses. When too many requests are in flight on one connection, reading
// pauses until responses drain — the same back-pressure Kafka gets from muting the channel.
// A malformed or oversized frame, or a handler failure, closes only that connection, with a log line.
import { FrameSplitter, type FrameError } from '../protocol/frame-splitter.ts';
import type { Logger } from '../util/logger.ts';
import { CloseConnection, type ConnectionInfo, type RequestHandler } from './request-handler.ts';
import type { ConnectionSecurity } from '../security/connection-security.ts';

/** Where a connection's responses go, and how its byte source is paused (a socket in a broker process). */
export interface ConnectionSink {
  /** The peer's address, for logs and the clientHost of group members. */
  readonly remote: string;
  /** One response frame, size prefix included. */
  write(response: Buffer): void;
  /** Stop reading (too many requests in flight) / read again. */
  pause(): void;
  resume(): void;
  /** Drop the connection. */
  destroy(): void;
}

export interface ClientConnectionOptions {
  handler: RequestHandler;
  logger: Logger;
  /** Kafka's socket.request.max.bytes. */
  maxRequestBytes: number;
  /** Requests handled at once before reading pauses. */
  maxInFlight: number;
  /** The connection's listener, principal and SASL state. */
  security?: ConnectionSecurity;
}

interface Pending {
  done: boolean;
  response: Buffer | null;
}

export class ClientConnection implements ConnectionInfo {
  closed = false;
  private readonly splitter: FrameSplitter;
  private readonly queue: Pending[] = [];
  private paused = false;
  private ending: string | null = null;

  constructor(
    readonly id: number,
    private readonly sink: ConnectionSink,
    private readonly opts: ClientConnectionOptions,
  ) {
    this.splitter = new FrameSplitter(opts.maxRequestBytes);
  }

  get remote(): string {
    return this.sink.remote;
  }

  get security(): ConnectionSecurity | undefined {
    return this.opts.security;
  }

  closeAfterResponses(reason: string): void {
    this.ending ??= reason;
  }

  /** Bytes from the client, in order. */
  receive(chunk: Buffer): void {
    if (this.closed || this.ending !== null) return;
    let frames: Buffer[];
    try {
      frames = this.splitter.push(chunk);
    } catch (err) {
      const e = err as FrameError;
      this.close('bad frame', { code: e.code, size: e.size, error: e.message });
      return;
    }
    for (const frame of frames) if (this.ending === null) this.dispatch(frame);
    if (!this.paused && this.queue.length >= this.opts.maxInFlight) {
      this.paused = true;
      this.sink.pause();
    }
  }

  /** The client has gone: handlers waiting for it (a long-polling Fetch) may stop. */
  peerClosed(): void {
    this.closed = true;
  }

  private dispatch(frame: Buffer): void {
    const slot: Pending = { done: false, response: null };
    this.queue.push(slot);
    let result: Promise<Buffer | null> | Buffer | null;
    try {
      result = this.opts.handler(frame, this);
    } catch (err) {
      this.fail(err, frame);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (response) => this.complete(slot, response),
        (err) => this.fail(err, frame),
      );
    } else {
      this.complete(slot, result);
    }
  }

  private complete(slot: Pending, response: Buffer | null): void {
    slot.done = true;
    slot.response = response;
    while (this.queue.length > 0 && this.queue[0]!.done) {
      const head = this.queue.shift()!;
      if (head.response && !this.closed) this.sink.write(head.response);
    }
    if (this.ending !== null && this.queue.length === 0) this.close(this.ending);
    if (this.paused && this.queue.length < this.opts.maxInFlight / 2 && !this.closed) {
      this.paused = false;
      this.sink.resume();
    }
  }

  private fail(err: unknown, frame: Buffer): void {
    const header = frame.length >= 8 ? { apiKey: frame.readInt16BE(0), apiVersion: frame.readInt16BE(2), correlationId: frame.readInt32BE(4) } : {};
    if (err instanceof CloseConnection) {
      this.close(err.reason, { ...header, ...err.facts });
    } else {
      this.opts.logger.error('request handler failed; closing the connection', { ...header, error: err as Error, stack: (err as Error)?.stack });
      this.close('handler failure', header);
    }
  }

  close(reason: string, facts: Record<string, unknown> = {}): void {
    if (this.closed) return;
    this.closed = true;
    this.opts.logger.warn(`closing connection: ${reason}`, { connection: this.id, remote: this.remote, ...facts });
    this.sink.destroy();
  }

  destroy(): void {
    this.closed = true;
    this.sink.destroy();
  }

  /** True when every request received has been answered. */
  get idle(): boolean {
    return this.queue.length === 0 && this.splitter.pendingBytes === 0;
  }
}
