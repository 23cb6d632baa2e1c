// kastor/testing with a secure listener (TestClusterOptions.secureListener): every broker of a two-broker
// cluster gets a SASL_SSL listener beside its PLAINTEXT one, the users asked for are created, and an application
// on Kastor's client reaches the cluster over SCRAM and TLS only: Metadata through that listener names both
// brokers at their SASL_SSL ports, records produced there are read back there, a wrong password is refused, and a
// restarted broker comes back on the same secure port.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { startTestCluster, type TestCluster } from '../../src/testing/index.ts';
import { Kafka, SaslAuthenticationError } from '../../src/client/index.ts';
import { makeTestCerts, type TestCerts } from '../helpers/test-certs.ts';

let cluster: TestCluster;
let certs: TestCerts;

test.before(async () => {
  certs = await makeTestCerts();
  cluster = await startTestCluster({
    brokers: 2,
    topics: [{ name: 'secure-orders', partitions: 2, replicationFactor: 2 }],
    secureListener: { protocol: 'SASL_SSL', certFile: certs.serverCert, keyFile: certs.serverKey, users: { app: 'app-pw' } },
  });
});
test.after(async () => {
  await cluster?.close();
  certs?.remove();
});

const client = (password: string) =>
  new Kafka({ bootstrap: cluster.secureBootstrapServers, tls: { ca: readFileSync(certs.ca) }, sasl: { mechanism: 'SCRAM-SHA-512', username: 'app', password }, retry: { retries: 5 } });

test('an application reaches the cluster over SASL_SSL only', async () => {
  const securePorts = cluster.secureBootstrapServers.split(',').map((a) => Number(a.split(':')[1]));
  const kafka = client('app-pw');
  const admin = kafka.admin();
  const producer = kafka.producer({ acks: 'all' });
  const consumer = kafka.consumer();
  try {
    const described = await admin.describeCluster();
    assert.equal(described.brokers.map((b) => b.port).sort(), [...securePorts].sort());
    for (let i = 0; i < 20; i++) await producer.send({ topic: 'secure-orders', messages: [{ key: `k${i}`, value: `v${i}` }] });
    consumer.assign([{ topic: 'secure-orders', partition: 0, offset: 'earliest' }, { topic: 'secure-orders', partition: 1, offset: 'earliest' }]);
    const seen = new Set<string>();
    for (let polls = 0; seen.size < 20 && polls < 100; polls++) {
      const batch = await consumer.next();
      if (batch.done) break;
      for (const r of batch.value.records) seen.add(r.value!.toString());
    }
    assert.is(seen.size, 20);
  } finally {
    await consumer.close();
    await producer.close();
    await admin.close();
  }
  const bad = client('wrong').admin();
  try {
    await bad.connect();
    assert.unreachable('a wrong password was accepted');
  } catch (err) {
    assert.ok(err instanceof SaslAuthenticationError, String(err));
  } finally {
    await bad.close();
  }
});

test('a restarted broker serves its secure listener on the same port', async () => {
  const before = cluster.secureBootstrapServers;
  await cluster.restartBroker(2);
  assert.is(cluster.secureBootstrapServers, before);
  const admin = new Kafka({ bootstrap: before.split(',')[1]!, tls: { ca: readFileSync(certs.ca) }, sasl: { mechanism: 'PLAIN', username: 'app', password: 'app-pw' } }).admin();
  try {
    const described = await admin.describeCluster();
    assert.ok(described.brokers.some((b) => b.nodeId === 2 && `127.0.0.1:${b.port}` === before.split(',')[1]));
  } finally {
    await admin.close();
  }
});

test.run();
