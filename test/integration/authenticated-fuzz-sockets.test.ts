// Fuzzing after authentication (issue 19: "before and after authentication"), over real sockets against one
// broker process with the ACL authorizer on: each session of test/helpers/authenticated-fuzz.ts logs in on a
// fresh connection (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, as alice — who may read and write the topic, use groups
// and transactional ids — or bob, who may only read it), checks that the login succeeded, then writes its mutated
// request frames (real frames of many APIs, captured from kcat, KafkaJS and kafka-python or encoded as clients send
// them) and an intact sentinel request. 16 connections at a time, on the SASL_PLAINTEXT listener, then over TLS
// on the SASL_SSL one, then without a login on the PLAINTEXT listener (its User:ANONYMOUS is a super user). Checked: every session either gets the sentinel answered (the broker answers in order, so
// every frame before it was taken up) or has its connection closed by the broker, within a deadline, and nothing
// is answered twice; the broker process stays up and logs no handler failure and no error; the handlers were
// reached (kastor_requests_total counts Produce, Fetch, JoinGroup and others); and afterwards a fresh client
// (kcat as alice over SASL_SSL) produces a record to another topic and reads it back.
//
// A quarter of the frames are drawn for mutation (about 1,400 of each listener's 10,000 come out changed): a broker
// closes the connection at the first malformed request, as Kafka does, so more would leave few sessions past their
// second frame. About a third of the sessions reach their sentinel. The whole file takes about 15 s.
//
// KASTOR_AUTH_FUZZ_FRAMES (frames per listener, default 10,000) and KASTOR_AUTH_FUZZ_SEED (default 19) change or
// replay a run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Kafka } from '../../src/client/index.ts';
import { upsertScramUser } from '../../src/client/scram-users.ts';
import { decodeResponse, encodeRequest } from '../../src/protocol/frames.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ScramClientExchange } from '../../src/security/scram.ts';
import { nodeSecurityCrypto } from '../../src/runtime/node/node-security-crypto.ts';
import { freePort } from '../../src/testing/nats-server.ts';
import { startSecureBroker, kcatSaslSsl, type SecureBroker } from '../helpers/secure-broker.ts';
import { authenticatedFuzzSessions, SENTINEL_CORRELATION_ID, type AuthenticatedFuzzSession } from '../helpers/authenticated-fuzz.ts';
import { run } from '../helpers/single-broker.ts';

const FRAMES = Number(process.env.KASTOR_AUTH_FUZZ_FRAMES ?? 10_000);
const SEED = Number(process.env.KASTOR_AUTH_FUZZ_SEED ?? 19);
const TOPIC = 'golden';
const AFTER = 'after-fuzz';
const PARALLEL = 16;
/** How long a session may take, from its login, to get its sentinel answered or its connection closed. */
const SESSION_DEADLINE_MS = 20_000;
const USERS = [
  { user: 'alice', password: 'alice-secret', mechanisms: ['PLAIN', 'SCRAM-SHA-512'] as const },
  { user: 'bob', password: 'bob-secret', mechanisms: ['PLAIN', 'SCRAM-SHA-256'] as const },
];

let env: SecureBroker;
let httpPort: number;
/** Every log line of a handler failure or an error (the broker's own log keeps only its last lines). */
const failureLines: string[] = [];
let closes = 0;

test.before(async () => {
  await setUp().catch((err) => {
    console.error('setting up failed:', err);
    throw err;
  });
});

async function setUp() {
  httpPort = await freePort();
  env = await startSecureBroker(['--sasl-enabled-mechanisms', 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512', '--authorizer', 'acl', '--super-users', 'User:ANONYMOUS', '--auto-create-topics=false', '--http', `127.0.0.1:${httpPort}`], (line) => {
    if (/request handler failed|"level":"error"/.test(line)) failureLines.push(line);
    if (line.includes('closing connection')) closes++;
  });
  const admin = new Kafka({ bootstrap: `127.0.0.1:${env.ports.plaintext}`, clientId: 'fuzz-setup' }).admin();
  try {
    await upsertScramUser(admin.cluster, 'alice', 'SCRAM-SHA-512', 'alice-secret', 4096);
    await upsertScramUser(admin.cluster, 'bob', 'SCRAM-SHA-256', 'bob-secret', 4096);
    await admin.createTopics([{ topic: TOPIC, numPartitions: 1 }, { topic: AFTER, numPartitions: 1 }]);
    // alice may use the topics, every group and transactional id, but not create, alter or delete topics (a
    // mutated CreateTopics or CreatePartitions must not make the broker create 100,000 partitions mid-test).
    const acl = (resourceType: 'Topic' | 'Group' | 'Cluster' | 'TransactionalId', name: string, principal: string, operation: string, patternType: 'LITERAL' | 'PREFIXED' = 'LITERAL') =>
      ({ resourceType, name, patternType, principal, host: '*', operation, permission: 'ALLOW' }) as const;
    await admin.createAcls([
      ...['Read', 'Write', 'DescribeConfigs'].flatMap((op) => [acl('Topic', TOPIC, 'User:alice', op), acl('Topic', AFTER, 'User:alice', op)]),
      ...['Read', 'Describe', 'Delete'].map((op) => acl('Group', 'fuzz-', 'User:alice', op, 'PREFIXED')),
      ...['Write', 'Describe'].map((op) => acl('TransactionalId', 'fuzz-', 'User:alice', op, 'PREFIXED')),
      acl('Cluster', 'kafka-cluster', 'User:alice', 'IdempotentWrite'),
      acl('Topic', TOPIC, 'User:bob', 'Read'),
    ] as never);
  } finally {
    await admin.close();
  }
}

