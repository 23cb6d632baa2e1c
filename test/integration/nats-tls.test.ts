// TLS to NATS and nkey logins: a nats-server that requires TLS with client certificates (verify) and lets in
// only the brokers' nkey (its authorization written by `kastor nats-config --nkey`, which makes the seed file); two brokers given --nats-tls-ca/-cert/-key and --nats-nkey replicate a topic and serve
// produce and consume. A client that does not trust the server's CA, or has no client certificate, is refused,
// and so is one with a certificate but no login.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { NatsServer } from '../../src/testing/nats-server.ts';
import { BrokerProcess } from '../../src/testing/broker-process.ts';
import { Kafka } from '../../src/client/index.ts';
import { fileURLToPath } from 'node:url';
import { makeTestCerts, type TestCerts } from '../helpers/test-certs.ts';
import { runProcess } from '../helpers/run-process.ts';
import { roundTripFive } from '../helpers/client-round-trip.ts';

const bin = fileURLToPath(new URL('../../bin/kastor.js', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'kastor-nats-tls-'));
let certs: TestCerts;
let nats: NatsServer;
const brokers: BrokerProcess[] = [];
const seed = join(dir, 'broker.nk');

test.before(async () => {
  certs = await makeTestCerts();
  const authorization = await runProcess(process.execPath, [bin, 'nats-config', '--nkey', seed]);
  assert.is(authorization.code, 0, authorization.stderr);
  assert.match(authorization.stdout, /nkey: U[A-Z2-7]{55}/);
  nats = await NatsServer.start({
    dir: join(dir, 'nats'),
    extraConfig: authorization.stdout,
    tls: { certFile: certs.serverCert, keyFile: certs.serverKey, caFile: certs.ca, verify: true },
  });
  const natsArgs = ['--nats-nkey', seed, '--nats-tls-ca', certs.ca, '--nats-tls-cert', certs.clientCert, '--nats-tls-key', certs.clientKey, '--default-replication-factor', '2'];
  for (const id of [1, 2]) brokers.push(await BrokerProcess.start({ id, natsUrl: `tls://127.0.0.1:${nats.port}`, dataDir: join(dir, `broker-${id}`), extraArgs: natsArgs }));
});
test.after(async () => {
  for (const b of brokers) await b.kill();
  await nats?.dispose();
  certs?.remove();
  rmSync(dir, { recursive: true, force: true });
});

test('brokers on TLS and nkeys replicate, produce and consume', async () => {
  const kafka = new Kafka({ bootstrap: brokers.map((b) => b.bootstrap).join(','), retry: { retries: 8 } });
  const admin = kafka.admin();
  try {
    await admin.createTopics([{ topic: 'over-tls', numPartitions: 1, replicationFactor: 2 }], { waitForLeaders: true });
    await roundTripFive(kafka, 'over-tls');
  } finally {
    await admin.close();
  }
  for (const b of brokers) assert.not.ok(b.logs.find((l) => /Permissions Violation/.test(l)), b.logs.join('\n'));
});

test('a client without the CA, without a client certificate, or without a login is refused', async () => {
  const refused = async (opts: object): Promise<string> => {
    try {
      const nc = await connect({ servers: `tls://127.0.0.1:${nats.port}`, timeout: 3_000, maxReconnectAttempts: 0, ...opts });
      await nc.close();
    } catch (err) {
      return (err as Error).message;
    }
    return 'connected';
  };
  assert.is.not(await refused({}), 'connected', 'no CA');
  assert.is.not(await refused({ tls: { caFile: certs.ca } }), 'connected', 'no client certificate');
  assert.match(await refused({ tls: { caFile: certs.ca, certFile: certs.clientCert, keyFile: certs.clientKey } }), /Authorization Violation/);
});

test.run();
