// ACLs end to end (issue 19): a broker process with the authorizer on (--authorizer acl, User:admin and the
// internal PLAINTEXT listener's User:ANONYMOUS as super users), SCRAM users alice and bob on its SASL_PLAINTEXT
// listener, ACLs made with `kastor acls` spawned as a process. Kastor's client sends raw requests (one Produce to
// two topics, JoinGroup, Metadata) as alice; KafkaJS sees the authorization error; the broker's log has an audit
// line for each denial and /metrics counts them; kcat (librdkafka) sees what alice may see and the error.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Kafka as KafkaJS, logLevel } from 'kafkajs';
import { Kafka } from '../../src/client/index.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch-builder.ts';
import { kastorNodeArgs } from '../../src/cli/cli-entry.ts';
import { freePort } from '../../src/testing/nats-server.ts';
import { run } from '../helpers/single-broker.ts';
import { startSecureBroker, type SecureBroker } from '../helpers/secure-broker.ts';
import { until } from '../helpers/until.ts';
import { describeScramUsers, upsertScramUser } from '../../src/client/scram-users.ts';

let env: SecureBroker;
let httpPort: number;
const clients: Array<{ close(): Promise<void> }> = [];

function saslAdmin(user: string, password: string) {
  const admin = new Kafka({ bootstrap: `127.0.0.1:${env.ports.saslPlaintext}`, clientId: `acl-test-${user}`, sasl: { mechanism: 'SCRAM-SHA-512', username: user, password }, retry: { retries: 1, maxBackoffMs: 200 } }).admin();
  clients.push(admin);
  return admin;
}

/** `kastor acls ...` as a process, logged in as admin on the SASL_PLAINTEXT listener. */
async function acls(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [...kastorNodeArgs(), 'acls', ...args, '--bootstrap', `127.0.0.1:${env.ports.saslPlaintext}`, '--security-protocol', 'SASL_PLAINTEXT', '--sasl-username', 'admin'], {
    env: { ...process.env, KASTOR_SASL_PASSWORD: 'admin-pw' },
  });
  return stdout;
}

/** One Produce request (acks=1) with a batch for each topic's partition 0 (on `nc`, or any connection); the error code per topic. */
async function produce(admin: ReturnType<typeof saslAdmin>, topics: string[], nc?: Awaited<ReturnType<ReturnType<typeof saslAdmin>['cluster']['anyConnection']>>): Promise<Record<string, number>> {
  nc ??= await admin.cluster.anyConnection();
  const { body } = await admin.cluster.send(nc, ApiKey.Produce, () => ({
    transactionalId: null,
    acks: 1,
    timeoutMs: 5000,
    topicData: topics.map((name) => ({ name, partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value: `to ${name}` }] }) }] })),
  }));
  return Object.fromEntries(body.responses.map((t) => [t.name, t.partitionResponses[0]!.errorCode]));
}

function kafkaJs(username: string, password: string): KafkaJS {
  return new KafkaJS({
    clientId: `acl-kafkajs-${username}`,
    brokers: [`127.0.0.1:${env.ports.saslPlaintext}`],
    sasl: { mechanism: 'scram-sha-512', username, password },
    logLevel: logLevel.NOTHING,
    retry: { retries: 1, initialRetryTime: 100 },
  });
}

async function metadataTopics(admin: ReturnType<typeof saslAdmin>): Promise<string[]> {
  const nc = await admin.cluster.anyConnection();
  const { body } = await admin.cluster.send(nc, ApiKey.Metadata, () => ({ topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }));
  return body.topics.map((t) => t.name ?? '').sort();
}

test.before(async () => {
  httpPort = await freePort();
  env = await startSecureBroker(['--authorizer', 'acl', '--super-users', 'User:admin;User:ANONYMOUS', '--http', `127.0.0.1:${httpPort}`, '--auto-create-topics=false']);
  for (const [user, pw] of [['alice', 'alice-pw'], ['bob', 'bob-pw'], ['admin', 'admin-pw']]) await env.createUser(user!, pw!, 'SCRAM-SHA-512');
  const internal = new Kafka({ bootstrap: `127.0.0.1:${env.ports.plaintext}`, clientId: 'acl-setup' }).admin();
  try {
    await internal.createTopics(['a', 'b', 'orders-eu', 'secret'].map((topic) => ({ topic, numPartitions: 1 })));
  } finally {
    await internal.close();
  }
});