test.after(async () => {
  await env?.close();
});

/** Response frames as they arrive on a socket, and whether the broker closed it. */
class Responses {
  private buf = Buffer.alloc(0);
  readonly frames: Buffer[] = [];
  closed = false;
  private wake: (() => void) | null = null;

  constructor(socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 4 && this.buf.length >= 4 + this.buf.readInt32BE(0)) {
        const size = this.buf.readInt32BE(0);
        this.frames.push(this.buf.subarray(4, 4 + size));
        this.buf = this.buf.subarray(4 + size);
      }
      this.wake?.();
    });
    const close = () => ((this.closed = true), this.wake?.());
    socket.on('end', close);
    socket.on('close', close);
    socket.on('error', close);
  }

  /** Waits until `done()` holds or the broker closed the connection; false at the deadline. */
  async until(done: () => boolean, deadline: number): Promise<boolean> {
    while (!done() && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => (clearTimeout(timer), resolve());
      });
      this.wake = null;
    }
    return true;
  }
}

/** One request answered on the connection (the login's requests). */
async function ask<K extends number>(socket: Socket, responses: Responses, apiKey: K, version: number, corr: number, body: Parameters<typeof encodeRequest<K>>[4]) {
  const before = responses.frames.length;
  socket.write(encodeRequest(apiKey, version, corr, 'fuzz-login', body));
  if (!(await responses.until(() => responses.frames.length > before, Date.now() + 10_000)) || responses.frames.length === before) throw new Error(`no answer to API key ${apiKey} during the login`);
  return decodeResponse(apiKey, version, responses.frames[before]!).body as { errorCode: number; errorMessage?: string | null; authBytes?: Buffer };
}

async function login(socket: Socket, responses: Responses, s: AuthenticatedFuzzSession): Promise<void> {
  const hs = await ask(socket, responses, ApiKey.SaslHandshake, 1, 1, { mechanism: s.mechanism });
  if (hs.errorCode !== 0) throw new Error(`SaslHandshake ${s.mechanism}: error ${hs.errorCode}`);
  let reply;
  if (s.mechanism === 'PLAIN') {
    reply = await ask(socket, responses, ApiKey.SaslAuthenticate, 2, 2, { authBytes: Buffer.from(`\0${s.user}\0${s.password}`) });
  } else {
    const scram = new ScramClientExchange(nodeSecurityCrypto, s.mechanism, s.user, s.password);
    const first = await ask(socket, responses, ApiKey.SaslAuthenticate, 2, 2, { authBytes: Buffer.from(scram.clientFirstMessage()) });
    if (first.errorCode !== 0) throw new Error(`SCRAM first message: error ${first.errorCode} ${first.errorMessage}`);
    reply = await ask(socket, responses, ApiKey.SaslAuthenticate, 2, 3, { authBytes: Buffer.from(await scram.clientFinalMessage(first.authBytes!.toString())) });
  }
  if (reply.errorCode !== 0) throw new Error(`${s.mechanism} login as ${s.user}: error ${reply.errorCode} ${reply.errorMessage}`);
}

type Outcome = 'sentinel answered' | 'closed by the broker';

