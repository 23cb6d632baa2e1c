// The closed internal bus (issue 19): a nats-server with an authorization block, two broker processes that log
// in with their own credentials (--nats-credentials) and serve produce and consume as usual, and everyone else
// kept off the bus. A raw NATS client without credentials, or with a wrong password, is refused at connect; a
// client of another NATS user (an application sharing the server) gets a Permissions Violation when it answers
// a replica fetch, subscribes to Kastor's subjects or replies, or puts a forged topic into the metadata bucket,
// and the cluster metadata stays as it was. A broker with a wrong NATS password exits 1 with one line saying so.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { startTestCluster, type TestCluster } from '../../src/testing/index.ts';
import { Kafka } from '../../src/client/index.ts';
import { subjectsFor } from '../../src/transport/subjects.ts';
import { topicKey } from '../../src/metadata/metadata-keys.ts';
import { DEFAULT_METADATA_BUCKET } from '../../src/runtime/node/nats-kv.ts';
import { connectNats } from '../../src/runtime/node/nats-connection.ts';
import { parseNatsCredentials } from '../../src/security/nats-credentials.ts';
import { runProcess } from '../helpers/run-process.ts';
import { until } from '../helpers/until.ts';

const bin = fileURLToPath(new URL('../../bin/kastor.js', import.meta.url));
const TOPIC = 'bus-secured';
const APP = { user: 'app', password: 'app-secret', publish: ['app.>'], subscribe: ['app.>'] };
let cluster: TestCluster;
const opened: NatsConnection[] = [];

test.before(async () => {
  cluster = await startTestCluster({ brokers: 2, topics: [{ name: TOPIC, partitions: 2, replicationFactor: 2 }], secureNats: { others: [APP] } });
});
test.after(async () => {
  for (const nc of opened) await nc.close().catch(() => {});
  await cluster?.close();
});

const natsUrl = () => cluster.nats!.url;

async function refusedAt(opts: { user?: string; pass?: string }): Promise<Error> {
  try {
    const nc = await connect({ servers: natsUrl(), timeout: 3_000, maxReconnectAttempts: 0, ...opts });
    opened.push(nc);
  } catch (err) {
    return err as Error;
  }
  throw new Error(`connected to the secured NATS with ${JSON.stringify(opts)}`);
}

/** Connects as `user` and collects the permission violations the server reports asynchronously. */
async function connectAs(user: string, pass: string): Promise<{ nc: NatsConnection; violations: string[] }> {
  const nc = await connect({ servers: natsUrl(), user, pass, timeout: 3_000, maxReconnectAttempts: 0 });
  opened.push(nc);
  const violations: string[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error') violations.push(String((s as { error?: Error }).error?.message));
  })();
  return { nc, violations };
}

test('brokers with their NATS credentials replicate, produce and consume', async () => {
  const kafka = new Kafka({ bootstrap: cluster.bootstrapServers, retry: { retries: 5 } });
  const producer = kafka.producer({ acks: 'all' });
  const consumer = kafka.consumer();
  try {
    for (let i = 0; i < 20; i++) await producer.send({ topic: TOPIC, messages: [{ key: `k${i}`, value: `v${i}` }] });
    consumer.assign([0, 1].map((partition) => ({ topic: TOPIC, partition, offset: 'earliest' as const })));
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
  }
  await cluster.waitForInSync(TOPIC, { timeoutMs: 20_000 });
  // Everything a broker does on NATS is within its permissions (a missing one shows up as a violation here).
  for (const id of cluster.brokers) assert.not.ok(cluster.logs(id).find((l) => /Permissions Violation/.test(l)), `broker ${id} hit a permission it lacks`);
});

test('a client without credentials, or with a wrong password, is refused at connect', async () => {
  const anonymous = await refusedAt({});
  assert.match(anonymous.message, /Authorization Violation/);
  const { user } = parseNatsCredentials(readFileSync(cluster.natsCredentialsFile!, 'utf8'), 'creds') as { user: string };
  const wrong = await refusedAt({ user, pass: 'not-the-password' });
  assert.match(wrong.message, /Authorization Violation/);
});

