// The seeded SASL fuzzer (test/helpers/sasl-fuzz.ts) over real sockets against one broker process: its
// SASL_SSL listener over TLS, then its SASL_PLAINTEXT listener, 32 connections at a time, each connection's
// bytes written in the fuzzer's chunks. A shorter run than test/unit/sasl-fuzz.test.ts (which sends 100,000
// frames through the same router in-process): this one adds the sockets, TLS and the real failure delays.
// Checked: the broker process stays up; an intact forbidden first request gets the connection closed with no
// byte answered; the broker logs no handler failure, no broken SASL exchange, no error and no successful login;
// nothing changed (no topic but the target, no record in it, no ACL, no user but alice); and afterwards kcat
// logged in as alice over SASL_SSL produces a record and reads it back.
//
// KASTOR_SASL_FUZZ_SOCKET_FRAMES (default 10,000 per listener: about 15 s in all) and KASTOR_SASL_FUZZ_SEED (default 19).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Kafka } from '../../src/client/index.ts';
import { startSecureBroker, kcatSaslSsl, type SecureBroker } from '../helpers/secure-broker.ts';
import { fuzzSessions, type FuzzSession } from '../helpers/sasl-fuzz.ts';
import { run } from '../helpers/single-broker.ts';
import { describeScramUsers } from '../../src/client/scram-users.ts';

const FRAMES = Number(process.env.KASTOR_SASL_FUZZ_SOCKET_FRAMES ?? 10_000);
const SEED = Number(process.env.KASTOR_SASL_FUZZ_SEED ?? 19);
const TOPIC = 'fuzz-target';
const PARALLEL = 32;
/** How long a session's connection stays open after its bytes were written, unless the broker closes it first. */
const LINGER_MS = 200;
/** How long an intact forbidden first request may take to get its connection closed. */
const CLOSE_DEADLINE_MS = 5_000;

let env: SecureBroker;

test.before(async () => {
  // The ACL authorizer is on (alice and the internal listener super users) so that a CreateAcls could store one.
  env = await startSecureBroker(['--sasl-enabled-mechanisms', 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512', '--authorizer', 'acl', '--super-users', 'User:ANONYMOUS;User:alice']);
  await env.createUser('alice', 'alice-secret', 'SCRAM-SHA-512');
  const admin = new Kafka({ bootstrap: `127.0.0.1:${env.ports.plaintext}`, clientId: 'fuzz-setup' }).admin();
  try {
    await admin.createTopics([{ topic: TOPIC, numPartitions: 1 }]);
  } finally {
    await admin.close();
  }
});

test.after(async () => {
  await env?.close();
});

/** One session on a fresh connection: what came back, and whether the broker closed it. */
function session(s: FuzzSession, open: () => Socket): Promise<{ received: number; closedByBroker: boolean }> {
  return new Promise((resolve) => {
    const socket = open();
    let received = 0;
    let closedByBroker = false;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received, closedByBroker });
    };
    const timer = setTimeout(finish, s.mustCloseSilently ? CLOSE_DEADLINE_MS : LINGER_MS + 2_000);
    socket.on('data', (d: Buffer) => void (received += d.length));
    socket.on('end', () => ((closedByBroker = true), finish()));
    socket.on('close', () => ((closedByBroker = true), finish()));
    socket.on('error', () => finish());
    socket.once(socket.constructor.name === 'TLSSocket' ? 'secureConnect' : 'connect', () => {
      for (const chunk of s.chunks) socket.write(chunk);
      if (!s.mustCloseSilently) setTimeout(finish, LINGER_MS);
    });
  });
}

async function fuzz(listener: string, open: () => Socket) {
  const queue = [...fuzzSessions(SEED, FRAMES, { user: 'alice', topic: TOPIC })];
  const failures: string[] = [];
  let silent = 0;
  const started = Date.now();
  const worker = async () => {
    for (let s = queue.shift(); s; s = queue.shift()) {
      const r = await session(s, open);
      if (!s.mustCloseSilently) continue;
      silent++;
      if (r.received > 0 || !r.closedByBroker) failures.push(`${listener} ${s.template}: ${r.received} bytes back, closed by the broker: ${r.closedByBroker}`);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  assert.equal(failures.slice(0, 5), [], `${failures.length} forbidden first requests not refused (seed ${SEED})`);
  assert.ok(silent > 50, `${silent} silent closes checked`);
  assert.ok(env.broker.running, 'the broker process is up');
  console.log(`sasl socket fuzz on ${listener}: ${FRAMES} frames (seed ${SEED}), ${silent} silent closes checked, ${Date.now() - started} ms`);
}

test(`SASL_SSL: ${FRAMES} fuzzed frames over TLS`, async () => {
  const ca = readFileSync(env.certs.ca);
  await fuzz('SASL_SSL', () => tlsConnect({ host: '127.0.0.1', port: env.ports.saslSsl, ca, servername: 'localhost' }));
});

test(`SASL_PLAINTEXT: ${FRAMES} fuzzed frames`, async () => {
  await fuzz('SASL_PLAINTEXT', () => tcpConnect({ host: '127.0.0.1', port: env.ports.saslPlaintext }));
});

test('afterwards: nothing failed or changed, and alice produces and reads over SASL_SSL', async () => {
  const logs = env.broker.logs;
  assert.equal(logs.filter((l) => /request handler failed|SASL authentication broke|"level":"error"/.test(l)).slice(0, 3), []);
  assert.equal(logs.filter((l) => l.includes('"SASL authenticated"') || l.includes('SASL authenticated"')).slice(0, 3), [], 'nobody logged in');
  assert.ok(logs.some((l) => l.includes('before SASL authentication completed')), 'forbidden requests were refused');
  const admin = new Kafka({ bootstrap: `127.0.0.1:${env.ports.plaintext}`, clientId: 'fuzz-check' }).admin();
  try {
    assert.equal((await admin.listTopics()).sort(), [TOPIC]);
    const [offsets] = await admin.fetchOffsets(TOPIC);
    assert.is(offsets!.latest, 0n, 'nothing was produced');
    assert.equal((await describeScramUsers(admin.cluster)).map((u) => u.user), ['alice']);
    assert.equal(await admin.describeAcls(), []);
  } finally {
    await admin.close();
  }
  const sasl = kcatSaslSsl(env, 'alice', 'alice-secret');
  await run('kcat', ['-P', ...sasl, '-t', TOPIC, '-p', '0', '-X', 'message.timeout.ms=10000'], { input: 'after the fuzz\n' });
  const { stdout } = await run('kcat', ['-C', ...sasl, '-t', TOPIC, '-p', '0', '-o', 'beginning', '-c', '1', '-e', '-q']);
  assert.is(stdout.trim(), 'after the fuzz');
});

test.run();
