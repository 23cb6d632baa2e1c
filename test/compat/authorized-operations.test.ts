// KIP-430 with a real client: Confluent's JavaScript client (librdkafka 2.15) asks a broker with the ACL
// authorizer, over SASL_PLAINTEXT as SCRAM users, for the authorized operations of topics (fetchTopicMetadata:
// librdkafka's DescribeTopics, Metadata with include_topic_authorized_operations) and of consumer groups
// (describeGroups: DescribeGroups v3+ with include_authorized_operations), and gets what the ACLs allow,
// implied operations included; the super user gets every operation. Kastor's client asks DescribeCluster and
// Metadata v10 for the cluster's (Confluent's client has no describeCluster): the principal's with Describe on
// the cluster, 0 without, INT32_MIN when not asked.
//
// The client is not an npm devDependency (see test/helpers/confluent-kafka-javascript.ts): it is built into a
// cache by scripts/build-confluent-kafka-javascript.ts, and this file fails when that build is missing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Kafka } from '../../src/client/index.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import type { AclBinding } from '../../src/security/acl.ts';
import { OPERATIONS_NOT_REQUESTED, operationsOf } from '../../src/security/authorized-operations.ts';
import { startSecureBroker, type SecureBroker } from '../helpers/secure-broker.ts';
import { loadConfluentKafkaJavascript } from '../helpers/confluent-kafka-javascript.ts';

const { lib } = loadConfluentKafkaJavascript();

/** Kafka's AclOperation codes by the names Kastor uses, to read the client's answers. */
const CODE: Record<string, number> = { Read: 3, Write: 4, Create: 5, Delete: 6, Alter: 7, Describe: 8, ClusterAction: 9, DescribeConfigs: 10, AlterConfigs: 11, IdempotentWrite: 12 };
const codes = (...names: string[]) => names.map((n) => CODE[n]!).sort((a, b) => a - b);

interface ConfluentAdminKip430 {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  fetchTopicMetadata(o: { topics: string[]; includeAuthorizedOperations?: boolean; timeout?: number }): Promise<Array<{ name: string; authorizedOperations?: number[] }>>;
  describeGroups(groups: string[], o?: { includeAuthorizedOperations?: boolean; timeout?: number }): Promise<{ groups: Array<{ groupId: string; state?: number; error?: unknown; authorizedOperations?: number[] }> }>;
}

let env: SecureBroker;
const open: Array<{ disconnect?(): Promise<void>; close?(): Promise<void> }> = [];

function confluentAdmin(user: string, password: string): ConfluentAdminKip430 {
  const { Kafka: CKafka, logLevel } = lib.KafkaJS;
  const admin = new CKafka({
    'bootstrap.servers': `127.0.0.1:${env.ports.saslPlaintext}`,
    'security.protocol': 'sasl_plaintext',
    'sasl.mechanisms': 'SCRAM-SHA-512',
    'sasl.username': user,
    'sasl.password': password,
    kafkaJS: { logLevel: logLevel.NOTHING },
  }).admin() as unknown as ConfluentAdminKip430;
  open.push(admin);
  return admin;
}

function kastorAdmin(user: string, password: string) {
  const admin = new Kafka({ bootstrap: `127.0.0.1:${env.ports.saslPlaintext}`, clientId: `kip430-${user}`, sasl: { mechanism: 'SCRAM-SHA-512', username: user, password }, retry: { retries: 1, maxBackoffMs: 200 } }).admin();
  open.push(admin);
  return admin;
}

const allow = (b: Partial<AclBinding>): AclBinding => ({ resourceType: 'Topic', name: 'kip-read', patternType: 'LITERAL', principal: 'User:alice', host: '*', operation: 'Read', permission: 'ALLOW', ...b });

// uvu reports a failing before hook as its tests failing, silently: say why here.
test.before(async () => {
  await setUp().catch((err) => {
    console.error('setting up failed:', err);
    throw err;
  });
});

async function setUp() {
  env = await startSecureBroker(['--authorizer', 'acl', '--super-users', 'User:admin;User:ANONYMOUS', '--auto-create-topics=false']);
  for (const [user, pw] of [['alice', 'alice-pw'], ['bob', 'bob-pw'], ['admin', 'admin-pw']]) await env.createUser(user!, pw!, 'SCRAM-SHA-512');
  const internal = new Kafka({ bootstrap: `127.0.0.1:${env.ports.plaintext}`, clientId: 'kip430-setup' }).admin();
  try {
    await internal.createTopics(['kip-read', 'kip-all', 'kip-configs', 'kip-hidden'].map((topic) => ({ topic, numPartitions: 1 })));
    await internal.createAcls([
      allow({}),
      allow({ name: 'kip-all', operation: 'All' }),
      allow({ name: 'kip-all', operation: 'Delete', permission: 'DENY' }),
      allow({ name: 'kip-configs', operation: 'AlterConfigs' }),
      allow({ name: 'kip-configs', operation: 'Describe' }),
      allow({ resourceType: 'Group', name: 'kip-group', operation: 'Read' }),
      allow({ resourceType: 'Cluster', name: 'kafka-cluster', operation: 'Describe' }),
      allow({ resourceType: 'Cluster', name: 'kafka-cluster', operation: 'IdempotentWrite' }),
    ]);
  } finally {
    await internal.close();
  }
}

