// A loopback TCP proxy that a test owns, put between one broker and nats-server so the test can cut that
// broker from the bus without root (NATS-NOTES.md, "Injecting faults without root": a silent partition).
//
// While black-holed, the proxy keeps every socket open and discards what either side sends, and new
// connections are accepted and black-holed too: the broker sees no error, only silence, until its NATS
// pings go unanswered — as with a pulled cable. Bytes are dropped, not buffered, so a connection that was
// black-holed can never carry valid NATS protocol again; heal() therefore closes those connections (the
// client reconnects through the proxy at once) and forwards new ones normally.
//
// A single nats-server advertises no other servers, so a client behind the proxy cannot reconnect around
// it; against a NATS cluster the client also needs `ignoreClusterUpdates` (or the server `no_advertise`).
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxyOptions {
  targetHost?: string;
  targetPort: number;
  /** Listen port; a free one when absent. */
  port?: number;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  /** Set when the pair carried (or dropped) traffic while black-holed: it is closed on heal. */
  tainted: boolean;
}

export class TcpProxy {
  port = 0;
  private blackholed = false;
  private closed = false;
  private readonly pairs = new Set<Pair>();

  private constructor(
    private readonly server: Server,
    private readonly opts: TcpProxyOptions,
  ) {}

  static async start(opts: TcpProxyOptions): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server, opts);
    server.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    proxy.port = typeof addr === 'object' && addr ? addr.port : 0;
    return proxy;
  }

  /** The proxy's address as a NATS URL. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get isBlackholed(): boolean {
    return this.blackholed;
  }

  /** Number of client connections currently open through the proxy. */
  get connections(): number {
    return this.pairs.size;
  }

  /** Starts discarding all traffic both ways, on open connections and on new ones. */
  blackhole(): void {
    this.blackholed = true;
    for (const p of this.pairs) p.tainted = true;
  }

  /** Stops discarding: closes the connections whose stream lost bytes, forwards everything new. */
  heal(): void {
    this.blackholed = false;
    for (const p of [...this.pairs]) if (p.tainted) this.drop(p);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of [...this.pairs]) this.drop(p);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.closed) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: this.opts.targetHost ?? '127.0.0.1', port: this.opts.targetPort });
    const pair: Pair = { client, upstream, tainted: this.blackholed };
    this.pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const forward = (to: Socket) => (chunk: Buffer) => {
      if (this.blackholed || pair.tainted) {
        pair.tainted = true;
        return;
      }
      to.write(chunk);
    };
    client.on('data', forward(upstream));
    upstream.on('data', forward(client));
    // Either side ending or failing ends the pair (a refused upstream while nats-server restarts, too),
    // unless black-holed: a silent partition must not tell the client anything.
    const end = () => {
      if (this.blackholed && !this.closed) {
        pair.tainted = true;
        return;
      }
      this.drop(pair);
    };
    client.on('error', end);
    client.on('close', () => this.drop(pair));
    upstream.on('error', end);
    upstream.on('close', end);
  }

  private drop(pair: Pair): void {
    this.pairs.delete(pair);
    pair.client.destroy();
    pair.upstream.destroy();
  }
}
