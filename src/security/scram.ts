// SCRAM (RFC 5802, RFC 7677), the server side, as Kafka's ScramSaslServer runs it. A user's credential is what
// the server keeps of a password: a random salt, an iteration count, StoredKey = H(HMAC(SaltedPassword,
// "Client Key")) and ServerKey = HMAC(SaltedPassword, "Server Key"), SaltedPassword = PBKDF2(password, salt, i).
// Neither key lets anyone log in: a client proves it knows ClientKey, whose hash StoredKey only is, so a
// stolen credential cannot be replayed.
//
// The exchange: client-first `n,,n=USER,r=CNONCE` → server-first `r=CNONCE SNONCE,s=SALT,i=N` → client-final
// `c=biws,r=NONCE,p=PROOF` → server-final `v=SIGNATURE`. PLAIN logins are checked against the same credentials
// (the password derived with the stored salt and compared), so a user has no password stored anywhere.
import type { SecurityCrypto } from './security-crypto.ts';
import { hashOf, type ScramMechanism } from './sasl-mechanisms.ts';

export interface ScramCredential {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** The credential of a salted password (what AlterUserScramCredentials sends: the client salts and iterates). */
export function credentialFromSaltedPassword(crypto: SecurityCrypto, mechanism: ScramMechanism, salt: Buffer, iterations: number, saltedPassword: Buffer): ScramCredential {
  const hash = hashOf(mechanism);
  const clientKey = crypto.hmac(hash, saltedPassword, Buffer.from('Client Key'));
  return { salt, iterations, storedKey: crypto.digest(hash, clientKey), serverKey: crypto.hmac(hash, saltedPassword, Buffer.from('Server Key')) };
}

export async function saltPassword(crypto: SecurityCrypto, mechanism: ScramMechanism, password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  return crypto.pbkdf2(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, hashOf(mechanism));
}

/** Whether `password` is the one `credential` was made from (a PLAIN login). */
export async function passwordMatches(crypto: SecurityCrypto, mechanism: ScramMechanism, credential: ScramCredential, password: string): Promise<boolean> {
  const salted = await saltPassword(crypto, mechanism, password, credential.salt, credential.iterations);
  return crypto.equal(credentialFromSaltedPassword(crypto, mechanism, credential.salt, credential.iterations, salted).storedKey, credential.storedKey);
}

/** Thrown when a client message is malformed or does not prove the password; `message` is safe to send. */
export class ScramFailure extends Error {}

/** `a=b,c=d` attributes of a SCRAM message. */
function attributes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq !== 1) throw new ScramFailure(`malformed SCRAM attribute "${part.slice(0, 20)}"`);
    out.set(part[0]!, part.slice(2));
  }
  return out;
}

