// The client side of SASL on a fresh connection, as Kafka clients run it after ApiVersions: SaslHandshake v1
// names the mechanism, then SaslAuthenticate carries PLAIN's one message or SCRAM's two rounds (the server's
// final message checked too, so a broker that does not hold the credential is not believed). A refusal is a
// SaslAuthenticationError with the broker's message; the connection is closed by the broker after it.
import type { BrokerConnection } from './broker-connection.ts';
import { ApiKey } from '../protocol/generated/api-keys.ts';
import { ERRORS } from '../protocol/generated/errors.ts';
import { ScramClientExchange } from '../security/scram.ts';
import { nodeSecurityCrypto } from '../runtime/node/node-security-crypto.ts';
import type { ClientSaslMechanism } from '../security/sasl-mechanisms.ts';

export interface SaslOptions {
  /** Kastor's client fetches no OAuth tokens, so it speaks no OAUTHBEARER. */
  mechanism: ClientSaslMechanism;
  username: string;
  password: string;
}

export class SaslAuthenticationError extends Error {
  readonly retriable = false;
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'SaslAuthenticationError';
  }
}

export async function authenticate(conn: BrokerConnection, versions: Map<number, [number, number]>, sasl: SaslOptions): Promise<void> {
  const range = versions.get(ApiKey.SaslAuthenticate);
  if (!range || !versions.has(ApiKey.SaslHandshake)) throw new SaslAuthenticationError(-1, `${conn.address} does not serve SASL (no SaslHandshake/SaslAuthenticate in ApiVersions)`);
  const hs = await conn.request(ApiKey.SaslHandshake, 1, { mechanism: sasl.mechanism });
  if (hs.errorCode !== 0) {
    throw new SaslAuthenticationError(hs.errorCode, `${conn.address} refused SASL mechanism ${sasl.mechanism} (${ERRORS[hs.errorCode]?.name ?? hs.errorCode}; enabled: ${hs.mechanisms.join(', ') || 'none'})`);
  }
  const version = Math.min(range[1], 2);
  const step = async (token: string | Buffer): Promise<Buffer> => {
    const res = await conn.request(ApiKey.SaslAuthenticate, version, { authBytes: Buffer.from(token) });
    if (res.errorCode !== 0) throw new SaslAuthenticationError(res.errorCode, `${conn.address}: ${res.errorMessage ?? ERRORS[res.errorCode]?.name ?? res.errorCode}`);
    return res.authBytes;
  };
  if (sasl.mechanism === 'PLAIN') {
    await step(`\0${sasl.username}\0${sasl.password}`);
    return;
  }
  const scram = new ScramClientExchange(nodeSecurityCrypto, sasl.mechanism, sasl.username, sasl.password);
  const serverFirst = await step(scram.clientFirstMessage());
  const serverFinal = await step(await scram.clientFinalMessage(serverFirst.toString('utf8')));
  if (!scram.verifyServerFinal(serverFinal.toString('utf8'))) throw new SaslAuthenticationError(58, `${conn.address} did not prove it holds the SCRAM credential of ${sasl.username}`);
}
