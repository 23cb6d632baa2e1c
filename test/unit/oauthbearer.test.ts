// SASL/OAUTHBEARER on the broker (src/security/oauthbearer.ts, sasl-server.ts): JWTs signed at test time with a key
// made by node:crypto, its JWKS in a temporary file. A valid token authenticates as User:<sub>; an expired one, one
// signed by another key and one for another audience are answered with Kafka's JSON challenge and, after the
// client's ^A, fail with that JSON (SASL_AUTHENTICATION_FAILED on the wire).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeJwtKeys } from '../../src/runtime/node/node-jwt-keys.ts';
import { INVALID_TOKEN_JSON, OAuthBearerValidator, OAUTHBEARER_DEFAULTS, parseClientResponse, TokenRefused } from '../../src/security/oauthbearer.ts';
import { saslStep, chooseMechanism } from '../../src/security/sasl-server.ts';
import { connectionSecurity } from '../../src/security/connection-security.ts';
import { AuthFailureThrottle } from '../../src/security/auth-failure-throttle.ts';
import { createLogger } from '../../src/util/logger.ts';

const dir = mkdtempSync(join(tmpdir(), 'kastor-oauthbearer-'));
const good = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwks = join(dir, 'jwks.json');
writeFileSync(jwks, JSON.stringify({ keys: [{ ...good.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }] }));
const settings = { ...OAUTHBEARER_DEFAULTS, jwksUrl: jwks, expectedAudience: ['kastor'], expectedIssuer: 'https://issuer.test' };
const now = () => Math.floor(Date.now() / 1000);

function jwt(claims: Record<string, unknown>, key: KeyObject = good.privateKey): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${part({ alg: 'RS256', kid: 'k1', typ: 'JWT' })}.${part(claims)}`;
  return `${body}.${sign('sha256', Buffer.from(body), key).toString('base64url')}`;
}
const valid = (extra: Record<string, unknown> = {}) => ({ sub: 'alice', aud: 'kastor', iss: 'https://issuer.test', iat: now(), exp: now() + 600, scope: 'read write', ...extra });

test('a valid token: its subject, scope and expiry', async () => {
  const v = new OAuthBearerValidator(settings, nodeJwtKeys, Date.now);
  const t = await v.validate(jwt(valid()));
  assert.is(t.name, 'alice');
  assert.equal(t.scope, ['read', 'write']);
  assert.ok(t.expiresAtMs > Date.now());
});

test("expiry is checked against the clock the validator is given (the broker's runtime), not the machine's", async () => {
  let at = Date.UTC(2030, 0, 1);
  const v = new OAuthBearerValidator(settings, nodeJwtKeys, () => at);
  const token = jwt(valid({ iat: at / 1000, exp: at / 1000 + 600 }));
  assert.is((await v.validate(token)).name, 'alice'); // four years from now on this machine, valid on its clock
  at += 600_000 + settings.clockSkewMs;
  const err = await v.validate(token).then(() => null, (e: Error) => e);
  assert.ok(err instanceof TokenRefused && /expired/.test(err.message), 'expired on its clock');
});

test('refused: expired, signed by another key, another audience, another issuer, no subject, alg none', async () => {
  const v = new OAuthBearerValidator(settings, nodeJwtKeys, Date.now);
  const cases: Array<[string, string]> = [
    [jwt(valid({ exp: now() - 120 })), 'expired'],
    [jwt(valid(), other.privateKey), 'signature'],
    [jwt(valid({ aud: 'someone-else' })), 'audience'],
    [jwt(valid({ iss: 'https://evil.test' })), 'issuer'],
    [jwt(valid({ sub: undefined })), 'sub claim'],
    [`${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(valid())).toString('base64url')}.`, 'algorithm'],
  ];
  for (const [token, why] of cases) {
    const err = await v.validate(token).then(() => null, (e: Error) => e);
    assert.ok(err instanceof TokenRefused, `${why}: refused`);
    assert.match(err!.message, why);
  }
});

test('the RFC 7628 client message: token, authzid, extensions; malformed refused', () => {
  const m = parseClientResponse(Buffer.from('n,a=alice,\x01auth=Bearer abc.def.ghi\x01traceId=7\x01\x01'));
  assert.is(m.token, 'abc.def.ghi');
  assert.is(m.authzid, 'alice');
  assert.is(m.extensions.get('traceId'), '7');
  assert.throws(() => parseClientResponse(Buffer.from('n,,auth=Bearer x')), (e: Error) => e instanceof TokenRefused);
});

async function exchange(token: string): Promise<{ steps: unknown[]; principal: string }> {
  const logger = createLogger({ now: () => 0, sink: () => {} });
  const clock = { wall: () => Date.now(), monotonic: () => performance.now(), setTimeout: (fn: () => void, ms: number) => setTimeout(fn, Math.min(ms, 5)), clearTimeout: () => {}, setInterval: () => 0, clearInterval: () => {} } as never;
  const sec = connectionSecurity('SASL', 'SASL_PLAINTEXT', '127.0.0.1', 'User:ANONYMOUS', {} as never, { mechanisms: ['OAUTHBEARER'], reauthMs: 60_000, throttle: new AuthFailureThrottle(), oauthbearer: new OAuthBearerValidator(settings, nodeJwtKeys, Date.now) });
  assert.is(chooseMechanism(sec.sasl!, 'OAUTHBEARER', 1), 'ok');
  const deps = { credentials: { get: async () => ({}) } as never, clock, logger };
  const steps: unknown[] = [await saslStep(deps, sec, sec.sasl!, Buffer.from(`n,,\x01auth=Bearer ${token}\x01\x01`))];
  if (!(steps[0] as { done?: boolean }).done) steps.push(await saslStep(deps, sec, sec.sasl!, Buffer.from([1])));
  return { steps, principal: sec.principal };
}

test('SASL exchange: a valid token authenticates User:alice for at most the reauth time; a bad one gets the JSON challenge, then fails with it', async () => {
  const ok = await exchange(jwt(valid()));
  assert.is(ok.principal, 'User:alice');
  assert.is((ok.steps[0] as { done: boolean }).done, true);
  assert.ok((ok.steps[0] as { sessionLifetimeMs: number }).sessionLifetimeMs <= 60_000);
  for (const bad of [jwt(valid({ exp: now() - 120 })), jwt(valid(), other.privateKey), jwt(valid({ aud: 'x' }))]) {
    const r = await exchange(bad);
    assert.is(r.principal, 'User:ANONYMOUS');
    assert.equal((r.steps[0] as { token: Buffer }).token.toString(), INVALID_TOKEN_JSON);
    assert.is((r.steps[0] as { done: boolean }).done, false);
    assert.equal(r.steps[1], { ok: false, message: INVALID_TOKEN_JSON });
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
