// SASL/OAUTHBEARER on the broker (KIP-255), validating the client's token as Kafka's OIDC validator does (KIP-768,
// BrokerJwtValidator): the token is a JWT signed with a key of a JWKS (a local file or an http(s) URL, re-read
// on a key id it does not know and every sasl.oauthbearer.jwks.endpoint.refresh.ms), not expired (exp required,
// with sasl.oauthbearer.clock.skew.seconds of leeway, also for nbf and iat), for the configured audience
// (sasl.oauthbearer.expected.audience, any one of them) and issuer (sasl.oauthbearer.expected.issuer); the
// principal is User:<the sasl.oauthbearer.sub.claim.name claim>, and the sasl.oauthbearer.scope.claim.name claim
// (a space-separated string or a list) is the token's scope. Unsigned tokens (alg none, Kafka's unsecured
// validator for development) and HMAC ones are refused: the broker holds no shared secret.
//
// The client's message is RFC 7628's: `n,[a=authzid],^Aauth=Bearer <jwt>^A[key=value^A]...^A`. A token refused is
// answered, as Kafka does, with a JSON challenge ({"status":"invalid_token"}); the client acknowledges it with a
// lone ^A and the exchange then fails with SASL_AUTHENTICATION_FAILED carrying that JSON.
//
// Reading the JWKS and checking signatures are the runtime's (JwtKeys; src/runtime/node/node-jwt-keys.ts on Node),
// as the time tokens are checked against is the broker's clock.

export interface OAuthBearerSettings {
  /** sasl.oauthbearer.jwks.endpoint.url: a file path, file:// URL or http(s):// URL of a JWKS. */
  jwksUrl: string;
  /** sasl.oauthbearer.expected.audience: the token's aud must hold one of them; empty: not checked. */
  expectedAudience: string[];
  /** sasl.oauthbearer.expected.issuer: the token's iss must be it; null: not checked. */
  expectedIssuer: string | null;
  /** sasl.oauthbearer.sub.claim.name (default sub). */
  subClaim: string;
  /** sasl.oauthbearer.scope.claim.name (default scope). */
  scopeClaim: string;
  /** sasl.oauthbearer.clock.skew.seconds, in ms (default 30 s). */
  clockSkewMs: number;
  /** sasl.oauthbearer.jwks.endpoint.refresh.ms (default 1 h). */
  jwksRefreshMs: number;
}

export const OAUTHBEARER_DEFAULTS = { subClaim: 'sub', scopeClaim: 'scope', clockSkewMs: 30_000, jwksRefreshMs: 3_600_000 } as const;

/** A token refused, with why (logged; the client gets only the JSON status). */
export class TokenRefused extends Error {}

export interface ValidatedToken {
  /** The principal's name (the sub claim). */
  name: string;
  scope: string[];
  /** exp, in wall-clock ms. */
  expiresAtMs: number;
}

/** Kafka's JSON error challenge for a refused token. */
export const INVALID_TOKEN_JSON = '{"status":"invalid_token"}';

/** A JWS algorithm: its hash, the key type it signs with, and whether RSA signatures use PSS padding. */
export interface JwtAlgorithm {
  hash: string;
  kty: string;
  pss?: boolean;
}

/** What the validator needs from outside: the JWKS document, its public keys and signature checks. */
export interface JwtKeys<Key = unknown> {
  /** The JWKS at a file path, file:// URL or http(s):// URL, as text. */
  readJwks(url: string): Promise<string>;
  /** The public key of a JWK; throws when the JWK cannot be read as one. */
  importJwk(jwk: Record<string, unknown>): Key;
  /** Whether signature signs data with key under alg. */
  verify(alg: JwtAlgorithm, data: Buffer, key: Key, signature: Buffer): boolean;
}

const ALGORITHMS: Record<string, JwtAlgorithm> = {
  RS256: { hash: 'sha256', kty: 'RSA' },
  RS384: { hash: 'sha384', kty: 'RSA' },
  RS512: { hash: 'sha512', kty: 'RSA' },
  PS256: { hash: 'sha256', kty: 'RSA', pss: true },
  PS384: { hash: 'sha384', kty: 'RSA', pss: true },
  PS512: { hash: 'sha512', kty: 'RSA', pss: true },
  ES256: { hash: 'sha256', kty: 'EC' },
  ES384: { hash: 'sha384', kty: 'EC' },
  ES512: { hash: 'sha512', kty: 'EC' },
};

/** A JWKS re-read at most every second when asked for a key id it lacks, and every refreshMs anyway. */
class Jwks {
  private keys = new Map<string, { key: unknown; kty: string }>();
  private loadedAt = -Infinity;
  private loading: Promise<void> | null = null;

  constructor(
    private readonly url: string,
    private readonly refreshMs: number,
    private readonly source: JwtKeys,
    private readonly now: () => number,
  ) {}

  async keyFor(kid: string | undefined): Promise<{ key: unknown; kty: string } | undefined> {
    const stale = this.now() - this.loadedAt >= this.refreshMs;
    const missing = !this.find(kid) && this.now() - this.loadedAt >= 1000;
    if (stale || missing) await this.load();
    return this.find(kid);
  }

  private find(kid: string | undefined): { key: unknown; kty: string } | undefined {
    if (kid !== undefined) return this.keys.get(kid);
    return this.keys.size === 1 ? [...this.keys.values()][0] : undefined;
  }

