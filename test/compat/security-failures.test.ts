// Authentication failures against a broker with PLAINTEXT, SASL_SSL, SASL_PLAINTEXT and SSL listeners, each with
// a clear error on the client's side and a log line on the broker's, which serves on after each: wrong passwords
// and an unknown user (kcat, SCRAM-SHA-512: Kafka's SASL_AUTHENTICATION_FAILED text), the delay that grows with
// the failures from one address, a plaintext kcat on the TLS port, a kcat skipping SASL on a SASL port (closed at
// its first request after ApiVersions), and wrong passwords from KafkaJS (SCRAM-SHA-256) and kafka-python (PLAIN).
// Its own broker, so the failures of security-clients.test.ts do not slow these down.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { run } from '../helpers/single-broker.ts';
import { assertStillServing, failureOf, kcatSaslSsl, startSecureBroker, type SecureBroker } from '../helpers/secure-broker.ts';
import { until } from '../helpers/until.ts';

let env: SecureBroker;

test.before(async () => {
  env = await startSecureBroker();
  await env.createUser('alice', 'alice-pw', 'SCRAM-SHA-512');
  await env.createUser('bob', 'bob-pw', 'SCRAM-SHA-256');
});
test.after(async () => {
  await env?.close();
});

test('wrong password, plaintext client on a TLS port, a client skipping SASL: clear errors, the broker serves on', async () => {
  const wrong = await failureOf(run('kcat', ['-L', '-m', '5', ...kcatSaslSsl(env, 'alice', 'bad-pw')]));
  assert.match(wrong, /Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512/);
  const unknown = await failureOf(run('kcat', ['-L', '-m', '5', ...kcatSaslSsl(env, 'nobody', 'x')]));
  assert.match(unknown, /Authentication failed/);
  await failureOf(run('kcat', ['-L', '-m', '3', '-b', `127.0.0.1:${env.ports.saslSsl}`]));
  await until('the failed handshake logged', () => env.broker.logs.some((l) => l.includes('TLS handshake failed')), 5000);
  await failureOf(run('kcat', ['-L', '-m', '3', '-b', `127.0.0.1:${env.ports.saslPlaintext}`]));
  await until('the unauthenticated request logged', () => env.broker.logs.some((l) => l.includes('request before SASL authentication completed')), 5000);
  // kcat retried within its -m: each failure from 127.0.0.1 was answered later than the one before.
  const delays = env.broker.logs.filter((l) => l.includes('SASL authentication failed')).map((l) => Number(/"delayMs":(\d+)/.exec(l)![1]));
  assert.ok(delays.length >= 3 && delays[0] === 100 && delays[1] === 200 && delays[2] === 400, `delays ${delays}`);
  await assertStillServing(env);
});

test('KafkaJS (SCRAM-SHA-256) and kafka-python (PLAIN) with wrong passwords fail; the broker serves on', async () => {
  const wrong = new Kafka({ clientId: 'kastor-sasl-bad', brokers: [`127.0.0.1:${env.ports.saslSsl}`], ssl: { ca: [readFileSync(env.certs.ca, 'utf8')] }, sasl: { mechanism: 'scram-sha-256', username: 'bob', password: 'nope' }, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  assert.match(await failureOf(wrong.admin().connect()), /SASL SCRAM SHA256 authentication failed|Authentication failed/);
  const py = "from kafka import KafkaProducer\nKafkaProducer(bootstrap_servers='127.0.0.1:%s', security_protocol='SASL_PLAINTEXT', sasl_mechanism='PLAIN', sasl_plain_username='alice', sasl_plain_password='wrong')";
  const err = await failureOf(run('/usr/bin/python3', ['-c', py.replace('%s', String(env.ports.saslPlaintext))], { timeoutMs: 60_000 }));
  assert.match(err, /Authentication|SASL|NoBrokersAvailable/);
  await assertStillServing(env);
});

test.run();
