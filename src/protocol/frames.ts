// Request and response frames: the header (RequestHeader v0-v2, ResponseHeader v0-v1) around a body.
//
// A frame here is the bytes after the 4-byte size prefix for decoding, and the whole size-prefixed message
// for encoding (ready for the socket). Header versions follow Kafka's rules: flexible API versions use
// request header v2 and response header v1, except that ApiVersions always answers with response header v0
// (KIP-511: a client that sent a version the broker does not know must still parse the answer), and
// ControlledShutdown v0 used request header v0.
import { ApiKey, CODECS, FLEXIBLE_FROM, SUPPORTED_VERSIONS } from './generated/index.ts';
import type { RequestBodies, ResponseBodies } from './generated/index.ts';
import { decodeRequestHeader, encodeRequestHeader } from './generated/request-header.ts';
import { decodeResponseHeader, encodeResponseHeader } from './generated/response-header.ts';
import { ProtocolError } from './protocol-error.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

export interface RequestHeaderInfo {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  /** Null when the client sent none (and always for request header v0). */
  clientId: string | null;
}

/** A decoded request; narrow on `apiKey` to get the typed body. */
export type DecodedRequest = {
  [K in keyof RequestBodies]: { apiKey: K; header: RequestHeaderInfo; body: RequestBodies[K]; trailingBytes: number };
}[keyof RequestBodies];

type BodyOf<M, K extends number> = K extends keyof M ? M[K] : unknown;

function isFlexible(apiKey: number, apiVersion: number): boolean {
  const from = FLEXIBLE_FROM[apiKey];
  return from !== undefined && from !== null && apiVersion >= from;
}

export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === ApiKey.ControlledShutdown && apiVersion === 0) return 0;
  return isFlexible(apiKey, apiVersion) ? 2 : 1;
}

export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === ApiKey.ApiVersions) return 0;
  return isFlexible(apiKey, apiVersion) ? 1 : 0;
}

/** apiKey, apiVersion and correlationId: the first 8 bytes of every request header version. */
export function peekRequestHeader(frame: Buffer): { apiKey: number; apiVersion: number; correlationId: number } {
  if (frame.length < 8) throw new ProtocolError('MALFORMED_FRAME', `request of ${frame.length} bytes is shorter than a header`, { position: 0 });
  return { apiKey: frame.readInt16BE(0), apiVersion: frame.readInt16BE(2), correlationId: frame.readInt32BE(4) };
}

/** Throws UNSUPPORTED_API_KEY / UNSUPPORTED_VERSION (carrying the header facts) for what Kastor does not serve. */
function checkServed(apiKey: number, apiVersion: number, correlationId: number): void {
  const range = SUPPORTED_VERSIONS[apiKey];
  const facts = { apiKey, apiVersion, correlationId };
  if (!range || !CODECS[apiKey]) throw new ProtocolError('UNSUPPORTED_API_KEY', `API key ${apiKey} is not served`, facts);
  if (apiVersion < range.min || apiVersion > range.max) {
    throw new ProtocolError('UNSUPPORTED_VERSION', `API key ${apiKey} version ${apiVersion} is outside ${range.min}-${range.max}`, facts);
  }
}

/**
 * Decodes a request frame (without its size prefix). Every failure is a ProtocolError.
 *
 * Bytes after the body are not an error: Apache Kafka reads what the schema defines and ignores the rest
 * (RequestContext.parseRequest never checks for a remainder), and clients rely on it — librdkafka since 2.1
 * reserves 4 bytes for the topic count of an all-topics Metadata v9+ request, writes a 1-byte null and sends
 * the 3 bytes it did not use after the body. `trailingBytes` says how many there were, for a debug log.
 */
export function decodeRequest(frame: Buffer): DecodedRequest {
  const { apiKey, apiVersion, correlationId } = peekRequestHeader(frame);
  checkServed(apiKey, apiVersion, correlationId);
  const r = new Reader(frame);
  try {
    const h = decodeRequestHeader(r, requestHeaderVersion(apiKey, apiVersion));
    const body = CODECS[apiKey]!.request.decode(r, apiVersion);
    const header = { apiKey, apiVersion, correlationId, clientId: h.clientId ?? null };
    return { apiKey, header, body, trailingBytes: r.remaining } as DecodedRequest;
  } catch (err) {
    if (err instanceof ProtocolError) {
      throw new ProtocolError(err.code, err.detail, { position: err.position, apiKey, apiVersion, correlationId }, { cause: err });
    }
    // Anything else is a codec bug met by hostile input; it still must not escape as a foreign error.
    throw new ProtocolError('MALFORMED_FRAME', `request failed to decode: ${String(err)}`, { apiKey, apiVersion, correlationId }, { cause: err });
  }
}

/** Encodes a response with its size prefix, ready for the socket. */
export function encodeResponse<K extends number>(apiKey: K, apiVersion: number, correlationId: number, body: BodyOf<ResponseBodies, K>): Buffer {
  const codecs = CODECS[apiKey];
  if (!codecs) throw new ProtocolError('UNSUPPORTED_API_KEY', `API key ${apiKey} is not served`, { apiKey, apiVersion, correlationId });
  const w = new Writer();
  w.strict = false; // fields an older version lacks are left out of a response (see Writer.strict)
  w.int32(0); // size, patched below
  encodeResponseHeader(w, responseHeaderVersion(apiKey, apiVersion), { correlationId });
  codecs.response.encode(w, apiVersion, body);
  return withSize(w.finish());
}

/** Encodes a request with its size prefix (for Kastor's own client and for tests). */
export function encodeRequest<K extends number>(
  apiKey: K,
  apiVersion: number,
  correlationId: number,
  clientId: string | null,
  body: BodyOf<RequestBodies, K>,
): Buffer {
  const codecs = CODECS[apiKey];
  if (!codecs) throw new ProtocolError('UNSUPPORTED_API_KEY', `API key ${apiKey} is not served`, { apiKey, apiVersion, correlationId });
  const w = new Writer();
  w.int32(0);
  encodeRequestHeader(w, requestHeaderVersion(apiKey, apiVersion), { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId });
  codecs.request.encode(w, apiVersion, body);
  return withSize(w.finish());
}

/** Decodes a response frame (without its size prefix) of a request sent at `apiVersion`. */
export function decodeResponse<K extends number>(apiKey: K, apiVersion: number, frame: Buffer): { correlationId: number; body: BodyOf<ResponseBodies, K> } {
  const codecs = CODECS[apiKey];
  if (!codecs) throw new ProtocolError('UNSUPPORTED_API_KEY', `API key ${apiKey} is not served`, { apiKey, apiVersion });
  const r = new Reader(frame);
  const h = decodeResponseHeader(r, responseHeaderVersion(apiKey, apiVersion));
  const body = codecs.response.decode(r, apiVersion) as BodyOf<ResponseBodies, K>;
  r.expectEnd('the response body');
  return { correlationId: h.correlationId, body };
}

function withSize(out: Buffer): Buffer {
  out.writeInt32BE(out.length - 4, 0);
  return out;
}
