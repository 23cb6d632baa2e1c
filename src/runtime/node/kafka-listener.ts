// The Kafka TCP listener, the Node adapter from sockets to a broker's request router: it accepts connections
// and puts each socket behind a ClientConnection (src/broker/client-connection.ts), which splits the bytes into
// request frames, hands them to the handler and writes the responses back in request order, pausing the socket
// while too many requests are in flight. Stopping answers what was accepted, up to a grace period.
//
// One KafkaListener is one of Kafka's listeners (src/security/listeners.ts): its name and security protocol
// travel with every connection (ConnectionSecurity), so Metadata answers that listener's addresses and a SASL
// listener's connections must authenticate first. SSL and SASL_SSL listeners speak TLS (node:tls); with
// ssl.client.auth=requested or required a client certificate, checked against the CA, makes the connection's
// principal User:<its subject> (Kafka's default principal builder), logged when the connection opens. A client
// that does not speak TLS to a TLS listener (a plaintext Kafka client) fails the handshake: a log line, its
// socket closed, nothing else.
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContextOptions, type TLSSocket, type Server as TlsServer } from 'node:tls';
import type { Logger } from '../../util/logger.ts';
import { ClientConnection } from '../../broker/client-connection.ts';
import { CloseConnection, type ConnectionInfo, type RequestHandler } from '../../broker/request-handler.ts';
import type { SslClientAuth } from '../../broker/broker-config.ts';
import { DEFAULT_LISTENER, usesTls, type SecurityProtocol } from '../../security/listeners.ts';
import { ANONYMOUS, connectionSecurity, type ConnectionSecurity, type SaslSettings } from '../../security/connection-security.ts';
import { nodeSecurityCrypto } from './node-security-crypto.ts';
import { principalOfSubject } from './tls-files.ts';

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
  /** Kafka's listener name (default PLAINTEXT) and security protocol (default PLAINTEXT). */
  name?: string;
  securityProtocol?: SecurityProtocol;
  /** Certificates and ssl.client.auth of an SSL or SASL_SSL listener. */
  tls?: { options: SecureContextOptions; clientAuth: SslClientAuth };
  /** Mechanisms, session lifetime and failure throttle of a SASL_PLAINTEXT or SASL_SSL listener. */
  sasl?: SaslSettings;
}

export class KafkaListener {
  private server: Server | TlsServer | null = null;
  private readonly connections = new Set<ClientConnection>();
  private nextId = 1;
  port = 0;

  constructor(private readonly opts: KafkaListenerOptions) {}

  get name(): string {
    return this.opts.name ?? DEFAULT_LISTENER;
  }

  get securityProtocol(): SecurityProtocol {
    return this.opts.securityProtocol ?? 'PLAINTEXT';
  }

  async start(): Promise<void> {
    const full = { maxRequestBytes: 100 * 1024 * 1024, maxInFlightPerConnection: 128, ...this.opts };
    const serve = (socket: Socket, principal: string) => {
      const security = connectionSecurity(this.name, this.securityProtocol, socket.remoteAddress ?? '', principal, nodeSecurityCrypto, this.opts.sasl ?? null);
      const conn = connectionOn(socket, this.nextId++, security, full);
      this.connections.add(conn);
      socket.on('close', () => this.connections.delete(conn));
    };
    const server = usesTls(this.securityProtocol) ? this.tlsServer(serve) : createServer((socket) => serve(socket, ANONYMOUS));
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

  /** A TLS listener: a server whose connections get `principal` from their certificate, if any. */
  private tlsServer(serve: (socket: Socket, principal: string) => void): TlsServer {
    const tls = this.opts.tls;
    if (!tls) throw new Error(`listener ${this.name} (${this.securityProtocol}) needs TLS certificates (--ssl-cert, --ssl-key)`);
    const server = createTlsServer({ ...tls.options, requestCert: tls.clientAuth !== 'none', rejectUnauthorized: tls.clientAuth === 'required' }, (socket: TLSSocket) => {
      const remote = `${socket.remoteAddress}:${socket.remotePort}`;
      const cert = tls.clientAuth === 'none' ? undefined : socket.getPeerX509Certificate();
      if (cert && !socket.authorized) {
        // ssl.client.auth=requested: no certificate is fine, a certificate the CA did not sign is not.
        this.opts.logger.warn('TLS client certificate refused', { listener: this.name, remote, subject: cert.subject.replace(/\n/g, ','), reason: String(socket.authorizationError) });
        socket.destroy();
        return;
      }
      const principal = cert ? principalOfSubject(cert.subject) : ANONYMOUS;
      if (cert) this.opts.logger.info('TLS client authenticated', { listener: this.name, remote, principal });
      serve(socket, principal);
    });
    server.on('tlsClientError', (err, socket) => {
      this.opts.logger.warn('TLS handshake failed; connection closed', { listener: this.name, remote: `${socket.remoteAddress}:${socket.remotePort}`, reason: err.message });
    });
    return server;
  }

  /** New certificates for new connections (a reload); open connections keep theirs. */
  setSecureContext(options: SecureContextOptions): void {
    if (this.opts.tls) this.opts.tls = { ...this.opts.tls, options };
    if (this.server && 'setSecureContext' in this.server) (this.server as TlsServer).setSecureContext(options);
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
function connectionOn(socket: Socket, id: number, security: ConnectionSecurity, opts: Required<Pick<KafkaListenerOptions, 'maxRequestBytes' | 'maxInFlightPerConnection'>> & KafkaListenerOptions): ClientConnection {
  const conn = new ClientConnection(
    id,
    {
      get remote() {
        return `${socket.remoteAddress}:${socket.remotePort}`;
      },
      write: (response) => void socket.write(response),
      pause: () => void socket.pause(),
      resume: () => void socket.resume(),
      // end() sends what was written (a failed login's answer) before closing; a peer that never closes its
      // side is cut a second later.
      destroy: () => {
        socket.end();
        setTimeout(() => socket.destroy(), 1000).unref();
      },
    },
    { handler: opts.handler, logger: opts.logger, maxRequestBytes: opts.maxRequestBytes, maxInFlight: opts.maxInFlightPerConnection, security },
  );
  socket.setNoDelay(true);
  socket.on('data', (chunk: Buffer) => conn.receive(chunk));
  socket.on('error', () => {}); // 'close' follows; resets by clients are routine
  socket.on('close', () => conn.peerClosed());
  return conn;
}
