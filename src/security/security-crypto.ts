// The few cryptographic primitives authentication needs, behind an interface: the broker proper may not reach
// node:crypto (test/unit/no-direct-effects.test.ts), so the Node runtime provides them
// (src/runtime/node/node-security-crypto.ts) and a test may provide others.
import type { ScramHash } from './sasl-mechanisms.ts';

export interface SecurityCrypto {
  /** PBKDF2 (RFC 8018) with HMAC-`hash`: SCRAM's Hi(). Off the event loop, it costs milliseconds. */
  pbkdf2(password: Buffer, salt: Buffer, iterations: number, hash: ScramHash): Promise<Buffer>;
  hmac(hash: ScramHash, key: Buffer, data: Buffer): Buffer;
  digest(hash: ScramHash, data: Buffer): Buffer;
  /** n unpredictable bytes: nonces and salts. */
  freshBytes(n: number): Buffer;
  /** Constant-time comparison (false when the lengths differ). */
  equal(a: Buffer, b: Buffer): boolean;
}
