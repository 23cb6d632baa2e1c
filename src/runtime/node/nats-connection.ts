// Opens Kastor's NATS connection with the settings NATS-NOTES.md measured: no async stack traces (a
// per-request Error allocation costs ~40% of JetStream publish throughput), reconnect forever (the default
// gives up after ~20 s and would leave a broker deaf to the cluster), a short reconnect wait (a restarted
// server is back within ~250 ms), and a ping every few seconds so a silently dead link is noticed in
// seconds rather than the default two minutes.
//
// The connection is a value handed to whoever needs it (brokers, the metadata store); nothing here keeps
// a module-level connection.
//
// A secured bus (src/security/nats-authorization.ts): the login and TLS files are read here, at connect, so a
// missing or malformed file is a clear error before any connection attempt, and a refused login is told apart
// from an unreachable server (retrying a wrong password would only delay the failure).
import { readFileSync } from 'node:fs';
import { AuthorizationError, connect, nkeyAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { parseNatsCredentials, type NatsClientSecurity } from '../../security/nats-credentials.ts';

export type { NatsConnection } from '@nats-io/transport-node';

export interface ConnectNatsOptions {
  servers: string | string[];
  /** Client name shown by the server's monitoring (e.g. `kastor-broker-1`). */
  name?: string;
  /** Escape hatch for tests and fault injection (e.g. `ignoreClusterUpdates` behind a TCP proxy). */
  overrides?: Partial<ConnectionOptions>;
  /** The login and TLS settings of a secured NATS (none: an anonymous plaintext connection). */
  security?: NatsClientSecurity;
}

/** The first connection attempt failed: the servers named here were not reachable or refused us. */
export class NatsConnectError extends Error {
  readonly code = 'NATS_CONNECT_FAILED';
  readonly servers: string[];
  /** The server refused the login (Authorization Violation): no retry will change that. */
  readonly authFailed: boolean;
  constructor(servers: string[], cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`cannot connect to NATS at ${servers.join(', ')}: ${reason}`, { cause });
    this.name = 'NatsConnectError';
    this.servers = servers;
    this.authFailed = cause instanceof AuthorizationError;
  }
}

/** A credentials, nkey or certificate file of the NATS settings could not be read or is malformed. */
export class NatsSecurityFileError extends Error {
  readonly code = 'NATS_SECURITY_FILE';
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'NatsSecurityFileError';
  }
}

function readSecret(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new NatsSecurityFileError(file, `cannot read the ${what} ${file}: ${(err as { code?: string }).code ?? (err as Error).message}`, { cause: err });
  }
}

/** The connection options of the login and TLS settings; reads (and checks) the files now. */
export function natsSecurityOptions(security: NatsClientSecurity): Partial<ConnectionOptions> {
  const out: Partial<ConnectionOptions> = {};
  if (security.credentialsFile) {
    const file = security.credentialsFile;
    let login;
    try {
      login = parseNatsCredentials(readSecret(file, 'NATS credentials file'), file);
    } catch (err) {
      if (err instanceof NatsSecurityFileError) throw err;
      throw new NatsSecurityFileError(file, (err as Error).message, { cause: err });
    }
    if ('token' in login) out.token = login.token;
    else Object.assign(out, { user: login.user, pass: login.password });
  }
  if (security.nkeyFile) {
    const seed = readSecret(security.nkeyFile, 'NATS nkey seed file').split(/\s+/).find((w) => w.startsWith('SU'));
    if (!seed) throw new NatsSecurityFileError(security.nkeyFile, `${security.nkeyFile} holds no nkey user seed (a line starting with SU)`);
    out.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  if (security.tls) {
    const { caFile, certFile, keyFile } = security.tls;
    for (const [file, what] of [[caFile, 'NATS TLS CA file'], [certFile, 'NATS TLS certificate'], [keyFile, 'NATS TLS key']] as const) if (file) readSecret(file, what);
    out.tls = { caFile, ...(certFile ? { certFile, keyFile: keyFile ?? certFile } : {}) };
  }
  return out;
}

/** Settings NATS-NOTES.md recommends; exported so tests can assert them and tools can reuse them. */
export const KASTOR_NATS_DEFAULTS = {
  noAsyncTraces: true,
  maxReconnectAttempts: -1,
  reconnectTimeWait: 250,
  reconnectJitter: 100,
  pingInterval: 3_000,
  maxPingOut: 2,
  // A first connect should fail fast with a clear message instead of hanging a CLI or a test.
  timeout: 5_000,
} as const satisfies Partial<ConnectionOptions>;

export async function connectNats(opts: ConnectNatsOptions): Promise<NatsConnection> {
  const servers = Array.isArray(opts.servers) ? opts.servers : [opts.servers];
  const secured = opts.security ? natsSecurityOptions(opts.security) : {};
  try {
    return await connect({ ...KASTOR_NATS_DEFAULTS, servers, name: opts.name, ...secured, ...opts.overrides });
  } catch (err) {
    throw new NatsConnectError(servers, err);
  }
}

/**
 * Calls each registered callback every time `nc` came back after losing its server (one status watch per
 * connection however many register). Requests in flight across a reconnect are never answered (they time out).
 */
export function reconnectNotifier(nc: Pick<NatsConnection, 'status'>, onError: (err: unknown) => void = () => {}): (fn: () => void) => () => void {
  const listeners = new Set<() => void>();
  let watching = false;
  return (fn) => {
    if (!watching) {
      watching = true;
      void (async () => {
        for await (const s of nc.status()) if (s.type === 'reconnect') for (const l of [...listeners]) l();
      })().catch(onError);
    }
    listeners.add(fn);
    return () => void listeners.delete(fn);
  };
}