test.after(async () => {
  for (const c of clients) await c.close().catch(() => {});
  await env?.close();
});

test('kastor acls add and list through the CLI; a user without Alter on the cluster may not', async () => {
  assert.match(await acls('add', '--allow-principal', 'User:alice', '--operation', 'Write', '--topic', 'a'), /added Topic:LITERAL:a\tUser:alice\t\*\tWrite\tALLOW/);
  await acls('add', '--allow-principal', 'User:alice', '--operation', 'Read', '--topic', 'orders-', '--resource-pattern-type', 'prefixed');
  await acls('add', '--allow-principal', 'User:alice', '--operation', 'Read', '--group', 'allowed-group');
  await acls('add', '--allow-principal', 'User:alice', '--operation', 'Describe', '--group', 'describe-only');
  await acls('add', '--allow-principal', 'User:*', '--operation', 'Write', '--topic', 'b');
  await acls('add', '--deny-principal', 'User:alice', '--operation', 'Write', '--topic', 'b');
  const listed = JSON.parse(await acls('list', '--json')) as Array<{ resourceType: string; name: string; principal: string; permission: string }>;
  assert.is(listed.length, 6);
  assert.ok(listed.some((b) => b.name === 'orders-' && b.principal === 'User:alice'));
  assert.match(await acls('list', '--topic', 'orders-eu', '--resource-pattern-type', 'match'), /Topic:PREFIXED:orders-\tUser:alice/);
  const err = await saslAdmin('alice', 'alice-pw').createAcls([{ resourceType: 'Topic', name: 'a', patternType: 'LITERAL', principal: 'User:alice', host: '*', operation: 'All', permission: 'ALLOW' }]).then(
    () => null,
    (e: Error & { code?: number }) => e,
  );
  assert.is(err?.code, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'alice may not grant herself ACLs');
});