  private load(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const text = await this.source.readJwks(this.url);
        const keys = new Map<string, { key: unknown; kty: string }>();
        const parsed = JSON.parse(text) as { keys?: Array<Record<string, unknown>> };
        for (const [i, jwk] of (parsed.keys ?? []).entries()) {
          if (jwk.use !== undefined && jwk.use !== 'sig') continue;
          try {
            keys.set(typeof jwk.kid === 'string' ? jwk.kid : `#${i}`, { key: this.source.importJwk(jwk), kty: String(jwk.kty) });
          } catch {
            // A key node cannot read (an unknown kty) is left out, as jose4j leaves it out.
          }
        }
        this.keys = keys;
      } finally {
        this.loadedAt = this.now();
        this.loading = null;
      }
    })();
    return this.loading;
  }
}

function decodePart(part: string, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {}
  throw new TokenRefused(`the token's ${what} is not a base64url JSON object`);
}

export class OAuthBearerValidator {
  private readonly jwks: Jwks;

  /** now: the wall clock tokens' exp, nbf and iat are checked against (the runtime's Clock.wall). */
  constructor(
    readonly settings: OAuthBearerSettings,
    private readonly keys: JwtKeys,
    private readonly now: () => number,
  ) {
    this.jwks = new Jwks(settings.jwksUrl, settings.jwksRefreshMs, keys, now);
  }

  /** The token's subject, scope and expiry; a TokenRefused saying why otherwise (a JWKS that cannot be read throws as it is). */
  async validate(jwt: string): Promise<ValidatedToken> {
    const parts = jwt.split('.');
    if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) throw new TokenRefused('the token is not a signed JWT (three base64url parts)');
    const header = decodePart(parts[0]!, 'header');
    const claims = decodePart(parts[1]!, 'payload');
    const alg = ALGORITHMS[String(header.alg)];
    if (!alg) throw new TokenRefused(`the token's algorithm ${String(header.alg)} is not accepted (${Object.keys(ALGORITHMS).join(', ')})`);
    const found = await this.jwks.keyFor(typeof header.kid === 'string' ? header.kid : undefined);
    if (!found) throw new TokenRefused(`no key of the JWKS has the token's key id ${String(header.kid)}`);
    if (found.kty !== alg.kty) throw new TokenRefused(`the key ${String(header.kid)} is ${found.kty}, the token's algorithm ${String(header.alg)}`);
    const signature = Buffer.from(parts[2]!, 'base64url');
    if (!this.keys.verify(alg, Buffer.from(`${parts[0]}.${parts[1]}`), found.key, signature)) throw new TokenRefused('the token signature is not valid');

    const now = this.now();
    const skew = this.settings.clockSkewMs;
    if (typeof claims.exp !== 'number') throw new TokenRefused('the token has no expiration time (exp)');
    if (now - skew >= claims.exp * 1000) throw new TokenRefused(`the token expired at ${new Date(claims.exp * 1000).toISOString()}`);
    if (typeof claims.nbf === 'number' && now + skew < claims.nbf * 1000) throw new TokenRefused('the token is not valid yet (nbf)');
    if (typeof claims.iat === 'number' && now + skew < claims.iat * 1000) throw new TokenRefused('the token was issued in the future (iat)');
    if (this.settings.expectedAudience.length > 0) {
      const aud = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
      if (!aud.some((a) => this.settings.expectedAudience.includes(a as string))) throw new TokenRefused(`the token's audience ${JSON.stringify(claims.aud ?? null)} is not one expected (${this.settings.expectedAudience.join(', ')})`);
    }
    if (this.settings.expectedIssuer !== null && claims.iss !== this.settings.expectedIssuer) throw new TokenRefused(`the token's issuer ${JSON.stringify(claims.iss ?? null)} is not ${this.settings.expectedIssuer}`);
    const name = claims[this.settings.subClaim];
    if (typeof name !== 'string' || name.trim() === '') throw new TokenRefused(`the token has no ${this.settings.subClaim} claim naming its principal`);
    const rawScope = claims[this.settings.scopeClaim];
    const scope = typeof rawScope === 'string' ? rawScope.split(' ').filter(Boolean) : Array.isArray(rawScope) ? rawScope.filter((s): s is string => typeof s === 'string') : [];
    return { name, scope, expiresAtMs: claims.exp * 1000 };
  }
}

/** RFC 7628's client initial response: the token and authzid; a TokenRefused when malformed. */
export function parseClientResponse(message: Buffer): { token: string; authzid: string; extensions: Map<string, string> } {
  const m = /^n,(?:a=([^,]*))?,\x01((?:[A-Za-z]+=[\x21-\x7E \t\r\n]*\x01)*)\x01$/.exec(message.toString('utf8'));
  if (!m) throw new TokenRefused('the client message is not an OAUTHBEARER initial response (RFC 7628)');
  const kv = new Map<string, string>();
  for (const pair of m[2]!.split('\x01').filter(Boolean)) {
    const eq = pair.indexOf('=');
    kv.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const auth = /^Bearer +([\x21-\x7E]+) *$/i.exec(kv.get('auth') ?? '');
  if (!auth) throw new TokenRefused('the client message has no auth=Bearer <token>');
  kv.delete('auth');
  return { token: auth[1]!, authzid: (m[1] ?? '').replace(/=2C/g, ',').replace(/=3D/g, '='), extensions: kv };
}
