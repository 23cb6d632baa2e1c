// The flags a client command takes to reach a secured listener, as Kafka's client properties name them:
// --security-protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), --sasl-mechanism and --sasl-username; the SASL
// password comes from KASTOR_SASL_PASSWORD, never a flag (a flag shows in `ps`); --ssl-ca (PEM) to check the
// broker's certificate, --ssl-cert/--ssl-key to present one (mTLS).
import { readFileSync } from 'node:fs';
import type { ClusterOptions } from '../client/cluster.ts';
import { UsageError, type FlagSpecs } from './args.ts';
import { SECURITY_PROTOCOLS, usesSasl, usesTls, type SecurityProtocol } from '../security/listeners.ts';
import { CLIENT_SASL_MECHANISMS, type ClientSaslMechanism } from '../security/sasl-mechanisms.ts';

export const CLIENT_SECURITY_FLAGS = {
  'security-protocol': { type: 'string', description: 'security.protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL', default: 'PLAINTEXT', value: 'PROTOCOL' },
  'sasl-mechanism': { type: 'string', description: 'sasl.mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (the password: KASTOR_SASL_PASSWORD)', default: 'SCRAM-SHA-512', value: 'MECHANISM' },
  'sasl-username': { type: 'string', description: 'the SASL user to log in as', value: 'USER' },
  'ssl-ca': { type: 'string', description: "PEM CA certificates to check the broker's certificate against (default: the system's)", value: 'FILE' },
  'ssl-cert': { type: 'string', description: 'PEM client certificate (mTLS)', value: 'FILE' },
  'ssl-key': { type: 'string', description: 'PEM key of --ssl-cert', value: 'FILE' },
} satisfies FlagSpecs;

type Flags = { [K in keyof typeof CLIENT_SECURITY_FLAGS]?: string };

export function clientSecurityOptions(f: Flags, env: NodeJS.ProcessEnv): Pick<ClusterOptions, 'tls' | 'sasl'> {
  const protocol = (f['security-protocol'] ?? 'PLAINTEXT').toUpperCase() as SecurityProtocol;
  if (!SECURITY_PROTOCOLS.includes(protocol)) throw new UsageError(`--security-protocol must be one of ${SECURITY_PROTOCOLS.join(', ')}, got "${f['security-protocol']}"`);
  const read = (flag: 'ssl-ca' | 'ssl-cert' | 'ssl-key'): Buffer | undefined => {
    const file = f[flag];
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new UsageError(`--${flag} ${file}: cannot read it (${(err as { code?: string }).code ?? (err as Error).message})`);
    }
  };
  const out: Pick<ClusterOptions, 'tls' | 'sasl'> = {};
  if (usesTls(protocol)) out.tls = { ca: read('ssl-ca'), cert: read('ssl-cert'), key: read('ssl-key') ?? read('ssl-cert') };
  if (usesSasl(protocol)) {
    const mechanism = (f['sasl-mechanism'] ?? 'SCRAM-SHA-512').toUpperCase() as ClientSaslMechanism;
    if (!CLIENT_SASL_MECHANISMS.includes(mechanism)) throw new UsageError(`--sasl-mechanism must be one of ${CLIENT_SASL_MECHANISMS.join(', ')}, got "${f['sasl-mechanism']}"`);
    if (!f['sasl-username']) throw new UsageError(`--security-protocol ${protocol} needs --sasl-username (and the password in KASTOR_SASL_PASSWORD)`);
    const password = env.KASTOR_SASL_PASSWORD;
    if (password === undefined) throw new UsageError(`--security-protocol ${protocol}: set KASTOR_SASL_PASSWORD to the password of ${f['sasl-username']}`);
    out.sasl = { mechanism, username: f['sasl-username'], password };
  }
  return out;
}
