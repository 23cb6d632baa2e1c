// Kastor's own client on secured listeners, and what the broker does over a connection's life: SCRAM and
// PLAIN over TLS with src/client (Metadata/DescribeCluster answering the SASL_SSL address), the SASL session
// lifetime (connections.max.reauth.ms, KIP-368: sessionLifetimeMs told to the client; a request after expiry
// closes the connection; a re-authentication before it extends the session), and certificates replaced on disk
// taken up by new TLS connections without a restart (on change, and on SIGHUP).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { Kafka, BrokerConnection, SaslAuthenticationError } from '../../src/client/index.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { startSecureBroker, type SecureBroker } from '../helpers/secure-broker.ts';
import { until } from '../helpers/until.ts';
import { run } from '../helpers/single-broker.ts';
import { kastorNodeArgs } from '../../src/cli/cli-entry.ts';

const LIFETIME_MS = 1500;
let env: SecureBroker;
let ca: Buffer;

test.before(async () => {
  env = await startSecureBroker(['--connections-max-reauth-ms', String(LIFETIME_MS)]);
  ca = readFileSync(env.certs.ca);
  await env.createUser('carol', 'carol-pw', 'SCRAM-SHA-256');
});
test.after(async () => {
  await env?.close();
});

test("Kastor's client: SCRAM-SHA-256 and PLAIN over TLS; a wrong password is a SaslAuthenticationError", async () => {
  for (const mechanism of ['SCRAM-SHA-256', 'PLAIN'] as const) {
    const kafka = new Kafka({ bootstrap: `127.0.0.1:${env.ports.saslSsl}`, tls: { ca }, sasl: { mechanism, username: 'carol', password: 'carol-pw' } });
    const admin = kafka.admin();
    const producer = kafka.producer();
    try {
      await admin.createTopics([{ topic: `own-${mechanism}`, numPartitions: 1 }]);
      const cluster = await admin.describeCluster();
      assert.equal(cluster.brokers.map((b) => b.port), [env.ports.saslSsl]);
      const [meta] = await producer.send({ topic: `own-${mechanism}`, messages: [{ value: 'hello' }] });
      assert.is(meta!.offset, 0n);
    } finally {
      await producer.close();
      await admin.close();
    }
  }
  const bad = new Kafka({ bootstrap: `127.0.0.1:${env.ports.saslSsl}`, tls: { ca }, sasl: { mechanism: 'SCRAM-SHA-256', username: 'carol', password: 'nope' }, retry: { retries: 0 } }).admin();
  try {
    await bad.connect();
    assert.unreachable('a wrong password was accepted');
  } catch (err) {
    assert.ok(err instanceof SaslAuthenticationError, String(err));
    assert.match((err as Error).message, /invalid credentials with SASL mechanism SCRAM-SHA-256/);
  } finally {
    await bad.close();
  }
});

test('the CLI over SASL_SSL: produce, consume and topic list with --security-protocol and KASTOR_SASL_PASSWORD', async () => {
  const security = ['--bootstrap', `127.0.0.1:${env.ports.saslSsl}`, '--security-protocol', 'SASL_SSL', '--sasl-mechanism', 'SCRAM-SHA-256', '--sasl-username', 'carol', '--ssl-ca', env.certs.ca];
  const processEnv = { ...process.env, KASTOR_SASL_PASSWORD: 'carol-pw' };
  const kastor = (args: string[], input = '') => run(process.execPath, [...kastorNodeArgs(), ...args, ...security], { input, env: processEnv });
  await kastor(['produce', '--topic', 'cli-sasl'], 'one\ntwo\nthree\n');
  const { stdout } = await kastor(['consume', '--topic', 'cli-sasl', '--from-beginning', '--exit-at-end']);
  assert.equal(stdout.trim().split('\n'), ['one', 'two', 'three']);
  assert.match((await kastor(['topic', 'list'])).stdout, /cli-sasl/);
  // Without the password: one line saying where it goes, exit 2.
  try {
    await run(process.execPath, [...kastorNodeArgs(), 'topic', 'list', ...security], { env: { ...process.env, KASTOR_SASL_PASSWORD: undefined } });
    assert.unreachable('ran without a password');
  } catch (err) {
    assert.match((err as Error).message, /set KASTOR_SASL_PASSWORD/);
  }
});

