// The security state of one client connection: which listener it came in on (so Metadata answers that
// listener's addresses), its principal (User:ANONYMOUS, the subject of its TLS client certificate, or the SASL
// user), and where its SASL exchange stands. The Node listener makes one per connection
// (src/runtime/node/kafka-listener.ts); a connection without one (the in-process simulator) is an
// unauthenticated PLAINTEXT client.
import { usesSasl, type SecurityProtocol } from './listeners.ts';
import type { SaslMechanism } from './sasl-mechanisms.ts';
import type { SecurityCrypto } from './security-crypto.ts';
import type { AuthFailureThrottle } from './auth-failure-throttle.ts';
import type { ScramServerExchange } from './scram.ts';
import type { OAuthBearerValidator } from './oauthbearer.ts';

export const ANONYMOUS = 'User:ANONYMOUS';

export interface SaslSettings {
  mechanisms: readonly SaslMechanism[];
  /** connections.max.reauth.ms; 0: sessions do not expire. */
  reauthMs: number;
  throttle: AuthFailureThrottle;
  /** What checks OAUTHBEARER tokens; null: OAUTHBEARER is not offered. */
  oauthbearer?: OAuthBearerValidator | null;
}

export interface ConnectionSecurity {
  readonly listener: string;
  readonly protocol: SecurityProtocol;
  /** The peer's address without its port: what failed logins are counted by. */
  readonly peerHost: string;
  principal: string;
  /** What SCRAM and the credential APIs compute with. */
  readonly crypto: SecurityCrypto;
  /** Present on SASL listeners. */
  readonly sasl: SaslState | null;
}

export interface SaslState {
  readonly settings: SaslSettings;
  /** The mechanism chosen by the last SaslHandshake; null before one. */
  mechanism: SaslMechanism | null;
  /** SaslHandshake v0 without SaslAuthenticate: the next frames are bare SASL tokens (Kafka 0.10.0's form). */
  rawTokens: boolean;
  /** A SCRAM exchange past its first message. */
  scram: ScramServerExchange | null;
  /** OAUTHBEARER: the JSON error sent as a challenge for a refused token, awaiting the client's ^A (KIP-255). */
  oauthError: string | null;
  authenticated: boolean;
  /** Wall-clock ms when the session ends (KIP-368); null: never. */
  expiresAt: number | null;
}

export function connectionSecurity(listener: string, protocol: SecurityProtocol, peerHost: string, principal: string, crypto: SecurityCrypto, sasl: SaslSettings | null): ConnectionSecurity {
  return {
    listener,
    protocol,
    peerHost,
    principal,
    crypto,
    sasl: usesSasl(protocol) && sasl ? { settings: sasl, mechanism: null, rawTokens: false, scram: null, oauthError: null, authenticated: false, expiresAt: null } : null,
  };
}