/** RFC 5802's saslname: `=2C` is a comma and `=3D` an equals sign. */
function saslName(s: string): string {
  if (/=(?!2C|3D)/.test(s)) throw new ScramFailure('malformed user name');
  return s.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

export interface ClientFirst {
  user: string;
  nonce: string;
  gs2Header: string;
  bare: string;
}

export function parseClientFirst(message: string): ClientFirst {
  // gs2-header: channel binding flag ("n" or "y"; "p" asks for binding, which Kafka does not offer), authzid.
  const m = /^([ny]),(a=[^,]*)?,(.*)$/.exec(message);
  if (!m) throw new ScramFailure('malformed SCRAM client-first message (channel binding is not supported)');
  const attrs = attributes(m[3]!);
  const user = attrs.get('n');
  const nonce = attrs.get('r');
  if (!user || !nonce) throw new ScramFailure('SCRAM client-first message without user name or nonce');
  const name = saslName(user);
  if (m[2] && saslName(m[2].slice(2)) !== name) throw new ScramFailure('authorization id differs from the user name');
  return { user: name, nonce, gs2Header: `${m[1]},${m[2] ?? ''},`, bare: m[3]! };
}

/** One SCRAM exchange on one connection, from the client-first message on. */
export class ScramServerExchange {
  private serverFirst = '';
  private nonce = '';

  constructor(
    private readonly crypto: SecurityCrypto,
    readonly mechanism: ScramMechanism,
    readonly first: ClientFirst,
    private readonly credential: ScramCredential,
  ) {}

  serverFirstMessage(): string {
    this.nonce = this.first.nonce + this.crypto.freshBytes(18).toString('base64url');
    this.serverFirst = `r=${this.nonce},s=${this.credential.salt.toString('base64')},i=${this.credential.iterations}`;
    return this.serverFirst;
  }

  /** Checks the client's proof; returns the server-final message (the server's own proof). */
  finish(clientFinal: string): string {
    const hash = hashOf(this.mechanism);
    const proofAt = clientFinal.lastIndexOf(',p=');
    if (proofAt < 0) throw new ScramFailure('SCRAM client-final message without proof');
    const withoutProof = clientFinal.slice(0, proofAt);
    const attrs = attributes(withoutProof);
    if (attrs.get('c') !== Buffer.from(this.first.gs2Header).toString('base64')) throw new ScramFailure('SCRAM channel binding does not match the client-first message');
    // Kafka's ScramSaslServer accepts a nonce that ends with the server's (librdkafka sends its own nonce in
    // front of the whole server nonce); the proof still covers exactly what the client sent.
    if (!attrs.get('r')?.endsWith(this.nonce)) throw new ScramFailure('SCRAM nonce does not match');
    const proof = Buffer.from(clientFinal.slice(proofAt + 3), 'base64');
    const authMessage = Buffer.from(`${this.first.bare},${this.serverFirst},${withoutProof}`);
    const clientSignature = this.crypto.hmac(hash, this.credential.storedKey, authMessage);
    if (proof.length !== clientSignature.length) throw new ScramFailure('invalid credentials');
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!;
    if (!this.crypto.equal(this.crypto.digest(hash, clientKey), this.credential.storedKey)) throw new ScramFailure('invalid credentials');
    return `v=${this.crypto.hmac(hash, this.credential.serverKey, authMessage).toString('base64')}`;
  }
}

/** The client side (Kastor's own client and tests): client-first, then the client-final for a server-first. */
export class ScramClientExchange {
  private readonly nonce: string;
  private readonly bare: string;
  private serverSignature: Buffer | null = null;

  constructor(
    private readonly crypto: SecurityCrypto,
    readonly mechanism: ScramMechanism,
    private readonly user: string,
    private readonly password: string,
  ) {
    this.nonce = crypto.freshBytes(18).toString('base64url');
    this.bare = `n=${user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${this.nonce}`;
  }

  clientFirstMessage(): string {
    return `n,,${this.bare}`;
  }

  async clientFinalMessage(serverFirst: string): Promise<string> {
    const hash = hashOf(this.mechanism);
    const attrs = attributes(serverFirst);
    const nonce = attrs.get('r') ?? '';
    const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
    const iterations = Number(attrs.get('i'));
    if (!nonce.startsWith(this.nonce) || salt.length === 0 || !Number.isSafeInteger(iterations) || iterations < 1) throw new ScramFailure('malformed SCRAM server-first message');
    const salted = await saltPassword(this.crypto, this.mechanism, this.password, salt, iterations);
    const clientKey = this.crypto.hmac(hash, salted, Buffer.from('Client Key'));
    const storedKey = this.crypto.digest(hash, clientKey);
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = Buffer.from(`${this.bare},${serverFirst},${withoutProof}`);
    const signature = this.crypto.hmac(hash, storedKey, authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ signature[i]!;
    this.serverSignature = this.crypto.hmac(hash, this.crypto.hmac(hash, salted, Buffer.from('Server Key')), authMessage);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** Whether the server proved it holds the credential too. */
  verifyServerFinal(serverFinal: string): boolean {
    const v = /(?:^|,)v=([^,]*)/.exec(serverFinal)?.[1];
    return this.serverSignature !== null && v !== undefined && this.crypto.equal(Buffer.from(v, 'base64'), this.serverSignature);
  }
}