/** One session on a fresh connection: log in (on a SASL listener), write the fuzzed frames and the sentinel, see what the broker did. */
async function session(s: AuthenticatedFuzzSession, open: () => Socket, sasl: boolean): Promise<Outcome> {
  const socket = open();
  try {
    const responses = new Responses(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once(socket.constructor.name === 'TLSSocket' ? 'secureConnect' : 'connect', resolve);
      socket.once('error', reject);
    });
    if (sasl) await login(socket, responses, s);
    const loginAnswers = responses.frames.length;
    for (const chunk of s.chunks) socket.write(chunk);
    const sentinel = () => responses.frames.slice(loginAnswers).some((f) => f.readInt32BE(0) === SENTINEL_CORRELATION_ID);
    if (!(await responses.until(sentinel, Date.now() + SESSION_DEADLINE_MS))) {
      throw new Error(`${s.frames} frames (${s.mutated} mutated) as ${s.user}/${s.mechanism}: after ${SESSION_DEADLINE_MS} ms neither the sentinel answered nor the connection closed (${responses.frames.length - loginAnswers} answers)`);
    }
    const answers = responses.frames.length - loginAnswers;
    if (answers > s.frames + 1) throw new Error(`${answers} answers to ${s.frames} frames and the sentinel`);
    return sentinel() ? 'sentinel answered' : 'closed by the broker';
  } finally {
    socket.destroy();
  }
}

async function fuzz(listener: string, seed: number, open: () => Socket, sasl = true) {
  const queue = [...authenticatedFuzzSessions(seed, FRAMES, { users: USERS, topic: TOPIC })];
  const sessions = queue.length;
  const failures: string[] = [];
  const outcomes: Record<Outcome, number> = { 'sentinel answered': 0, 'closed by the broker': 0 };
  const started = Date.now();
  const worker = async () => {
    for (let s = queue.shift(); s; s = queue.shift()) {
      await session(s, open, sasl).then(
        (o) => void outcomes[o]++,
        (err: Error) => void failures.push(`${listener}: ${err.message}`),
      );
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  assert.equal(failures.slice(0, 5), [], `${failures.length} of ${sessions} sessions failed (KASTOR_AUTH_FUZZ_SEED=${seed})`);
  assert.ok(env.broker.running, 'the broker process is up');
  assert.ok(outcomes['sentinel answered'] > sessions / 5, `only ${outcomes['sentinel answered']} of ${sessions} sessions reached their sentinel`);
  assert.ok(outcomes['closed by the broker'] > sessions / 20, `only ${outcomes['closed by the broker']} of ${sessions} sessions were closed`);
  console.log(`authenticated fuzz on ${listener}: ${FRAMES} frames in ${sessions} sessions (seed ${seed}), ${outcomes['sentinel answered']} sentinels answered, ${outcomes['closed by the broker']} closed, ${Date.now() - started} ms`);
}

test(`SASL_PLAINTEXT: ${FRAMES} fuzzed frames after login`, async () => {
  await fuzz('SASL_PLAINTEXT', SEED, () => tcpConnect({ host: '127.0.0.1', port: env.ports.saslPlaintext }));
});

test(`SASL_SSL: ${FRAMES} fuzzed frames after login, over TLS`, async () => {
  const ca = readFileSync(env.certs.ca);
  await fuzz('SASL_SSL', SEED + 1, () => tlsConnect({ host: '127.0.0.1', port: env.ports.saslSsl, ca, servername: 'localhost' }));
});

// The PLAINTEXT listener has no login: its connections are User:ANONYMOUS, a super user here, so every frame
// reaches its handler past the ACLs (the admin APIs too: CreatePartitions only validates, DeleteRecords deletes
// nothing, the session's users and mechanisms go unused).
test(`PLAINTEXT: ${FRAMES} fuzzed frames as a super user`, async () => {
  await fuzz('PLAINTEXT', SEED + 2, () => tcpConnect({ host: '127.0.0.1', port: env.ports.plaintext }), false);
});

test('afterwards: no handler failed, the handlers were reached, and a fresh client produces and fetches', async () => {
  assert.equal(failureLines.slice(0, 3), [], `${failureLines.length} handler failures or errors logged`);
  assert.ok(closes > 100, `${closes} connections closed for a bad request`);
  const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  for (const api of ['Produce', 'Fetch', 'Metadata', 'ListOffsets', 'JoinGroup', 'OffsetCommit', 'OffsetFetch', 'InitProducerId', 'DescribeConfigs']) {
    const m = new RegExp(`kastor_requests_total\\{api="${api}"[^}]*\\} (\\d+)`).exec(metrics);
    assert.ok(m && Number(m[1]) > 10, `${api} reached its handler: ${m?.[0] ?? 'never'}`);
  }
  const sasl = kcatSaslSsl(env, 'alice', 'alice-secret');
  await run('kcat', ['-P', ...sasl, '-t', AFTER, '-p', '0', '-X', 'message.timeout.ms=10000'], { input: 'after the fuzz\n' });
  const { stdout } = await run('kcat', ['-C', ...sasl, '-t', AFTER, '-p', '0', '-o', 'beginning', '-c', '1', '-e', '-q']);
  assert.is(stdout.trim(), 'after the fuzz');
});

test.run();
