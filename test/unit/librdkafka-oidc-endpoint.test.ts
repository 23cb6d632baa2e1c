// The librdkafka suite runner's OIDC identity provider (test/compat/librdkafka/oidc-endpoint.ts), asked as
// librdkafka asks it, its tokens checked by the brokers' own validator (OAuthBearerValidator over the endpoint's
// JWKS URL, as --sasl-oauthbearer-jwks-endpoint-url gives it): a valid token is accepted as
// User:service-account-<client>, the expired and the tampered ones are refused for those reasons, and requests 0126
// expects to fail (a wrong secret, an unknown scope, an Azure IMDS query lacking a parameter, an assertion the
// client's key did not sign as RS256) get OAuth errors, not tokens.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPrivateKey, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOidcEndpoint, type OidcEndpoint } from '../compat/librdkafka/oidc-endpoint.ts';
import { nodeJwtKeys } from '../../src/runtime/node/node-jwt-keys.ts';
import { OAuthBearerValidator, OAUTHBEARER_DEFAULTS } from '../../src/security/oauthbearer.ts';

const dir = mkdtempSync(join(tmpdir(), 'kastor-oidc-endpoint-'));
let endpoint: OidcEndpoint;
let validator: OAuthBearerValidator;

/** What the brokers are given: `--flag value` pairs of brokerArgs. */
function brokerFlag(name: string): string {
  const i = endpoint.brokerArgs.indexOf(`--${name}`);
  assert.ok(i >= 0, `no --${name}`);
  return endpoint.brokerArgs[i + 1]!;
}

function conf(key: string): string {
  const line = endpoint.confLines.find((l) => l.startsWith(`${key}=`));
  assert.ok(line, `no ${key} in test.conf`);
  return line.slice(key.length + 1);
}

