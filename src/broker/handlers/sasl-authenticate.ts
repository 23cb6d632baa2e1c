// SaslAuthenticate (API 36, KIP-152): one token of the SASL exchange the handshake chose (sasl-server.ts).
// A failure is SASL_AUTHENTICATION_FAILED with Kafka's message, and the connection closes after the answer;
// v1+ tells a successful client its session lifetime (KIP-368), before which it re-authenticates.
import type { SaslAuthenticateRequest, SaslAuthenticateResponse } from '../../protocol/generated/sasl-authenticate.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import type { RequestContext } from '../request-router.ts';
import { saslStep } from '../../security/sasl-server.ts';
import { CloseConnection } from '../request-handler.ts';
import { ScramCredentialStore } from '../../security/scram-credentials.ts';

export async function saslAuthenticate(svc: BrokerServices, req: SaslAuthenticateRequest, ctx: RequestContext): Promise<SaslAuthenticateResponse> {
  const sec = ctx.conn.security;
  const sasl = sec?.sasl;
  const fail = (errorCode: number, errorMessage: string): SaslAuthenticateResponse => {
    ctx.conn.closeAfterResponses?.(errorMessage);
    return { errorCode, errorMessage, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0n };
  };
  if (!sec || !sasl) return fail(ErrorCode.ILLEGAL_SASL_STATE, 'SaslAuthenticate on a listener without SASL');
  if (!sasl.mechanism || sasl.rawTokens) return fail(ErrorCode.ILLEGAL_SASL_STATE, 'SaslAuthenticate before a SaslHandshake v1');
  const step = await saslStep({ credentials: new ScramCredentialStore(svc.metadata), clock: svc.clock, logger: svc.logger }, sec, sasl, req.authBytes);
  if (!step.ok) return fail(ErrorCode.SASL_AUTHENTICATION_FAILED, step.message);
  return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: step.token, sessionLifetimeMs: BigInt(step.sessionLifetimeMs) };
}

/**
 * A bare token after a SaslHandshake v0 (no Kafka request header around it): answered with a bare token, or the
 * connection closed on failure, as Kafka's SaslServerAuthenticator does for such clients.
 */
export async function rawSaslToken(svc: BrokerServices, frame: Buffer, ctx: Pick<RequestContext, 'conn'>): Promise<Buffer> {
  const sec = ctx.conn.security!;
  const sasl = sec.sasl!;
  const step = await saslStep({ credentials: new ScramCredentialStore(svc.metadata), clock: svc.clock, logger: svc.logger }, sec, sasl, frame);
  if (!step.ok) throw new CloseConnection(step.message, { principal: sec.principal });
  if (step.done) sasl.rawTokens = false;
  const out = Buffer.alloc(4 + step.token.length);
  out.writeInt32BE(step.token.length, 0);
  step.token.copy(out, 4);
  return out;
}
