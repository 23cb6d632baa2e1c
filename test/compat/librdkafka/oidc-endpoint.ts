// The OAuth/OIDC identity provider 0126 (sasl.oauthbearer.method=oidc) talks to, in place of trivup's
// OauthbearerOIDCApp: an HTTP server on 127.0.0.1 (a port the OS picks) that issues RS256 JWTs signed with an RSA
// key made at start, and serves that key as the JWKS the brokers check tokens against
// (--sasl-oauthbearer-jwks-endpoint-url). What the suite reads from trivup (LibrdkafkaTestApp.py) and what the
// test expects of each URL:
//   POST /retrieve            VALID_OIDC_URL and the token endpoint in test.conf. client_credentials (KIP-768):
//                             HTTP Basic client id and secret, a known scope; or the jwt-bearer grant (RFC 7523):
//                             an assertion signed by the client's own key (OAUTHBEARER_CLIENT_PRIVATE_KEY*).
//   GET  /retrieve?...        Azure IMDS (sasl.oauthbearer.metadata.authentication.type=azure_imds): the header
//                             Metadata: true and the query's api-version, resource and client_id, each required.
//   POST /retrieve/expire     EXPIRED_TOKEN_OIDC_URL: a token that expired minutes ago (past the brokers' 30 s skew).
//   POST /retrieve/badformat  INVALID_OIDC_URL: a token whose payload was changed after it was signed; it still
//                             parses, so only the brokers' signature check refuses it.
//   GET  /keys                the JWKS.
// A token says who asked in both sub (service-account-<client id>) and client_id, the claims 0126's
// sasl.oauthbearer.sub.claim.name variations read; it lives TOKEN_LIFETIME_S, short enough that the client
// refreshes it during the test's 5 s wait, as trivup's first token server did.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const TOKEN_LIFETIME_S = 5;
/** Scopes a client may ask for (test.conf asks for "test"; 0126's invalid-scope variation for "invalid_scope"). */
const VALID_SCOPES = ['test', 'test-scope'];
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const KID = 'kastor-suite-oidc';
const CLIENT_ID = 'librdkafka-suite';

export interface OidcEndpoint {
  /** The brokers' --sasl-oauthbearer-* flags: the JWKS, and the audience and issuer every token carries. */
  brokerArgs: string[];
  /** test.conf's OIDC lines (after security.protocol and sasl.mechanism). */
  confLines: string[];
  /** The variables 0126 reads. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** A request the provider answers with an OAuth error (RFC 6749 5.2: error and error_description). */
class Refused extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    description: string,
  ) {
    super(description);
  }
}

