// The broker's side of SASL on one connection (Kafka's SaslServerAuthenticator): SaslHandshake picks the
// mechanism, SaslAuthenticate (or, after a v0 handshake, bare tokens) carries the mechanism's messages, and a
// completed exchange makes the connection's principal User:<name> for connections.max.reauth.ms (KIP-368: the
// client re-authenticates on the same connection before that, or its next request closes it).
//
// PLAIN's single message is `authzid NUL user NUL password`; SCRAM takes two rounds (scram.ts); OAUTHBEARER one
// message with a JWT (oauthbearer.ts), its session ending with the token when connections.max.reauth.ms is set
// (Kafka's min of the two), and a refused token first answered with Kafka's JSON challenge. A failure is
// answered only after the address's growing delay (auth-failure-throttle.ts), with Kafka's message, and the
// connection is closed after the answer.
import type { Clock } from '../runtime/clock.ts';
import type { Logger } from '../util/logger.ts';
import type { ConnectionSecurity, SaslState } from './connection-security.ts';
import type { ScramCredentialStore } from './scram-credentials.ts';
import { passwordMatches, parseClientFirst, ScramFailure, ScramServerExchange } from './scram.ts';
import { SCRAM_MECHANISMS, type SaslMechanism, type ScramMechanism } from './sasl-mechanisms.ts';
import { INVALID_TOKEN_JSON, parseClientResponse, TokenRefused } from './oauthbearer.ts';

export type SaslStep =
  | { ok: true; token: Buffer; done: boolean; sessionLifetimeMs: number }
  | { ok: false; message: string };

export interface SaslDeps {
  credentials: ScramCredentialStore;
  clock: Clock;
  logger: Logger;
}

/** Runs one token of the exchange the handshake chose; a failure has waited its delay already. */
export async function saslStep(deps: SaslDeps, sec: ConnectionSecurity, sasl: SaslState, token: Buffer): Promise<SaslStep> {
  const mechanism = sasl.mechanism!;
  let reply: { token: Buffer; user: string | null; expiresAtMs?: number };
  try {
    if (sasl.oauthError !== null) {
      // The client's answer to the JSON challenge (a lone ^A): the exchange fails with that JSON.
      const message = sasl.oauthError;
      sasl.oauthError = null;
      if (token.length !== 1 || token[0] !== 1) deps.logger.warn('OAUTHBEARER client answered the error challenge with something other than ^A', { listener: sec.listener, remote: sec.peerHost });
      return { ok: false, message };
    }
    reply = mechanism === 'PLAIN' ? await plain(deps, sec, token) : mechanism === 'OAUTHBEARER' ? await oauthbearer(deps, sasl, token) : await scram(deps, sec, sasl, mechanism, token);
  } catch (err) {
    sasl.scram = null;
    const why = err instanceof ScramFailure || err instanceof TokenRefused ? err.message : 'invalid credentials';
    const delayMs = sasl.settings.throttle.failed(sec.peerHost, deps.clock.wall());
    deps.logger.warn('SASL authentication failed', { listener: sec.listener, remote: sec.peerHost, mechanism, reason: why, delayMs });
    if (!(err instanceof ScramFailure) && !(err instanceof LoginRefused) && !(err instanceof TokenRefused)) deps.logger.error('SASL authentication broke', { error: err as Error });
    await new Promise<void>((resolve) => deps.clock.setTimeout(resolve, delayMs));
    if (mechanism === 'OAUTHBEARER') {
      sasl.oauthError = INVALID_TOKEN_JSON;
      return { ok: true, token: Buffer.from(INVALID_TOKEN_JSON), done: false, sessionLifetimeMs: 0 };
    }
    return { ok: false, message: `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}` };
  }
  if (reply.user === null) return { ok: true, token: reply.token, done: false, sessionLifetimeMs: 0 };
  const principal = `User:${reply.user}`;
  if (sasl.authenticated && sec.principal !== principal) {
    // KIP-368: re-authentication may not change who the connection is.
    return { ok: false, message: `re-authentication as ${principal} on a connection of ${sec.principal} is not allowed` };
  }
  sec.principal = principal;
  sasl.authenticated = true;
  sasl.scram = null;
  const now = deps.clock.wall();
  const lifetime = sasl.settings.reauthMs > 0 && reply.expiresAtMs !== undefined ? Math.max(1, Math.min(sasl.settings.reauthMs, reply.expiresAtMs - now)) : sasl.settings.reauthMs;
  sasl.expiresAt = lifetime > 0 ? now + lifetime : null;
  sasl.settings.throttle.succeeded(sec.peerHost);
  deps.logger.info('SASL authenticated', { listener: sec.listener, remote: sec.peerHost, mechanism, principal });
  return { ok: true, token: reply.token, done: true, sessionLifetimeMs: lifetime };
}

