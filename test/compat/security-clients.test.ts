// Real clients against a broker with four listeners (PLAINTEXT on loopback, SASL_SSL, SASL_PLAINTEXT, SSL with
// client certificates requested), users made with `kastor users create`: kcat (librdkafka 2.0.2) over SASL_SSL
// with SCRAM-SHA-512, KafkaJS 2.2.4 over TLS with SCRAM-SHA-256, kafka-python 2.0.2 with PLAIN on
// SASL_PLAINTEXT, kcat with a client certificate (mTLS, the principal in the broker's log; one from an unknown
// CA refused). Each listener's Metadata answers its own address. The failures: security-failures.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { run } from '../helpers/single-broker.ts';
import { assertStillServing, failureOf, kcatSaslSsl, startSecureBroker, type SecureBroker } from '../helpers/secure-broker.ts';
import { until } from '../helpers/until.ts';

let env: SecureBroker;
const PYTHON = '/usr/bin/python3';

test.before(async () => {
  env = await startSecureBroker();
  await env.createUser('alice', 'alice-pw', 'SCRAM-SHA-512');
  await env.createUser('alice', 'alice-pw', 'SCRAM-SHA-256'); // both mechanisms for one user
  await env.createUser('bob', 'bob-pw', 'SCRAM-SHA-256');
});
test.after(async () => {
  await env?.close();
});

test('kastor users list shows both mechanisms of alice and never a credential', async () => {
  const { stdout } = await run(process.execPath, [...(await import('../../src/cli/cli-entry.ts')).kastorNodeArgs(), 'users', 'list', '--json', '--bootstrap', `127.0.0.1:${env.ports.plaintext}`]);
  const users = JSON.parse(stdout) as Array<{ user: string; credentials: Array<{ mechanism: string; iterations: number }> }>;
  assert.equal(users.map((u) => u.user), ['alice', 'bob']);
  assert.equal(users[0]!.credentials.map((c) => c.mechanism).sort(), ['SCRAM-SHA-256', 'SCRAM-SHA-512']);
  assert.not.match(stdout, /alice-pw|storedKey|salt/);
});

test('kcat over SASL_SSL with SCRAM-SHA-512 produces and consumes; Metadata names the SASL_SSL address', async () => {
  const n = 2000;
  const input = Array.from({ length: n }, (_, i) => `v-${i}`).join('\n') + '\n';
  await run('kcat', ['-P', ...kcatSaslSsl(env, 'alice', 'alice-pw'), '-t', 'sasl-ssl', '-p', '0'], { input });
  const { stdout } = await run('kcat', ['-C', ...kcatSaslSsl(env, 'alice', 'alice-pw'), '-t', 'sasl-ssl', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o %s\n']);
  const got = stdout.trimEnd().split('\n');
  assert.is(got.length, n);
  got.forEach((line, i) => assert.is(line, `${i} v-${i}`));
  const meta = await run('kcat', ['-L', ...kcatSaslSsl(env, 'alice', 'alice-pw')]);
  assert.match(meta.stdout, new RegExp(`broker 1 at 127\\.0\\.0\\.1:${env.ports.saslSsl}`));
  const plain = await run('kcat', ['-L', '-b', `127.0.0.1:${env.ports.plaintext}`]);
  assert.match(plain.stdout, new RegExp(`broker 1 at 127\\.0\\.0\\.1:${env.ports.plaintext}`), 'the PLAINTEXT listener answers its own address');
});

test('KafkaJS over TLS with SASL/SCRAM-SHA-256: admin, producer and group consumer', async () => {
  const kafka = new Kafka({
    clientId: 'kastor-sasl',
    brokers: [`127.0.0.1:${env.ports.saslSsl}`],
    ssl: { ca: [readFileSync(env.certs.ca, 'utf8')] },
    sasl: { mechanism: 'scram-sha-256', username: 'bob', password: 'bob-pw' },
    logLevel: logLevel.NOTHING,
    retry: { retries: 3, initialRetryTime: 100 },
  });
  const admin = kafka.admin();
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: 'js-sasl-group' });
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'js-sasl', numPartitions: 2 }], waitForLeaders: true });
    const meta = await admin.describeCluster();
    assert.equal(meta.brokers.map((b) => b.port), [env.ports.saslSsl]);
    await producer.connect();
    await producer.send({ topic: 'js-sasl', messages: Array.from({ length: 100 }, (_, i) => ({ key: `k${i % 5}`, value: `m${i}` })) });
    await consumer.connect();
    await consumer.subscribe({ topic: 'js-sasl', fromBeginning: true });
    const seen = new Set<string>();
    await consumer.run({ eachMessage: async ({ message }) => void seen.add(message.value!.toString()) });
    await until('KafkaJS consumed every record', () => seen.size === 100, 30_000);
  } finally {
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
});

const PY = `
import json, sys
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
port, user, password = sys.argv[1], sys.argv[2], sys.argv[3]
kw = dict(bootstrap_servers='127.0.0.1:' + port, security_protocol='SASL_PLAINTEXT', sasl_mechanism='PLAIN', sasl_plain_username=user, sasl_plain_password=password)
producer = KafkaProducer(acks=1, **kw)
metas = [producer.send('py-plain', value=('p%d' % i).encode(), partition=0).get(timeout=10) for i in range(200)]
producer.close()
consumer = KafkaConsumer(enable_auto_commit=False, consumer_timeout_ms=3000, **kw)
tp = TopicPartition('py-plain', 0)
consumer.assign([tp])
consumer.seek_to_beginning()
got = []
while len(got) < 200:
    batch = consumer.poll(timeout_ms=2000)
    if not batch:
        break
    for records in batch.values():
        got.extend(r.value.decode() for r in records)
consumer.close()
print(json.dumps({"offsets": [m.offset for m in metas], "got": got}))
`;

test('kafka-python with SASL PLAIN on SASL_PLAINTEXT (checked against the SCRAM credentials)', async () => {
  const { stdout } = await run(PYTHON, ['-c', PY, String(env.ports.saslPlaintext), 'alice', 'alice-pw'], { timeoutMs: 90_000 });
  const out = JSON.parse(stdout.trim().split('\n').pop()!);
  assert.equal(out.offsets, Array.from({ length: 200 }, (_, i) => i));
  assert.equal(out.got, Array.from({ length: 200 }, (_, i) => `p${i}`));
});

test('mTLS: kcat with a client certificate is User:<subject> in the broker log; one from an unknown CA is refused', async () => {
  const ssl = (cert: string, key: string) => ['-b', `127.0.0.1:${env.ports.ssl}`, '-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${env.certs.ca}`, '-X', `ssl.certificate.location=${cert}`, '-X', `ssl.key.location=${key}`];
  const { stdout } = await run('kcat', ['-L', ...ssl(env.certs.clientCert, env.certs.clientKey)]);
  assert.match(stdout, new RegExp(`broker 1 at 127\\.0\\.0\\.1:${env.ports.ssl}`));
  await until('the principal logged', () => env.broker.logs.some((l) => l.includes('TLS client authenticated') && l.includes(env.certs.clientPrincipal)), 5000);
  await failureOf(run('kcat', ['-L', '-m', '3', ...ssl(env.certs.strangerCert, env.certs.strangerKey)]));
  await until('the refusal logged', () => env.broker.logs.some((l) => l.includes('TLS client certificate refused') && l.includes('mallory')), 5000);
  await assertStillServing(env);
});

test.run();