function b64json(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

/** A compact JWS of claims, RS256 with key. */
function signJwt(claims: Record<string, unknown>, key: KeyObject, kid: string): string {
  const body = `${b64json({ alg: 'RS256', typ: 'JWT', kid })}.${b64json(claims)}`;
  return `${body}.${sign('sha256', Buffer.from(body), key).toString('base64url')}`;
}

/** The claims of a jwt-bearer assertion signed (RS256) by the client's key, or why it is refused. */
function checkAssertion(assertion: string, clientKey: KeyObject): Record<string, unknown> {
  const parts = assertion.split('.');
  if (parts.length !== 3) throw new Refused(400, 'invalid_grant', 'the assertion is not a signed JWT');
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new Refused(400, 'invalid_grant', 'the assertion is not base64url JSON');
  }
  // The client is registered with an RSA key: an assertion that says ES256 is not one of its signatures.
  if (header.alg !== 'RS256') throw new Refused(400, 'invalid_grant', `the assertion's algorithm ${String(header.alg)} is not the client's (RS256)`);
  if (!verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), clientKey, Buffer.from(parts[2]!, 'base64url'))) throw new Refused(400, 'invalid_grant', 'the assertion signature is not valid');
  const now = Date.now() / 1000;
  if (typeof claims.exp !== 'number' || claims.exp <= now) throw new Refused(400, 'invalid_grant', 'the assertion has expired (or has no exp)');
  if (typeof claims.nbf === 'number' && claims.nbf > now + 30) throw new Refused(400, 'invalid_grant', 'the assertion is not valid yet');
  if (typeof claims.sub !== 'string' || claims.sub === '') throw new Refused(400, 'invalid_grant', 'the assertion has no sub');
  return claims;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
      if (body.length > 1 << 20) req.destroy(new Error('request body over 1 MiB'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * Starts the identity provider; its client's key pair (for the jwt-bearer grant, PEM, also encrypted) is written
 * to dir, which the caller removes.
 */
export async function startOidcEndpoint(dir: string): Promise<OidcEndpoint> {
  const signing = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const client = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const clientSecret = randomBytes(12).toString('hex');
  const keyPassword = randomBytes(12).toString('hex');
  const clientKeyFile = join(dir, 'oidc-client.key');
  const clientKeyEncryptedFile = join(dir, 'oidc-client-encrypted.key');
  writeFileSync(clientKeyFile, client.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(clientKeyEncryptedFile, client.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: keyPassword }), { mode: 0o600 });
  const jwks = JSON.stringify({ keys: [{ ...signing.publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' }] });
  let base = '';
  const audience = 'kastor-librdkafka-suite';

  /** An access token for clientId, issued now and living lifetimeS (negative: already expired). */
  const token = (clientId: string, lifetimeS: number, issuedAgoS = 0): string => {
    const iat = Math.floor(Date.now() / 1000) - issuedAgoS;
    return signJwt({ iss: base, aud: audience, sub: `service-account-${clientId}`, client_id: clientId, scope: 'test', iat, exp: iat + lifetimeS }, signing.privateKey, KID);
  };

  /** The client a token request comes from: client_credentials with Basic auth, or a jwt-bearer assertion. */
  const authenticate = async (req: IncomingMessage): Promise<string> => {
    if (req.headers.accept !== 'application/json') throw new Refused(400, 'invalid_request', 'Accept must be application/json');
    const form = new URLSearchParams(await readBody(req));
    const scope = form.get('scope');
    if (scope !== null && !VALID_SCOPES.includes(scope)) throw new Refused(400, 'invalid_scope', `${scope} is not one of ${VALID_SCOPES.join(', ')}`);
    if (form.get('grant_type') === JWT_BEARER) return String(checkAssertion(form.get('assertion') ?? '', client.publicKey).sub);
    if (form.get('grant_type') !== 'client_credentials') throw new Refused(400, 'unsupported_grant_type', `${form.get('grant_type')}`);
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const [id, secret] = basic ? Buffer.from(basic[1]!, 'base64').toString('utf8').split(':') : [];
    if (id !== CLIENT_ID || secret !== clientSecret) throw new Refused(401, 'invalid_client', 'unknown client id or wrong secret');
    return id;
  };

  /** Azure's instance metadata service: who the managed identity is comes from the query, no secret. */
  const azureImds = (req: IncomingMessage, query: URLSearchParams): string => {
    if (req.headers.metadata !== 'true') throw new Refused(400, 'invalid_request', 'the Metadata: true header is required');
    if (query.get('__metadata_authentication_type') !== 'azure_imds') throw new Refused(400, 'invalid_request', '__metadata_authentication_type=azure_imds is required');
    for (const p of ['api-version', 'resource', 'client_id']) if (!query.get(p)) throw new Refused(400, 'invalid_request', `the ${p} query parameter is required`);
    return query.get('client_id')!;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', base);
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /keys') return send(res, 200, JSON.parse(jwks));
    if (route === 'GET /retrieve') return send(res, 200, { access_token: token(azureImds(req, url.searchParams), TOKEN_LIFETIME_S), token_type: 'Bearer', expires_in: TOKEN_LIFETIME_S });
    if (route === 'POST /retrieve') return send(res, 200, { access_token: token(await authenticate(req), TOKEN_LIFETIME_S), token_type: 'Bearer', expires_in: TOKEN_LIFETIME_S });
    if (route === 'POST /retrieve/expire') return send(res, 200, { access_token: token(await authenticate(req), 300, 600), token_type: 'Bearer' });
    if (route === 'POST /retrieve/badformat') {
      const [header, payload, signature] = token(await authenticate(req), TOKEN_LIFETIME_S).split('.');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
      return send(res, 200, { access_token: `${header}.${b64json({ ...claims, sub: 'someone-else' })}.${signature}`, token_type: 'Bearer' });
    }
    throw new Refused(404, 'not_found', `no such endpoint: ${route}`);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      const refused = err instanceof Refused ? err : new Refused(500, 'server_error', err.message);
      if (!res.headersSent) send(res, refused.status, { error: refused.error, error_description: refused.message });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as { port: number }).port;
  base = `http://127.0.0.1:${port}`;
  return {
    brokerArgs: ['--sasl-oauthbearer-jwks-endpoint-url', `${base}/keys`, '--sasl-oauthbearer-expected-audience', audience, '--sasl-oauthbearer-expected-issuer', base],
    confLines: [
      'sasl.oauthbearer.method=oidc',
      `sasl.oauthbearer.client.id=${CLIENT_ID}`,
      `sasl.oauthbearer.client.secret=${clientSecret}`,
      'sasl.oauthbearer.scope=test',
      // trivup's: the brokers accept extensions they do not know (Kafka ignores them unless a handler validates them).
      'sasl.oauthbearer.extensions=ExtensionworkloadIdentity=develC348S,Extensioncluster=lkc123',
      `sasl.oauthbearer.token.endpoint.url=${base}/retrieve`,
    ],
    env: {
      VALID_OIDC_URL: `${base}/retrieve`,
      EXPIRED_TOKEN_OIDC_URL: `${base}/retrieve/expire`,
      INVALID_OIDC_URL: `${base}/retrieve/badformat`,
      OAUTHBEARER_CLIENT_PRIVATE_KEY: clientKeyFile,
      OAUTHBEARER_CLIENT_PRIVATE_KEY_ENCRYPTED: clientKeyEncryptedFile,
      OAUTHBEARER_CLIENT_PRIVATE_KEY_PASSWORD: keyPassword,
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
