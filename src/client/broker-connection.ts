// One TCP connection to one Kafka broker (Kastor or any other): requests are pipelined with increasing
// correlation ids and matched to their responses, which a broker returns in request order. Built on
// src/protocol only; the producer, consumer and admin of Kastor's client sit on top of it.
import { connect, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { encodeRequest, decodeResponse } from '../protocol/frames.ts';
import type { RequestBodies, ResponseBodies } from '../protocol/generated/index.ts';
import { FrameSplitter } from '../protocol/frame-splitter.ts';

export class ConnectionError extends Error {
  /** A lost or refused connection is worth retrying (after a metadata refresh: the broker may be gone). */
  readonly retriable = true;
  constructor(
    readonly code: 'CONNECT_FAILED' | 'CONNECTION_CLOSED' | 'REQUEST_TIMEOUT',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ConnectionError';
  }
}

interface InFlight {
  apiKey: number;
  apiVersion: number;
  resolve: (frame: Buffer) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export interface BrokerConnectionOptions {
  host: string;
  port: number;
  clientId?: string;
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Speak TLS (an SSL or SASL_SSL listener): CA, client certificate and key as node:tls takes them. */
  tls?: TlsConnectionOptions;
}

export class BrokerConnection {
  private nextCorrelationId = 1;
  private readonly inFlight = new Map<number, InFlight>();
  private readonly splitter = new FrameSplitter(256 * 1024 * 1024, 4);
  private closedError: Error | null = null;

  private constructor(
    private readonly socket: Socket,
    private readonly opts: BrokerConnectionOptions,
  ) {
    socket.on('data', (chunk) => {
      let frames: Buffer[];
      try {
        frames = this.splitter.push(chunk);
      } catch (err) {
        return this.fail(new ConnectionError('CONNECTION_CLOSED', `bad response frame from ${this.address}: ${(err as Error).message}`, { cause: err }));
      }
      for (const frame of frames) this.onFrame(frame);
    });
    socket.on('error', (err) => this.fail(new ConnectionError('CONNECTION_CLOSED', `connection to ${this.address} failed: ${err.message}`, { cause: err })));
    socket.on('close', () => this.fail(new ConnectionError('CONNECTION_CLOSED', `connection to ${this.address} closed`)));
  }

  static connect(opts: BrokerConnectionOptions): Promise<BrokerConnection> {
    return new Promise((resolve, reject) => {
      const socket = opts.tls ? connectTls({ servername: isIp(opts.host) ? undefined : opts.host, ...opts.tls, host: opts.host, port: opts.port }) : connect(opts.port, opts.host);
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ConnectionError('CONNECT_FAILED', `could not connect to ${opts.host}:${opts.port} within ${opts.connectTimeoutMs ?? 10_000} ms`));
      }, opts.connectTimeoutMs ?? 10_000);
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new BrokerConnection(socket, opts));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new ConnectionError('CONNECT_FAILED', `could not connect to ${opts.host}:${opts.port}: ${err.message}`, { cause: err }));
      });
    });
  }

  get address(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }

  get closed(): boolean {
    return this.closedError !== null;
  }

  /** Sends a request and resolves with the decoded response body. */
  async request<K extends keyof RequestBodies & keyof ResponseBodies & number>(apiKey: K, apiVersion: number, body: RequestBodies[K], timeoutMs = this.opts.requestTimeoutMs ?? 30_000): Promise<ResponseBodies[K]> {
    const frame = await this.send(apiKey, apiVersion, body, true, timeoutMs);
    return decodeResponse(apiKey, apiVersion, frame!).body as ResponseBodies[K];
  }

  /** Sends a request that has no response (Produce with acks=0). */
  async sendOnly<K extends keyof RequestBodies & number>(apiKey: K, apiVersion: number, body: RequestBodies[K]): Promise<void> {
    await this.send(apiKey, apiVersion, body, false, 0);
  }

  private send(apiKey: number, apiVersion: number, body: unknown, expectResponse: boolean, timeoutMs: number): Promise<Buffer | null> {
    if (this.closedError) return Promise.reject(this.closedError);
    const correlationId = this.nextCorrelationId++;
    const bytes = encodeRequest(apiKey, apiVersion, correlationId, this.opts.clientId ?? 'kastor', body as never);
    if (!expectResponse) {
      this.socket.write(bytes);
      return Promise.resolve(null);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.inFlight.delete(correlationId);
        reject(new ConnectionError('REQUEST_TIMEOUT', `no response to request ${correlationId} (api key ${apiKey}) from ${this.address} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.inFlight.set(correlationId, { apiKey, apiVersion, resolve, reject, timer });
      this.socket.write(bytes);
    });
  }

  private onFrame(frame: Buffer): void {
    const correlationId = frame.readInt32BE(0);
    const pending = this.inFlight.get(correlationId);
    if (!pending) return; // a response to a request that timed out
    this.inFlight.delete(correlationId);
    clearTimeout(pending.timer);
    pending.resolve(frame);
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    for (const p of this.inFlight.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.inFlight.clear();
    this.socket.destroy();
  }

  close(): void {
    this.fail(new ConnectionError('CONNECTION_CLOSED', `connection to ${this.address} was closed by the client`));
  }
}

const isIp = (host: string) => /^[\d.]+$/.test(host) || host.includes(':');