test.after(async () => {
  await Promise.allSettled(open.map((c) => (c.disconnect ? c.disconnect() : c.close!())));
  await env?.close();
});

test('fetchTopicMetadata with includeAuthorizedOperations: alice gets what her ACLs allow per topic, the super user everything', async () => {
  const alice = confluentAdmin('alice', 'alice-pw');
  await alice.connect();
  const topics = await alice.fetchTopicMetadata({ topics: ['kip-read', 'kip-all', 'kip-configs'], includeAuthorizedOperations: true, timeout: 10_000 });
  const byName = Object.fromEntries(topics.map((t) => [t.name, [...(t.authorizedOperations ?? [])].sort((a, b) => a - b)]));
  assert.equal(byName['kip-read'], codes('Read', 'Describe'), 'Read implies Describe');
  assert.equal(byName['kip-all'], codes('Read', 'Write', 'Create', 'Alter', 'Describe', 'DescribeConfigs', 'AlterConfigs'), 'All less the denied Delete');
  assert.equal(byName['kip-configs'], codes('Describe', 'DescribeConfigs', 'AlterConfigs'), 'AlterConfigs implies DescribeConfigs');
  const denied = await alice.fetchTopicMetadata({ topics: ['kip-hidden'], includeAuthorizedOperations: true, timeout: 10_000 }).then(
    () => null,
    (e: Error) => e,
  );
  assert.ok(denied, 'kip-hidden is not alice\'s to describe');

  const admin = confluentAdmin('admin', 'admin-pw');
  await admin.connect();
  const [hidden] = await admin.fetchTopicMetadata({ topics: ['kip-hidden'], includeAuthorizedOperations: true, timeout: 10_000 });
  assert.equal([...(hidden!.authorizedOperations ?? [])].sort((a, b) => a - b), codes('Read', 'Write', 'Create', 'Delete', 'Alter', 'Describe', 'DescribeConfigs', 'AlterConfigs'));
});

test('describeGroups with includeAuthorizedOperations: Read on the group gives Read and Describe; the super user all three', async () => {
  const alice = confluentAdmin('alice', 'alice-pw');
  await alice.connect();
  const { groups } = await alice.describeGroups(['kip-group'], { includeAuthorizedOperations: true, timeout: 10_000 });
  assert.is(groups[0]!.groupId, 'kip-group');
  assert.equal([...(groups[0]!.authorizedOperations ?? [])].sort((a, b) => a - b), codes('Read', 'Describe'));
  const admin = confluentAdmin('admin', 'admin-pw');
  await admin.connect();
  const su = await admin.describeGroups(['kip-group'], { includeAuthorizedOperations: true, timeout: 10_000 });
  assert.equal([...(su.groups[0]!.authorizedOperations ?? [])].sort((a, b) => a - b), codes('Read', 'Delete', 'Describe'));
});

test('the cluster\'s operations (Kastor\'s client): DescribeCluster and Metadata v10 answer alice\'s, 0 to bob, INT32_MIN when not asked', async () => {
  const clusterOps = async (user: string, password: string, include: boolean) => {
    const admin = kastorAdmin(user, password);
    const nc = await admin.cluster.anyConnection();
    const described = (await admin.cluster.send(nc, ApiKey.DescribeCluster, () => ({ includeClusterAuthorizedOperations: include }))).body.clusterAuthorizedOperations;
    // v10: the last version with the cluster's field (Kafka moved it to DescribeCluster in v11).
    const metadata = await nc.conn.request(ApiKey.Metadata, 10, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: include, includeTopicAuthorizedOperations: false });
    return { described, metadata: metadata.clusterAuthorizedOperations };
  };
  const alice = await clusterOps('alice', 'alice-pw', true);
  assert.equal(operationsOf(alice.described), ['Describe', 'IdempotentWrite']);
  assert.equal(alice.metadata, alice.described);
  assert.equal(await clusterOps('bob', 'bob-pw', true), { described: 0, metadata: 0 });
  assert.equal(await clusterOps('alice', 'alice-pw', false), { described: OPERATIONS_NOT_REQUESTED, metadata: OPERATIONS_NOT_REQUESTED });
});

test.run();
