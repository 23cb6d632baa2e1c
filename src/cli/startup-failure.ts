// The one line a service that could not start prints last on stderr: what went wrong and what to do, naming
// the flag of the command that was run (`kastor broker --listen`, `kastor dev --port-base`), so someone reading
// a terminal or `journalctl -u kastor` acts on it without reading the JSON log above it.
import { BrokerStartError } from '../runtime/node/startup-checks.ts';

/** The flags (or config keys) that set each thing a broker needs, as the command the user ran calls them. */
export interface StartupFlags {
  listen: string;
  data: string;
  nats: string;
  /** What sets the NATS login (default --nats-credentials / --nats-nkey). */
  natsLogin?: string;
}

export const BROKER_STARTUP_FLAGS: StartupFlags = { listen: '--listen', data: '--data', nats: '--nats' };

export function startupFailureLine(err: unknown, flags: StartupFlags = BROKER_STARTUP_FLAGS): string {
  if (!(err instanceof BrokerStartError)) return `cannot start: ${(err as Error)?.message ?? String(err)}`;
  const f = err.facts;
  switch (err.code) {
    case 'ADDRESS_IN_USE':
      return `${f.address} is in use — another Kafka or Kastor broker? stop it or choose another address with ${flags.listen}`;
    case 'ADDRESS_UNAVAILABLE':
      return `cannot listen on ${f.address}: ${f.reason} — choose another address with ${flags.listen}`;
    case 'DATA_DIR_UNWRITABLE':
      return `${err.message} — fix its permissions or choose another directory with ${flags.data}`;
    case 'NATS_UNREACHABLE':
      return `${err.message} — is nats-server running with JetStream there? check ${flags.nats}`;
    case 'NATS_AUTH_FAILED':
      return `${err.message} — check the NATS login given with ${flags.natsLogin ?? '--nats-credentials or --nats-nkey'} against the server's authorization`;
    case 'NATS_CREDENTIALS_INVALID':
      return `${err.message} — fix the file given with ${flags.natsLogin ?? '--nats-credentials, --nats-nkey or --nats-tls-*'}`;
    default:
      return `cannot start: ${err.message}`;
  }
}
