// Why a broker process could not start, as a typed error an operator can act on, and the checks that find it
// before anything else is opened: the Kafka listener's address is free, the data directory can be written,
// NATS answers within its retry budget. The checks run before the broker connects, so a taken port or a
// read-only disk is reported in milliseconds instead of after a NATS round trip, and each failure names the
// address, directory or servers involved. (A port taken between the check and the broker's own bind is still
// reported the same way: node-broker.ts maps the listener's error too.)
import { constants } from 'node:fs';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, NatsConnectError, NatsSecurityFileError, type ConnectNatsOptions } from './nats-connection.ts';

export type BrokerStartFailure =
  /** Another process listens on the Kafka address. */
  | 'ADDRESS_IN_USE'
  /** The address cannot be bound here (not a local address, or a privileged port). */
  | 'ADDRESS_UNAVAILABLE'
  | 'DATA_DIR_UNWRITABLE'
  | 'NATS_UNREACHABLE'
  /** NATS refused the broker's login (wrong or missing credentials). */
  | 'NATS_AUTH_FAILED'
  /** A NATS credentials, nkey or TLS file cannot be read or is malformed. */
  | 'NATS_CREDENTIALS_INVALID'
  /** Anything else the broker reported while starting. */
  | 'START_FAILED';

export class BrokerStartError extends Error {
  constructor(
    readonly code: BrokerStartFailure,
    message: string,
    readonly facts: { address?: string; dir?: string; servers?: string[]; waitedMs?: number; reason?: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BrokerStartError';
  }
}

export function formatAddress(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** A bind error of the Kafka listener (EADDRINUSE, EACCES, EADDRNOTAVAIL) as a BrokerStartError; null for any other error. */
export function listenError(err: unknown, host: string, port: number): BrokerStartError | null {
  const code = (err as { code?: string })?.code;
  const address = formatAddress(host, port);
  if (code === 'EADDRINUSE') return new BrokerStartError('ADDRESS_IN_USE', `${address} is in use`, { address }, { cause: err });
  if (code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    const reason = code === 'EACCES' ? 'permission denied' : 'not an address of this host';
    return new BrokerStartError('ADDRESS_UNAVAILABLE', `cannot listen on ${address}: ${reason}`, { address, reason }, { cause: err });
  }
  return null;
}

/** Binds and releases host:port (port 0 always works). */
export async function checkListenAddress(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => resolve());
    });
  } catch (err) {
    throw listenError(err, host, port) ?? err;
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Creates the data directory when missing and proves a file can be written in it. */
export async function checkDataDir(dir: string): Promise<void> {
  const probe = join(dir, `.kastor-write-check-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
    await writeFile(probe, '');
    await rm(probe, { force: true });
  } catch (err) {
    const code = (err as { code?: string })?.code ?? 'error';
    const reason = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'read-only file system' : code === 'ENOTDIR' || code === 'EEXIST' ? 'not a directory' : (err as Error).message;
    throw new BrokerStartError('DATA_DIR_UNWRITABLE', `data directory ${dir} is not writable: ${reason}`, { dir, reason }, { cause: err });
  }
}

/**
 * Connects to NATS, trying again every `retryMs` until `budgetMs` has passed: a broker started beside its NATS
 * server (a service manager starting both, a host booting) waits for it, and one pointed at the wrong place
 * gives up with NATS_UNREACHABLE instead of hanging. Once connected the connection reconnects forever.
 */
export async function connectNatsWithin(opts: ConnectNatsOptions & { budgetMs: number; retryMs?: number }): Promise<NatsConnection> {
  const started = Date.now();
  const retryMs = opts.retryMs ?? 250;
  const servers = Array.isArray(opts.servers) ? opts.servers : [opts.servers];
  for (let attempt = 1; ; attempt++) {
    const left = opts.budgetMs - (Date.now() - started);
    try {
      return await connectNats({ ...opts, overrides: { timeout: Math.max(500, Math.min(5_000, left)), ...opts.overrides } });
    } catch (err) {
      if (err instanceof NatsSecurityFileError) throw new BrokerStartError('NATS_CREDENTIALS_INVALID', err.message, { servers, reason: err.message }, { cause: err });
      if (err instanceof NatsConnectError && err.authFailed) {
        const reason = (err.cause as Error).message;
        throw new BrokerStartError('NATS_AUTH_FAILED', `NATS at ${servers.join(', ')} refused the broker's login (${reason})`, { servers, reason }, { cause: err });
      }
      const waitedMs = Date.now() - started;
      if (waitedMs + retryMs >= opts.budgetMs) {
        const reason = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
        throw new BrokerStartError('NATS_UNREACHABLE', `cannot reach NATS at ${servers.join(', ')} after ${attempt} attempts in ${Math.round(waitedMs / 100) / 10} s: ${reason}`, { servers, waitedMs, reason }, { cause: err });
      }
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }
}
