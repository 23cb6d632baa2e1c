// SecurityCrypto (src/security/security-crypto.ts) on node:crypto.
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SecurityCrypto } from '../../security/security-crypto.ts';

const KEY_BYTES = { sha256: 32, sha512: 64 } as const;

export const nodeSecurityCrypto: SecurityCrypto = {
  pbkdf2: (password, salt, iterations, hash) =>
    new Promise((resolve, reject) => pbkdf2(password, salt, iterations, KEY_BYTES[hash], hash, (err, key) => (err ? reject(err) : resolve(key)))),
  hmac: (hash, key, data) => createHmac(hash, key).update(data).digest(),
  digest: (hash, data) => createHash(hash).update(data).digest(),
  freshBytes: (n) => randomBytes(n),
  equal: (a, b) => a.length === b.length && timingSafeEqual(a, b),
};