/** A client_credentials request as librdkafka sends it (rdkafka_sasl_oauthbearer_oidc.c). */
function clientCredentials(url: string, opts: { secret?: string; scope?: string } = {}): Promise<Response> {
  const basic = Buffer.from(`${conf('sasl.oauthbearer.client.id')}:${opts.secret ?? conf('sasl.oauthbearer.client.secret')}`).toString('base64');
  return fetch(url, {
    method: 'POST',
    headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${basic}` },
    body: `grant_type=client_credentials&scope=${opts.scope ?? conf('sasl.oauthbearer.scope')}`,
  });
}

async function accessToken(res: Response): Promise<string> {
  assert.is(res.status, 200, await res.clone().text());
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  return ((await res.json()) as { access_token: string }).access_token;
}

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function refusal(jwt: string): Promise<string> {
  try {
    await validator.validate(jwt);
  } catch (err) {
    return (err as Error).message;
  }
  assert.unreachable('the brokers would accept this token');
  return '';
}

/** A jwt-bearer assertion (RFC 7523) signed with the client's PEM key. */
function assertion(alg: string, claims: Record<string, unknown>): string {
  const key = createPrivateKey(readFileSync(endpoint.env.OAUTHBEARER_CLIENT_PRIVATE_KEY!));
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${part({ alg, typ: 'JWT' })}.${part(claims)}`;
  return `${body}.${sign('sha256', Buffer.from(body), key).toString('base64url')}`;
}

function jwtBearer(jwt: string, scope?: string): Promise<Response> {
  const body = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwt, ...(scope ? { scope } : {}) });
  return fetch(endpoint.env.VALID_OIDC_URL!, { method: 'POST', headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' }, body: body.toString() });
}

test.before(async () => {
  endpoint = await startOidcEndpoint(dir);
  validator = new OAuthBearerValidator(
    { ...OAUTHBEARER_DEFAULTS, jwksUrl: brokerFlag('sasl-oauthbearer-jwks-endpoint-url'), expectedAudience: [brokerFlag('sasl-oauthbearer-expected-audience')], expectedIssuer: brokerFlag('sasl-oauthbearer-expected-issuer') },
    nodeJwtKeys,
    () => Date.now(),
  );
});

test.after(async () => {
  await endpoint?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('everything listens on loopback; test.conf points the clients at the valid URL', () => {
  for (const url of [endpoint.env.VALID_OIDC_URL!, endpoint.env.EXPIRED_TOKEN_OIDC_URL!, endpoint.env.INVALID_OIDC_URL!, brokerFlag('sasl-oauthbearer-jwks-endpoint-url')]) assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\//);
  assert.is(conf('sasl.oauthbearer.token.endpoint.url'), endpoint.env.VALID_OIDC_URL);
  assert.is(conf('sasl.oauthbearer.method'), 'oidc');
});

test('client_credentials: a signed token the brokers accept, naming the client in sub and client_id', async () => {
  const jwt = await accessToken(await clientCredentials(endpoint.env.VALID_OIDC_URL!));
  const claims = claimsOf(jwt);
  const clientId = conf('sasl.oauthbearer.client.id');
  assert.is(claims.client_id, clientId);
  const valid = await validator.validate(jwt);
  assert.is(valid.name, `service-account-${clientId}`);
  assert.ok(valid.expiresAtMs > Date.now() && valid.expiresAtMs <= Date.now() + 60_000, 'short-lived, so the client refreshes it');
});

test('client_credentials refused: a wrong secret, an unknown scope', async () => {
  const wrong = await clientCredentials(endpoint.env.VALID_OIDC_URL!, { secret: 'not-it' });
  assert.is(wrong.status, 401);
  assert.is(((await wrong.json()) as { error: string }).error, 'invalid_client');
  const scope = await clientCredentials(endpoint.env.VALID_OIDC_URL!, { scope: 'invalid_scope' });
  assert.is(scope.status, 400);
  assert.is(((await scope.json()) as { error: string }).error, 'invalid_scope');
});

test('the expired URL: a token past its exp by more than the clock skew; the brokers refuse it', async () => {
  const jwt = await accessToken(await clientCredentials(endpoint.env.EXPIRED_TOKEN_OIDC_URL!));
  assert.ok((claimsOf(jwt).exp as number) * 1000 < Date.now() - OAUTHBEARER_DEFAULTS.clockSkewMs);
  assert.match(await refusal(jwt), /expired/);
});

test('the invalid URL: a well-formed token whose payload no longer matches its signature', async () => {
  const jwt = await accessToken(await clientCredentials(endpoint.env.INVALID_OIDC_URL!));
  assert.is(jwt.split('.').length, 3);
  assert.type(claimsOf(jwt).exp, 'number');
  assert.match(await refusal(jwt), /signature is not valid/);
});

test('Azure IMDS: Metadata header and api-version, resource, client_id in the query, each required', async () => {
  const query = { __metadata_authentication_type: 'azure_imds', 'api-version': '2025-04-07', resource: 'api://external_resource_id', client_id: 'client_id' };
  const get = (q: Record<string, string>, headers: Record<string, string> = { Metadata: 'true', Accept: 'application/json' }) => fetch(`${endpoint.env.VALID_OIDC_URL}?${new URLSearchParams(q)}`, { headers });
  const jwt = await accessToken(await get(query));
  assert.is((await validator.validate(jwt)).name, 'service-account-client_id');
  for (const missing of ['client_id', 'resource', 'api-version']) {
    const { [missing]: _, ...rest } = query as Record<string, string>;
    assert.is((await get(rest)).status, 400, `without ${missing}`);
  }
  assert.is((await get(query, { Accept: 'application/json' })).status, 400, 'without Metadata: true');
});

test("jwt-bearer: an RS256 assertion by the client's key gets a token for its sub; ES256, a foreign key, a bad scope do not", async () => {
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: 'testuser', iat: now, exp: now + 300 };
  const jwt = await accessToken(await jwtBearer(assertion('RS256', claims)));
  assert.is((await validator.validate(jwt)).name, 'service-account-testuser');
  assert.is((await jwtBearer(assertion('ES256', claims))).status, 400);
  assert.is((await jwtBearer(assertion('RS256', { ...claims, exp: now - 10 }))).status, 400, 'an expired assertion');
  const forged = assertion('RS256', claims).split('.');
  assert.is((await jwtBearer(`${forged[0]}.${Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url')}.${forged[2]}`)).status, 400, 'a changed assertion');
  assert.is((await jwtBearer(assertion('RS256', claims), 'invalid_scope')).status, 400);
  const encrypted = readFileSync(endpoint.env.OAUTHBEARER_CLIENT_PRIVATE_KEY_ENCRYPTED!, 'utf8');
  assert.match(encrypted, /ENCRYPTED PRIVATE KEY/);
  assert.ok(createPrivateKey({ key: encrypted, passphrase: endpoint.env.OAUTHBEARER_CLIENT_PRIVATE_KEY_PASSWORD! }));
});

test('an unknown path is a 404 with an OAuth error body', async () => {
  const res = await fetch(endpoint.env.VALID_OIDC_URL!.replace('/retrieve', '/nowhere'), { method: 'POST' });
  assert.is(res.status, 404);
  assert.is(((await res.json()) as { error: string }).error, 'not_found');
});

test.run();
