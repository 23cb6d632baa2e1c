// The Kafka TCP listener, the Node adapter from sockets to a broker's request router: it accepts connections
// and puts each socket behind a ClientConnection (src/broker/client-connection.ts), which splits the bytes into
// request frames, hands them to the handler and writes the responses back in request order, pausing the socket
// while too many requests are in flight. Stopping answers what was accepted, up to a grace period.
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../../util/logger.ts';
import { ClientConnection } from '../../broker/client-connection.ts';
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

export class KafkaListener {
  private server: Server | null = null;
  private readonly connections = new Set<ClientConnection>();
  private nextId = 1;
  port = 0;

  constructor(private readonly opts: KafkaListenerOptions) {}

  async start(): Promise<void> {
    const full = { maxRequestBytes: 100 * 1024 * 1024, maxInFlightPerConnection: 128, ...this.opts };
    const server = createServer((socket) => {
      const conn = connectionOn(socket, this.nextId++, full);
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

/** A ClientConnection behind `socket`. */
function connectionOn(socket: Socket, id: number, opts: Required<Pick<KafkaListenerOptions, 'maxRequestBytes' | 'maxInFlightPerConnection'>> & KafkaListenerOptions): ClientConnection {
  const conn = new ClientConnection(
    id,
    {
      get remote() {
        return `${socket.remoteAddress}:${socket.remotePort}`;
      },
      write: (response) => void socket.write(response),
      pause: () => void socket.pause(),
      resume: () => void socket.resume(),
      destroy: () => void socket.destroy(),
    },
    { handler: opts.handler, logger: opts.logger, maxRequestBytes: opts.maxRequestBytes, maxInFlight: opts.maxInFlightPerConnection },
  );
  socket.setNoDelay(true);
  socket.on('data', (chunk: Buffer) => conn.receive(chunk));
  socket.on('error', () => {}); // 'close' follows; resets by clients are routine
  socket.on('close', () => conn.peerClosed());
  return conn;
}
