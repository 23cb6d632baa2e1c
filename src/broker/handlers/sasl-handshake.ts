// SaslHandshake (API 17): the client names its mechanism; the answer lists the enabled ones. v0 means the
// exchange then runs as bare size-prefixed tokens (Kafka 0.10.0, still kafka-python 2.0's way); v1 means
// SaslAuthenticate requests. On a listener without SASL the request is out of place (ILLEGAL_SASL_STATE).
import type { SaslHandshakeRequest, SaslHandshakeResponse } from '../../protocol/generated/sasl-handshake.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { RequestContext } from '../request-router.ts';
import { chooseMechanism } from '../../security/sasl-server.ts';

export function saslHandshake(req: SaslHandshakeRequest, ctx: RequestContext): SaslHandshakeResponse {
  const sasl = ctx.conn.security?.sasl;
  if (!sasl) {
    ctx.conn.closeAfterResponses?.('SaslHandshake on a listener without SASL');
    return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
  }
  const mechanisms = [...sasl.settings.mechanisms];
  if (chooseMechanism(sasl, req.mechanism, ctx.apiVersion) === 'unsupported') {
    ctx.conn.closeAfterResponses?.(`unsupported SASL mechanism ${req.mechanism}`);
    return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms };
  }
  return { errorCode: ErrorCode.NONE, mechanisms };
}