class LoginRefused extends Error {}

async function plain(deps: SaslDeps, sec: ConnectionSecurity, token: Buffer): Promise<{ token: Buffer; user: string }> {
  const parts = token.toString('utf8').split('\0');
  if (parts.length !== 3) throw new ScramFailure('malformed PLAIN message');
  const [authzid, user, password] = parts as [string, string, string];
  if (authzid !== '' && authzid !== user) throw new ScramFailure('authorization id differs from the user name');
  const creds = await deps.credentials.get(user);
  // Any SCRAM credential of the user proves the password; the cheaper hash first.
  const mechanism = SCRAM_MECHANISMS.find((m) => creds[m]);
  if (!mechanism || !(await passwordMatches(sec.crypto, mechanism, creds[mechanism]!, password))) throw new LoginRefused();
  return { token: Buffer.alloc(0), user };
}

/** OAUTHBEARER's one message: a valid token's subject, and its expiry; an authzid must name that subject. */
async function oauthbearer(deps: SaslDeps, sasl: SaslState, token: Buffer): Promise<{ token: Buffer; user: string; expiresAtMs: number }> {
  const validator = sasl.settings.oauthbearer;
  if (!validator) throw new TokenRefused('OAUTHBEARER is not configured on this listener');
  const message = parseClientResponse(token);
  const valid = await validator.validate(message.token);
  if (message.authzid !== '' && message.authzid !== valid.name) throw new TokenRefused(`the authorization id ${message.authzid} is not the token's principal ${valid.name}`);
  deps.logger.debug('OAUTHBEARER token accepted', { principal: valid.name, scope: valid.scope.join(' '), expiresAt: new Date(valid.expiresAtMs).toISOString() });
  return { token: Buffer.alloc(0), user: valid.name, expiresAtMs: valid.expiresAtMs };
}

async function scram(deps: SaslDeps, sec: ConnectionSecurity, sasl: SaslState, mechanism: ScramMechanism, token: Buffer): Promise<{ token: Buffer; user: string | null }> {
  if (!sasl.scram) {
    const first = parseClientFirst(token.toString('utf8'));
    const credential = (await deps.credentials.get(first.user))[mechanism];
    if (!credential) throw new LoginRefused();
    sasl.scram = new ScramServerExchange(sec.crypto, mechanism, first, credential);
    return { token: Buffer.from(sasl.scram.serverFirstMessage()), user: null };
  }
  const final = sasl.scram.finish(token.toString('utf8'));
  return { token: Buffer.from(final), user: sasl.scram.first.user };
}

/** SaslHandshake: the mechanism for the exchange that follows; an error code, or 0. */
export function chooseMechanism(sasl: SaslState, mechanism: string, version: number): 'ok' | 'unsupported' {
  if (!sasl.settings.mechanisms.includes(mechanism as SaslMechanism)) return 'unsupported';
  if (mechanism === 'OAUTHBEARER' && !sasl.settings.oauthbearer) return 'unsupported';
  sasl.mechanism = mechanism as SaslMechanism;
  sasl.rawTokens = version === 0;
  sasl.scram = null;
  sasl.oauthError = null;
  return 'ok';
}

/**
 * Why a request may not be served on this connection yet (Kafka closes the connection for it), or null: before
 * authentication only ApiVersions and the SASL APIs; after the session expired only the SASL APIs.
 */
export function refusal(sec: ConnectionSecurity | undefined, apiKey: number, now: number, keys: { apiVersions: number; saslHandshake: number; saslAuthenticate: number }): string | null {
  const sasl = sec?.sasl;
  if (!sasl) return null;
  if (apiKey === keys.saslHandshake || apiKey === keys.saslAuthenticate) return null;
  if (!sasl.authenticated) return apiKey === keys.apiVersions ? null : 'request before SASL authentication completed';
  if (sasl.expiresAt !== null && now >= sasl.expiresAt) return 'SASL session expired (connections.max.reauth.ms) without re-authentication';
  return null;
}