test("DescribeConfigs of the broker shows every listener, its advertised address and protocol", async () => {
  const conn = await BrokerConnection.connect({ host: '127.0.0.1', port: env.ports.plaintext });
  try {
    const res = await conn.request(ApiKey.DescribeConfigs, 4, {
      resources: [{ resourceType: 4, resourceName: '1', configurationKeys: ['advertised.listeners', 'listener.security.protocol.map', 'connections.max.reauth.ms'] }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    const value = (name: string) => res.results[0]!.configs.find((c) => c.name === name)?.value;
    const p = env.ports;
    assert.is(value('advertised.listeners'), `PLAINTEXT://127.0.0.1:${p.plaintext},SASL_SSL://127.0.0.1:${p.saslSsl},SASL_PLAINTEXT://127.0.0.1:${p.saslPlaintext},SSL://127.0.0.1:${p.ssl}`);
    assert.is(value('listener.security.protocol.map'), 'PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL');
    assert.is(value('connections.max.reauth.ms'), String(LIFETIME_MS));
  } finally {
    conn.close();
  }
});

async function login(conn: BrokerConnection): Promise<bigint> {
  const hs = await conn.request(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' });
  assert.is(hs.errorCode, 0);
  const res = await conn.request(ApiKey.SaslAuthenticate, 2, { authBytes: Buffer.from('\0carol\0carol-pw') });
  assert.is(res.errorCode, 0);
  return res.sessionLifetimeMs!;
}

test('a session expires after connections.max.reauth.ms: the next request closes the connection; re-authenticating extends it', async () => {
  const open = () => BrokerConnection.connect({ host: '127.0.0.1', port: env.ports.saslSsl, tls: { ca } });
  const expiring = await open();
  const renewed = await open();
  try {
    const start = Date.now();
    assert.is(await login(expiring), BigInt(LIFETIME_MS));
    await login(renewed);
    assert.is((await expiring.request(ApiKey.Metadata, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })).brokers.length, 1);
    // Re-authenticate `renewed` half-way through its session.
    await until('half the session passed', () => Date.now() - start > LIFETIME_MS / 2, 10_000);
    await login(renewed);
    await until('the first session expired', () => Date.now() - start > LIFETIME_MS + 100, 10_000);
    try {
      await expiring.request(ApiKey.Metadata, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      assert.unreachable('a request after the session expired was served');
    } catch (err) {
      assert.match((err as Error).message, /closed/);
    }
    await until('the expiry logged', () => env.broker.logs.some((l) => l.includes('SASL session expired')), 5000);
    const res = await renewed.request(ApiKey.Metadata, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.is(res.brokers[0]!.port, env.ports.saslSsl);
  } finally {
    expiring.close();
    renewed.close();
  }
});

test('a replaced certificate is served to new connections without a restart', async () => {
  const subjectCN = () =>
    new Promise<string>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: env.ports.ssl, ca, servername: 'localhost' }, () => {
        const cn = s.getPeerCertificate().subject.CN;
        s.destroy();
        resolve(String(cn));
      });
      s.on('error', reject);
    });
  assert.is(await subjectCN(), 'localhost');
  copyFileSync(env.certs.nextServerKey, env.certs.serverKey);
  copyFileSync(env.certs.nextServerCert, env.certs.serverCert);
  await until('new connections get the new certificate', async () => (await subjectCN()) === 'reloaded.localhost', 15_000, 200);
  assert.ok(env.broker.logs.some((l) => l.includes('TLS certificates reloaded') && l.includes('file changed')));
  // SIGHUP reads them again too (and does not stop the broker).
  process.kill(env.broker.pid!, 'SIGHUP');
  await until('the SIGHUP reload logged', () => env.broker.logs.some((l) => l.includes('TLS certificates reloaded') && l.includes('SIGHUP')), 5000);
  assert.is(await subjectCN(), 'reloaded.localhost');
  assert.ok(env.broker.running);
});

test.run();
