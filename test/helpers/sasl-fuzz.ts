// A seeded fuzzer of what an unauthenticated client can send to a SASL listener: the same seed gives the same
// connections with the same bytes. Each session is one connection's bytes: a template (a forbidden request at
// once; ApiVersions and a handshake then a garbage or wrong-password SaslAuthenticate; a v0 handshake then bare
// garbage tokens; a SCRAM first message then a forged final one; or a random mix), every frame possibly mutated
// (bytes flipped, truncated, a wrong or absurd size prefix, a random API key and version, random bytes, garbage
// appended), and the whole split at random points as TCP may deliver it. The "forbidden" requests are the ones
// that would change the cluster if they reached a handler: Produce, CreateTopics, Metadata with auto-creation,
// DeleteTopics, CreateAcls, AlterUserScramCredentials, JoinGroup, InitProducerId. No session ever holds the
// right password, so no connection may ever authenticate.
import { encodeRequest } from '../../src/protocol/frames.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch-builder.ts';
import { mulberry32 } from './seeded-random.ts';

export const SASL_KEYS: ReadonlySet<number> = new Set([ApiKey.ApiVersions, ApiKey.SaslHandshake, ApiKey.SaslAuthenticate]);

export interface FuzzSession {
  /** The template it came from (for the report). */
  template: 'forbidden-first' | 'bad-login' | 'raw-tokens' | 'scram-forged' | 'mix';
  /** The bytes to write, in the chunks to write them in. */
  chunks: Buffer[];
  /** How many frames went into it (a mutated size prefix may make the broker see more or fewer). */
  frames: number;
  /** Its first frame is an unmutated forbidden request: the broker must close without answering anything. */
  mustCloseSilently: boolean;
}

export interface FuzzTarget {
  /** A SCRAM user that exists (the fuzzer never knows its password). */
  user: string;
  /** A topic that exists; nothing may ever be written to it. */
  topic: string;
}

export type Rand = () => number;

/** The forbidden requests, each a function of the correlation id (frames with their size prefix). */
function forbiddenRequests(t: FuzzTarget): Array<(corr: number) => Buffer> {
  const batch = buildRecordBatch({ records: [{ value: 'must never be stored' }] });
  return [
    (c) => encodeRequest(ApiKey.Produce, 7, c, 'fuzz', { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: t.topic, partitionData: [{ index: 0, records: batch }] }] }),
    (c) => encodeRequest(ApiKey.Produce, 3, c, 'fuzz', { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: t.topic, partitionData: [{ index: 0, records: batch }] }] }),
    (c) => encodeRequest(ApiKey.CreateTopics, 4, c, 'fuzz', { topics: [{ name: 'fuzz-created', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false }),
    (c) => encodeRequest(ApiKey.Metadata, 9, c, 'fuzz', { topics: [{ name: 'fuzz-auto' }], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }),
    (c) => encodeRequest(ApiKey.Metadata, 0, c, null, { topics: [] }),
    (c) => encodeRequest(ApiKey.DeleteTopics, 1, c, 'fuzz', { topicNames: [t.topic], topics: [], timeoutMs: 1000 }),
    (c) =>
      encodeRequest(ApiKey.CreateAcls, 1, c, 'fuzz', {
        creations: [{ resourceType: 2, resourceName: '*', resourcePatternType: 3, principal: 'User:*', host: '*', operation: 2, permissionType: 3 }],
      }),
    (c) => encodeRequest(ApiKey.AlterUserScramCredentials, 0, c, 'fuzz', { deletions: [{ name: t.user, mechanism: 2 }], upsertions: [{ name: 'mallory', mechanism: 2, iterations: 4096, salt: Buffer.alloc(16, 1), saltedPassword: Buffer.alloc(64, 2) }] }),
    (c) => encodeRequest(ApiKey.JoinGroup, 5, c, 'fuzz', { groupId: 'fuzz-group', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(4) }] }),
    (c) => encodeRequest(ApiKey.InitProducerId, 1, c, 'fuzz', { transactionalId: null, transactionTimeoutMs: 60_000 }),
  ];
}

const MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'GSSAPI', 'OAUTHBEARER', '', 'plain', 'SCRAM-SHA-512\0'];

export function randomBytes(rand: Rand, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

/** A SASL token that must not authenticate. */
function badToken(rand: Rand, t: FuzzTarget): Buffer {
  const pick = Math.floor(rand() * 9);
  const nonce = randomBytes(rand, 12).toString('base64');
  switch (pick) {
    case 0: return Buffer.from(`\0${t.user}\0wrong-${nonce}`);
    case 1: return Buffer.from(`${t.user}\0${t.user}\0${nonce}`);
    case 2: return Buffer.from(`\0nobody-${nonce}\0x`);
    case 3: return Buffer.from(`\0${t.user}`);
    case 4: return Buffer.from(`n,,n=${t.user},r=${nonce}`);
    case 5: return Buffer.from(`n,,n=${['*', '>', 'a.b', '..', '=2C', '\u00ff', ''][Math.floor(rand() * 7)]},r=${nonce}`);
    case 6: return Buffer.from(`c=biws,r=${nonce},p=${randomBytes(rand, 64).toString('base64')}`);
    case 7: return Buffer.alloc(0);
    default: return randomBytes(rand, Math.floor(rand() * 300));
  }
}

export function rawFrame(body: Buffer): Buffer {
  const out = Buffer.alloc(4 + body.length);
  out.writeInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/**
 * Mutates one frame (size prefix included); 'none' leaves it as it is. With `keepFraming` a size prefix is never
 * a little off (the frame would swallow the next one's start, or leave bytes that start a garbage frame): every
 * mutated frame ends where it says, or has a size the broker must refuse outright.
 */
export function mutate(rand: Rand, frame: Buffer, keepFraming = false): { frame: Buffer; mutated: boolean } {
  const f = Buffer.from(frame);
  const body = f.length - 4;
  // A bare token may be shorter than a request header: only its size prefix can be wrong then.
  const drawn = body < 8 ? [2, 3, 15][Math.floor(rand() * 3)]! : Math.floor(rand() * 16);
  const kind = keepFraming && drawn === 2 ? (body < 8 ? 15 : 0) : drawn;
  switch (kind) {
    case 0: // flip a few bytes of the body
      for (let k = 1 + Math.floor(rand() * 4); k > 0; k--) f[4 + Math.floor(rand() * body)] = Math.floor(rand() * 256);
      return { frame: f, mutated: true };
    case 1: { // truncated, the prefix saying so
      const n = 8 + Math.floor(rand() * Math.max(1, body - 8));
      return { frame: rawFrame(f.subarray(4, 4 + Math.min(n, body))), mutated: true };
    }
    case 2: // a size prefix a little off: the frame swallows the next one's start, or leaves bytes over
      f.writeInt32BE(Math.max(8, body + Math.floor(rand() * 17) - 8), 0);
      return { frame: f, mutated: true };
    case 3: // an absurd size prefix: too large, negative, or shorter than a header
      f.writeInt32BE([0x7fffffff, 200 * 1024 * 1024, -1, -2147483648, 0, 3, 7][Math.floor(rand() * 7)]!, 0);
      return { frame: f, mutated: true };
    case 4: // a random API key and version
      f.writeInt16BE(Math.floor(rand() * 90) - 10, 4);
      f.writeInt16BE(Math.floor(rand() * 24) - 4, 6);
      return { frame: f, mutated: true };
    case 5: // a random version of the same API
      f.writeInt16BE(Math.floor(rand() * 24) - 4, 6);
      return { frame: f, mutated: true };
    case 6: // random bytes after a plausible header
      return { frame: rawFrame(Buffer.concat([f.subarray(4, 12), randomBytes(rand, Math.floor(rand() * 200))])), mutated: true };
    case 7: // garbage appended inside the frame
      return { frame: rawFrame(Buffer.concat([f.subarray(4), randomBytes(rand, 1 + Math.floor(rand() * 40))])), mutated: true };
    case 8: // a client id length that lies
      if (body >= 10) f.writeInt16BE([32767, -2, 500][Math.floor(rand() * 3)]!, 12);
      return { frame: f, mutated: true };
    default:
      return { frame: f, mutated: false };
  }
}

/** A connection's bytes in the chunks TCP might deliver them in: whole most of the time, else split at random. */
export function splitAsTcpMay(rand: Rand, bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = rand() < 0.7 ? bytes.length - at : 1 + Math.floor(rand() * Math.max(1, bytes.length - at));
    chunks.push(bytes.subarray(at, at + n));
    at += n;
  }
  return chunks;
}

/** The sessions of one fuzz run, `frames` frames in all, the same for the same seed. */
export function* fuzzSessions(seed: number, frames: number, t: FuzzTarget): Generator<FuzzSession> {
  const rand = mulberry32(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const forbidden = forbiddenRequests(t);
  let corr = 1;
  const anyForbidden = () => forbidden[int(forbidden.length)]!(corr++);
  const apiVersions = () => encodeRequest(ApiKey.ApiVersions, int(4), corr++, 'fuzz', { clientSoftwareName: 'fuzz', clientSoftwareVersion: '1' });
  const handshake = (version: number, mechanism = MECHANISMS[int(MECHANISMS.length)]!) => encodeRequest(ApiKey.SaslHandshake, version, corr++, 'fuzz', { mechanism });
  const authenticate = (token: Buffer) => encodeRequest(ApiKey.SaslAuthenticate, int(3), corr++, 'fuzz', { authBytes: token });
  const everything = [anyForbidden, apiVersions, () => handshake(int(2)), () => authenticate(badToken(rand, t)), () => rawFrame(badToken(rand, t))];

  let sent = 0;
  while (sent < frames) {
    const which = int(10);
    let template: FuzzSession['template'];
    let plan: Buffer[];
    if (which < 3) {
      template = 'forbidden-first';
      plan = [anyForbidden(), ...(rand() < 0.5 ? [anyForbidden()] : [])];
    } else if (which < 5) {
      template = 'bad-login';
      plan = [...(rand() < 0.5 ? [apiVersions()] : []), handshake(1, ['PLAIN', 'SCRAM-SHA-512', 'SCRAM-SHA-256'][int(3)]), authenticate(badToken(rand, t)), anyForbidden()];
    } else if (which < 6) {
      template = 'raw-tokens';
      plan = [handshake(0, ['PLAIN', 'SCRAM-SHA-512'][int(2)]), rawFrame(badToken(rand, t)), ...(rand() < 0.5 ? [rawFrame(badToken(rand, t))] : []), anyForbidden()];
    } else if (which < 7) {
      template = 'scram-forged';
      const nonce = randomBytes(rand, 12).toString('base64');
      plan = [handshake(1, 'SCRAM-SHA-512'), authenticate(Buffer.from(`n,,n=${t.user},r=${nonce}`)), authenticate(Buffer.from(`c=biws,r=${nonce}forged,p=${randomBytes(rand, 64).toString('base64')}`)), anyForbidden()];
    } else {
      template = 'mix';
      plan = Array.from({ length: 1 + int(6) }, () => everything[int(everything.length)]!());
    }
    plan = plan.slice(0, frames - sent);
    let mustCloseSilently = template === 'forbidden-first';
    const out = plan.map((frame, i) => {
      // The first frame of 'forbidden-first' is left intact half the time, so the silent close is checked often.
      const m = i === 0 && template === 'forbidden-first' && rand() < 0.5 ? { frame, mutated: false } : rand() < 0.6 ? mutate(rand, frame) : { frame, mutated: false };
      if (i === 0 && m.mutated) mustCloseSilently = false;
      return m.frame;
    });
    sent += plan.length;
    yield { template, chunks: splitAsTcpMay(rand, Buffer.concat(out)), frames: plan.length, mustCloseSilently };
  }
}