test("another NATS user can neither answer a replica fetch, nor read Kastor's subjects, nor write the metadata bucket", async () => {
  const before = cluster.partitionState(TOPIC, 0);
  const leader = before.leader;
  const subjects = subjectsFor(DEFAULT_METADATA_BUCKET);
  const { nc, violations } = await connectAs(APP.user, APP.password);
  // A forged replication answer: published on the leader's fetch subject (as a follower's reply would be).
  nc.publish(subjects.replicaFetch(leader), new TextEncoder().encode('forged fetch answer'));
  // Records off the bus: Kastor's subjects and the brokers' reply inboxes.
  const bus = nc.subscribe(`${subjects.heartbeat.split('.').slice(0, 2).join('.')}.>`);
  const inboxes = nc.subscribe('_INBOX.>');
  // A forged topic state in the metadata bucket: leader 99, ISR [99].
  const key = `$KV.${DEFAULT_METADATA_BUCKET}.${topicKey(TOPIC)}`;
  nc.publish(key, new TextEncoder().encode(JSON.stringify({ forged: true, leader: 99 })));
  const kvPut = (async () => {
    const kv = await new Kvm(jetstream(nc, { timeout: 2_000 })).open(DEFAULT_METADATA_BUCKET);
    await kv.put(topicKey(TOPIC), new TextEncoder().encode('forged'));
  })().then(
    () => 'written',
    (err: Error) => err.message,
  );
  await nc.flush();
  await until(
    'the four permission violations',
    () => [`Publish to "${subjects.replicaFetch(leader)}"`, `Subscription to "kastor.`, 'Subscription to "_INBOX.>"', `Publish to "${key}"`].every((v) => violations.some((m) => m.includes(v))),
    10_000,
  );
  assert.ok(violations.every((m) => /Permissions Violation/.test(m)), violations.join('\n'));
  const putOutcome = await kvPut;
  assert.is.not(putOutcome, 'written');
  assert.ok(bus.isClosed() && inboxes.isClosed(), 'the refused subscriptions are closed');

  // The metadata did not change: the brokers' own view (a login that may read the bucket) has the same revision.
  const broker = await connectNats({ servers: natsUrl(), name: 'nats-security-test', security: cluster.natsSecurity });
  opened.push(broker);
  const kv = await new Kvm(jetstream(broker)).open(DEFAULT_METADATA_BUCKET);
  const entry = await kv.get(topicKey(TOPIC));
  assert.ok(entry, 'the topic key is there');
  assert.not.match(entry!.string(), /forged/);
  const after = cluster.partitionState(TOPIC, 0);
  assert.is(after.leader, before.leader);
  assert.equal(after.isr, before.isr);
});

test('a broker with a wrong NATS password exits 1 with one line saying NATS refused its login', async () => {
  const creds = join(cluster.dataDir, 'wrong-credentials');
  writeFileSync(creds, 'user=kastor-broker\npassword=wrong\n', { mode: 0o600 });
  const started = Date.now();
  const r = await runProcess(process.execPath, [bin, 'broker', '--id', '9', '--listen', '127.0.0.1:0', '--data', join(cluster.dataDir, 'broker-9'), '--nats', natsUrl(), '--nats-credentials', creds], { timeoutMs: 30_000 });
  const lines = r.stderr.trim().split('\n');
  assert.is(r.code, 1, r.stderr);
  assert.ok(Date.now() - started < 15_000, 'it gives up at once, not after its connect budget');
  assert.match(lines[lines.length - 1]!, /^kastor broker 9: NATS at nats:\/\/127\.0\.0\.1:\d+ refused the broker's login \(Authorization Violation\) — check the NATS login given with --nats-credentials/);
  const missing = await runProcess(process.execPath, [bin, 'broker', '--id', '9', '--listen', '127.0.0.1:0', '--data', join(cluster.dataDir, 'broker-9'), '--nats', natsUrl(), '--nats-credentials', join(cluster.dataDir, 'nope')], { timeoutMs: 30_000 });
  assert.is(missing.code, 1, missing.stderr);
  assert.match(missing.stderr.trim().split('\n').pop()!, /cannot read the NATS credentials file .*nope: ENOENT/);
});

test('the cluster still serves after the attempts', async () => {
  const producer = new Kafka({ bootstrap: cluster.bootstrapServers, retry: { retries: 5 } }).producer({ acks: 'all' });
  try {
    const [meta] = await producer.send({ topic: TOPIC, messages: [{ key: 'after', value: 'after' }] });
    assert.ok(meta!.offset > 0n, `offset ${meta!.offset}`);
  } finally {
    await producer.close();
  }
});

test.run();