test('one Produce to a and b: alice gets TOPIC_AUTHORIZATION_FAILED for b only (a DENY beats User:* ALLOW); bob may write b', async () => {
  const alice = saslAdmin('alice', 'alice-pw');
  assert.equal(await produce(alice, ['a', 'b']), { a: ErrorCode.NONE, b: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
  assert.equal(await produce(saslAdmin('bob', 'bob-pw'), ['b', 'a']), { b: ErrorCode.NONE, a: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
  const line = env.broker.logs.find((l) => l.includes('authorization denied') && l.includes('"principal":"User:alice"') && l.includes('"resourceName":"b"'));
  assert.ok(line, 'an audit line names principal, resource and operation');
  assert.match(line!, /"operation":"Write"/);
});

test('Metadata lists only what alice may describe: a (Write), b (User:* Write: a DENY of Write does not deny Describe), orders-eu (PREFIXED Read), not secret; the super user sees all', async () => {
  assert.equal(await metadataTopics(saslAdmin('alice', 'alice-pw')), ['a', 'b', 'orders-eu']);
  assert.equal(await metadataTopics(saslAdmin('admin', 'admin-pw')), ['a', 'b', 'orders-eu', 'secret']);
});

test('KafkaJS consumers: with Describe but not Read on its group one finds the coordinator and fails to join (GROUP_AUTHORIZATION_FAILED); with Read, one reads the PREFIXED topic', async () => {
  const internal = new Kafka({ bootstrap: `127.0.0.1:${env.ports.plaintext}`, clientId: 'acl-setup' }).producer();
  clients.push(internal);
  await internal.send({ topic: 'orders-eu', messages: [{ value: 'order 1' }] });
  const consumer = (groupId: string) =>
    kafkaJs('alice', 'alice-pw').consumer({ groupId, retry: { retries: 0, restartOnFailure: async () => false }, sessionTimeout: 10_000, heartbeatInterval: 500 });
  const denied = consumer('describe-only');
  try {
    const crashed = new Promise<Error & { type?: string }>((resolve) => denied.on(denied.events.CRASH, (e) => resolve(e.payload.error)));
    await denied.connect();
    await denied.subscribe({ topics: ['orders-eu'], fromBeginning: true });
    await denied.run({ eachMessage: async () => {} });
    const err = await Promise.race([crashed, new Promise<null>((resolve) => setTimeout(() => resolve(null), 20_000).unref())]);
    assert.ok(err, 'the consumer crashed');
    assert.match(`${err!.type ?? ''} ${err!.message}`, /GROUP_AUTHORIZATION_FAILED|Not authorized to access group/, `${err!.name}: ${err!.type} ${err!.message}`);
    assert.not.ok(env.broker.logs.some((l) => l.includes('request handler failed')), 'every denial was answered, no connection dropped');
    await until('the JoinGroup denial is in the audit log', () => env.broker.logs.some((l) => l.includes('authorization denied') && l.includes('"api":"JoinGroup"') && l.includes('"resourceName":"describe-only"')), 5_000).catch((err) => {
      throw new Error(`${err.message}:\n${env.broker.logs.filter((l) => l.includes('describe-only')).join('\n')}`);
    });
  } finally {
    await denied.disconnect();
  }
  const allowed = consumer('allowed-group');
  try {
    const got: string[] = [];
    await allowed.connect();
    await allowed.subscribe({ topics: ['orders-eu'], fromBeginning: true });
    await allowed.run({ eachMessage: async ({ message }) => void got.push(String(message.value)) });
    const crashes: string[] = [];
    allowed.on(allowed.events.CRASH, (e) => void crashes.push(String(e.payload.error)));
    await until('alice reads orders-eu in allowed-group', () => got.includes('order 1'), 30_000).catch((err) => {
      throw new Error(`${err.message}; crashes: ${crashes.join(', ')}`);
    });
  } finally {
    await allowed.disconnect();
  }
});

test('admin APIs: alice may not create or delete topics, read their configs, or see and change SCRAM users', async () => {
  const alice = saslAdmin('alice', 'alice-pw');
  const codeOf = (p: Promise<unknown>) => p.then(() => 0, (e: { code?: number }) => e.code);
  assert.is(await codeOf(alice.createTopics([{ topic: 'alice-new', numPartitions: 1 }])), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  assert.is(await codeOf(alice.deleteTopics(['a'])), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  assert.is(await codeOf(alice.describeConfigs(['a'])), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  assert.is(await codeOf(describeScramUsers(alice.cluster)), ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  assert.is(await codeOf(upsertScramUser(alice.cluster, 'admin', 'SCRAM-SHA-512', 'stolen')), ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  assert.ok((await metadataTopics(alice)).includes('a'), 'a is still there');
});

test('the super user may do everything: produce to secret, delete it', async () => {
  const admin = saslAdmin('admin', 'admin-pw');
  assert.equal(await produce(admin, ['secret']), { secret: ErrorCode.NONE });
  await admin.deleteTopics(['secret']);
  await until('secret is gone', async () => !(await metadataTopics(admin)).includes('secret'), 10_000);
});

test('KafkaJS as alice sees the authorization error for b and produces to a', async () => {
  const producer = kafkaJs('alice', 'alice-pw').producer();
  await producer.connect();
  try {
    await producer.send({ topic: 'a', messages: [{ value: 'from kafkajs' }] });
    const err = await producer.send({ topic: 'b', messages: [{ value: 'nope' }] }).then(
      () => null,
      (e: Error & { type?: string }) => e,
    );
    assert.ok(err, 'the send to b failed');
    assert.match(`${err!.type ?? ''} ${err!.message}`, /TOPIC_AUTHORIZATION_FAILED|Not authorized to access topics/);
  } finally {
    await producer.disconnect();
  }
});

test('kcat as alice: -L lists a, b and orders-eu only; producing to b fails with Topic authorization failed', async () => {
  const sasl = ['-b', `127.0.0.1:${env.ports.saslPlaintext}`, '-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=SCRAM-SHA-512', '-X', 'sasl.username=alice', '-X', 'sasl.password=alice-pw'];
  const { stdout } = await run('kcat', ['-L', ...sasl, '-m', '5']);
  const listed = [...stdout.matchAll(/topic "([^"]+)"/g)].map((m) => m[1]).sort();
  assert.equal(listed, ['a', 'b', 'orders-eu']);
  const failed = await run('kcat', ['-P', ...sasl, '-t', 'b', '-p', '0', '-X', 'message.timeout.ms=5000'], { input: 'denied\n' }).then(
    (r) => r.stderr,
    (err: Error) => err.message,
  );
  assert.match(failed, /[Tt]opic authorization failed/);
});

test('kastor acls remove takes effect at once; denials are counted in /metrics', async () => {
  const alice = saslAdmin('alice', 'alice-pw');
  assert.equal(await produce(alice, ['a']), { a: ErrorCode.NONE });
  assert.match(await acls('remove', '--allow-principal', 'User:alice', '--operation', 'Write', '--topic', 'a'), /removed Topic:LITERAL:a\tUser:alice\t\*\tWrite\tALLOW/);
  await until('alice may no longer write a', async () => (await produce(alice, ['a'])).a === ErrorCode.TOPIC_AUTHORIZATION_FAILED, 10_000);
  assert.not.match(await acls('list', '--topic', 'a'), /User:alice/);
  const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const m = /kastor_authorization_denied_total\{[^}]*operation="Write"[^}]*resource_type="Topic"[^}]*\} (\d+)/.exec(metrics);
  assert.ok(m && Number(m[1]) >= 3, `denied writes counted:\n${metrics.split('\n').filter((l) => l.includes('denied')).join('\n')}`);
});

test('ACLs changed under one connection that keeps producing: a DENY added fails its next Produce, removed lets it through again', async () => {
  const admin = saslAdmin('admin', 'admin-pw');
  await admin.createTopics([{ topic: 'live', numPartitions: 1 }]);
  const write = { resourceType: 'Topic' as const, name: 'live', patternType: 'LITERAL' as const, principal: 'User:alice', host: '*', operation: 'Write' as const };
  await admin.createAcls([{ ...write, permission: 'ALLOW' }]);
  const alice = saslAdmin('alice', 'alice-pw');
  const nc = await alice.cluster.anyConnection();
  // One connection produces without pause; `codes` holds each answer's error code in order.
  const codes: number[] = [];
  let stop = false;
  const producing = (async () => {
    while (!stop && codes.length < 100_000) codes.push((await produce(alice, ['live'], nc)).live!);
  })();
  const next = async (what: string, code: number) => {
    const from = codes.length;
    await until(what, () => codes.slice(from).includes(code), 10_000);
  };
  try {
    await next('alice writes live', ErrorCode.NONE);
    await admin.createAcls([{ ...write, permission: 'DENY' }]);
    await next('the DENY fails her next Produce on the same connection', ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    const denied = codes.length;
    await until('a few more denials on the connection', () => codes.length > denied + 3, 10_000);
    assert.ok(codes.slice(denied).every((c) => c === ErrorCode.TOPIC_AUTHORIZATION_FAILED), 'denied while the DENY stands');
    assert.is((await admin.deleteAcls([{ ...write, host: '*', permission: 'DENY' }])).length, 1);
    await next('with the DENY removed she writes again on the same connection', ErrorCode.NONE);
  } finally {
    stop = true;
    await producing;
  }
  assert.not.ok(nc.conn.closed, 'one connection throughout');
  const seen = codes.slice(codes.indexOf(ErrorCode.NONE));
  const flips = seen.filter((c, i) => i > 0 && c !== seen[i - 1]).length;
  assert.is(flips, 2, `allowed, then denied, then allowed: ${codes.length} Produce requests`);
  await admin.deleteAcls([{ ...write, host: '*', permission: 'ALLOW' }]);
});

test.run();
