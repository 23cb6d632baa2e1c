// The Kafka TCP listener, the Node adapter from sockets to a broker's request router: accepts connections, splits each byte stream into request frames, hands every
// frame to the request handler and writes the responses back in request order.
//
// Requests on one connection are handled concurrently (so pipelined acks=all produces share a group
// commit) but answered strictly in the order they arrived, as Kafka clients require (kafka-python
// raises CorrelationIdError otherwise). A handler that returns null (acks=0 Produce) sends nothing and
// does not hold up later responses. When too many requests are in flight on one connection, reading
// pauses until responses drain — the same back-pressure Kafka gets from muting the channel.
// A malformed or oversized frame, or a handler failure, closes only that connection, with a log line.
import { createServer, type Server, type Socket } from 'node:net';
import { FrameSplitter, FrameError } from '../../protocol/frame-splitter.ts';
import type { Logger } from '../../util/logger.ts';
import { CloseConnection, type ConnectionInfo, type RequestHandler } from '../../broker/request-handler.ts';

export { CloseConnection, type ConnectionInfo, type RequestHandler };

export interface KafkaListenerOptions {
  host: string;
  port: number;
  handler: RequestHandler;
  logger: Logger;
  /** Kafka's socket.request.max.bytes (default 100 MiB). */
  maxRequestBytes?: number;
  /** Requests handled at once per connection before reading pauses. */
  maxInFlightPerConnection?: number;
}

interface Pending {
  done: boolean;
  response: Buffer | null;
}

class Connection implements ConnectionInfo {
  closed = false;
  private readonly splitter: FrameSplitter;
  private readonly queue: Pending[] = [];
  private paused = false;

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly opts: Required<Pick<KafkaListenerOptions, 'maxRequestBytes' | 'maxInFlightPerConnection'>> & KafkaListenerOptions,
    private readonly logger: Logger,
  ) {
    this.splitter = new FrameSplitter(opts.maxRequestBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', () => {}); // 'close' follows; resets by clients are routine
    socket.on('close', () => {
      this.closed = true;
    });
  }

  get remote(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Buffer[];
    try {
      frames = this.splitter.push(chunk);
    } catch (err) {
      const e = err as FrameError;
      this.close('bad frame', { code: e.code, size: e.size, error: e.message });
      return;
    }
    for (const frame of frames) this.dispatch(frame);
    if (!this.paused && this.queue.length >= this.opts.maxInFlightPerConnection) {
      this.paused = true;
      this.socket.pause();
    }
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
    while (this.queue.length > 0 && this.queue[0].done) {
      const head = this.queue.shift()!;
      if (head.response && !this.closed) this.socket.write(head.response);
    }
    if (this.paused && this.queue.length < this.opts.maxInFlightPerConnection / 2 && !this.closed) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private fail(err: unknown, frame: Buffer): void {
    const header = frame.length >= 8 ? { apiKey: frame.readInt16BE(0), apiVersion: frame.readInt16BE(2), correlationId: frame.readInt32BE(4) } : {};
    if (err instanceof CloseConnection) {
      this.close(err.reason, { ...header, ...err.facts });
    } else {
      this.logger.error('request handler failed; closing the connection', { ...header, error: err as Error, stack: (err as Error)?.stack });
      this.close('handler failure', header);
    }
  }

  close(reason: string, facts: Record<string, unknown> = {}): void {
    if (this.closed) return;
    this.closed = true;
    this.logger.warn(`closing connection: ${reason}`, { connection: this.id, remote: this.remote, ...facts });
    this.socket.destroy();
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  /** True when every request received has been answered. */
  get idle(): boolean {
    return this.queue.length === 0 && this.splitter.pendingBytes === 0;
  }
}

export class KafkaListener {
  private server: Server | null = null;
  private readonly connections = new Set<Connection>();
  private nextId = 1;
  port = 0;

  constructor(private readonly opts: KafkaListenerOptions) {}

  async start(): Promise<void> {
    const full = { maxRequestBytes: 100 * 1024 * 1024, maxInFlightPerConnection: 128, ...this.opts };
    const server = createServer((socket) => {
      const conn = new Connection(this.nextId++, socket, full, this.opts.logger);
      this.connections.add(conn);
      socket.on('close', () => this.connections.delete(conn));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : this.opts.port;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Stops accepting, waits (up to graceMs) for in-flight requests to be answered, then closes every
   * connection. A clean shutdown answers what it accepted.
   */
  async stop(graceMs = 5_000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && [...this.connections].some((c) => !c.idle)) {
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const c of this.connections) c.destroy();
    await closed;
  }
}
