// JwtKeys (src/security/oauthbearer.ts) on Node: the JWKS read from a file or fetched over http(s), its keys
// imported and signatures checked with node:crypto.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { JwtAlgorithm, JwtKeys } from '../../security/oauthbearer.ts';

const RSA_PKCS1_PSS_PADDING = 6;

export const nodeJwtKeys: JwtKeys<KeyObject> = {
  async readJwks(url) {
    if (/^https?:\/\//i.test(url)) return (await fetch(url, { signal: AbortSignal.timeout(10_000) })).text();
    return readFile(url.startsWith('file:') ? fileURLToPath(url) : url, 'utf8');
  },
  importJwk: (jwk) => createPublicKey({ key: jwk as never, format: 'jwk' }),
  verify(alg: JwtAlgorithm, data, key, signature) {
    const options = alg.kty === 'EC' ? { key, dsaEncoding: 'ieee-p1363' as const } : alg.pss ? { key, padding: RSA_PKCS1_PSS_PADDING, saltLength: -1 } : key;
    return verify(alg.hash, data, options, signature);
  },
};
