// KIP-430 authorized operations: the bitfield (src/security/authorized-operations.ts) computed with Kafka's
// decision rules (implied operations, All, DENY, super users); the Metadata, DescribeGroups and DescribeCluster
// gates putting the principal's operations where the handler put all of them (INT32_MIN where not asked for or
// denied, 0 for a cluster the principal may not Describe); and brokers without an authorizer on the memory
// runtime answering every supported operation when asked, as Kafka does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { authorize, type AuthorizerSettings } from '../../src/security/acl-authorizer.ts';
import type { AclBinding, Operation, ResourceType } from '../../src/security/acl.ts';
import { allOperations, authorizedOperations, operationsBitfield, operationsOf, OPERATIONS_NOT_REQUESTED } from '../../src/security/authorized-operations.ts';
import { BrokerAuthorizer } from '../../src/security/broker-authorizer.ts';
import { aclKey } from '../../src/security/acl-store.ts';
import type { ClusterSnapshot, TopicInfo } from '../../src/metadata/types.ts';
import type { GateContext } from '../../src/broker/authorization/gate.ts';
import { metadataGate } from '../../src/broker/authorization/data-gates.ts';
import { describeGroupsGate } from '../../src/broker/authorization/group-gates.ts';
import { describeClusterGate } from '../../src/broker/authorization/cluster-gates.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { createLogger } from '../../src/util/logger.ts';
import { memoryCluster } from '../../src/runtime/memory/memory-runtime.ts';
import { ask, startBrokers } from '../helpers/memory-brokers.ts';

const SETTINGS: AuthorizerSettings = { superUsers: ['User:admin'], allowEveryoneIfNoAclFound: false };
const acl = (b: Partial<AclBinding>): AclBinding => ({ resourceType: 'Topic', name: 't', patternType: 'LITERAL', principal: 'User:alice', host: '*', operation: 'Read', permission: 'ALLOW', ...b });
/** The operations alice (or `principal`) may do on the resource under `acls`, by name. */
function ops(acls: AclBinding[], type: ResourceType, name: string, principal = 'User:alice'): Operation[] {
  return operationsOf(authorizedOperations(type, (operation) => authorize(acls, SETTINGS, { principal, host: '10.0.0.1', operation, resourceType: type, resourceName: name }).allowed));
}

test('the bitfield: bit n for AclOperation code n, over the operations of each resource type', () => {
  assert.is(operationsBitfield(['Read']), 1 << 3);
  assert.is(operationsBitfield(['Describe', 'IdempotentWrite']), (1 << 8) | (1 << 12));
  // READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11.
  assert.is(allOperations('Topic'), 0b1101_1111_1000);
  // READ 3, DELETE 6, DESCRIBE 8.
  assert.is(allOperations('Group'), 0b1_0100_1000);
  // CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12.
  assert.is(allOperations('Cluster'), 0b1_1111_1010_0000);
  assert.equal(operationsOf(allOperations('Group')), ['Read', 'Delete', 'Describe']);
  assert.equal(operationsOf(OPERATIONS_NOT_REQUESTED), []);
});

test('implied operations count: Read, Write, Delete, Alter imply Describe; AlterConfigs implies DescribeConfigs', () => {
  assert.equal(ops([acl({})], 'Topic', 't'), ['Read', 'Describe']);
  assert.equal(ops([acl({ operation: 'Write' })], 'Topic', 't'), ['Write', 'Describe']);
  assert.equal(ops([acl({ operation: 'AlterConfigs' })], 'Topic', 't'), ['DescribeConfigs', 'AlterConfigs']);
  assert.equal(ops([acl({ operation: 'Describe' })], 'Topic', 't'), ['Describe'], 'Describe implies nothing else');
  assert.equal(ops([acl({ resourceType: 'Group', name: 'g', operation: 'Delete' })], 'Group', 'g'), ['Delete', 'Describe']);
  assert.equal(ops([acl({ operation: 'Read' })], 'Topic', 'other'), [], 'another topic: nothing');
});

test('All allows every supported operation; a DENY takes its operation out, and is not implied', () => {
  assert.equal(ops([acl({ operation: 'All' })], 'Topic', 't'), ['Read', 'Write', 'Create', 'Delete', 'Alter', 'Describe', 'DescribeConfigs', 'AlterConfigs']);
  const denyDescribe = [acl({ operation: 'All' }), acl({ operation: 'Describe', permission: 'DENY' })];
  assert.equal(ops(denyDescribe, 'Topic', 't'), ['Read', 'Write', 'Create', 'Delete', 'Alter', 'DescribeConfigs', 'AlterConfigs']);
  const denyRead = [acl({ operation: 'All' }), acl({ operation: 'Read', permission: 'DENY' })];
  assert.ok(ops(denyRead, 'Topic', 't').includes('Describe'), 'a DENY of Read does not deny Describe');
  assert.equal(ops([acl({ name: 'orders-', patternType: 'PREFIXED', principal: 'User:*', operation: 'Write' })], 'Topic', 'orders-eu', 'User:bob'), ['Write', 'Describe']);
});

test('the cluster: ClusterAction and IdempotentWrite are cluster operations; a super user has all of them', () => {
  const cluster = (b: Partial<AclBinding>) => acl({ resourceType: 'Cluster', name: 'kafka-cluster', ...b });
  assert.equal(ops([cluster({ operation: 'IdempotentWrite' })], 'Cluster', 'kafka-cluster'), ['IdempotentWrite']);
  assert.equal(ops([cluster({ operation: 'Alter' }), cluster({ operation: 'ClusterAction' })], 'Cluster', 'kafka-cluster'), ['Alter', 'Describe', 'ClusterAction']);
  assert.is(authorizedOperations('Cluster', (operation) => authorize([], SETTINGS, { principal: 'User:admin', host: 'h', operation, resourceType: 'Cluster', resourceName: 'kafka-cluster' }).allowed), allOperations('Cluster'));
});

// The gates, with a real BrokerAuthorizer over a hand-made snapshot (as authorization-gates.test.ts).
const topic = (name: string, id: string): TopicInfo => ({ name, id, partitions: [], config: {}, createdAt: 0 });
const ACLS: AclBinding[] = [
  acl({ name: 'mine', operation: 'Write' }),
  acl({ name: 'cfg', operation: 'AlterConfigs' }),
  acl({ name: 'cfg', operation: 'Describe' }),
  acl({ resourceType: 'Group', name: 'g', operation: 'Read' }),
];
function snapshotWith(acls: AclBinding[]): ClusterSnapshot {
  const byResource: Record<string, { resourceType: ResourceType; name: string; patternType: 'LITERAL' | 'PREFIXED'; entries: object[] }> = {};
  for (const b of acls) {
    const key = aclKey(b).slice(5);
    byResource[key] ??= { resourceType: b.resourceType, name: b.name, patternType: b.patternType, entries: [] };
    byResource[key].entries.push({ principal: b.principal, host: b.host, operation: b.operation, permission: b.permission });
  }
  return {
    clusterId: 'c',
    brokers: {},
    controller: null,
    revision: 1,
    topics: { mine: topic('mine', '1'.repeat(32)), cfg: topic('cfg', '3'.repeat(32)), theirs: topic('theirs', '2'.repeat(32)) },
    acls: byResource as ClusterSnapshot['acls'],
  };
}

function ctx(apiVersion: number, acls = ACLS, denied: string[] = []): GateContext {
  const snapshot = snapshotWith(acls);
  const logger = createLogger({ now: () => 0, sink: () => {} });
  const authz = new BrokerAuthorizer({ settings: SETTINGS, metadata: { snapshot: () => snapshot, subscribe: () => () => {} }, logger, onDenied: (op, type) => denied.push(`${op} ${type}`) });
  const conn = { id: 1, remote: '127.0.0.1:5000', closed: false, security: { principal: 'User:alice', peerHost: '127.0.0.1' } as never };
  const svc = { metadata: { snapshot: () => snapshot }, config: { autoCreateTopics: false }, logger } as never;
  return { apiVersion, clientId: null, conn, svc, authz, api: 'Test' };
}

/** What the Metadata handler answers without an authorizer: every topic, and all operations where asked. */
function handlerAnswer(req: { includeClusterAuthorizedOperations?: boolean; includeTopicAuthorizedOperations?: boolean }, names: string[]) {
  const topicOps = req.includeTopicAuthorizedOperations ? allOperations('Topic') : OPERATIONS_NOT_REQUESTED;
  return {
    throttleTimeMs: 0,
    brokers: [],
    topics: names.map((name) => ({ name, errorCode: 0, topicId: '0'.repeat(32), partitions: [], isInternal: false, topicAuthorizedOperations: topicOps })),
    clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? allOperations('Cluster') : OPERATIONS_NOT_REQUESTED,
  };
}

test('Metadata gate: each listed topic carries the principal\'s operations; denied topics and unasked fields keep INT32_MIN', async () => {
  const req = { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: true, includeTopicAuthorizedOperations: true };
  const denied: string[] = [];
  const all = (await metadataGate(req, ctx(9, ACLS, denied), async (b: any) => handlerAnswer(b, ['cfg', 'mine', 'theirs']))) as any;
  assert.equal(all.topics.map((t: any) => [t.name, operationsOf(t.topicAuthorizedOperations)]), [['cfg', ['Describe', 'DescribeConfigs', 'AlterConfigs']], ['mine', ['Write', 'Describe']]]);
  assert.is(all.clusterAuthorizedOperations, 0, 'no Describe on the cluster: 0');
  assert.equal(denied, ['Describe Cluster'], 'the cluster check is logged, as Kafka logs it');

  const named = { ...req, topics: [{ name: 'mine' }, { name: 'theirs' }] };
  const r = (await metadataGate(named, ctx(10), async (b: any) => handlerAnswer(b, b.topics.map((t: any) => t.name)))) as any;
  assert.equal(r.topics.map((t: any) => [t.name, t.errorCode, t.topicAuthorizedOperations]), [['mine', 0, operationsBitfield(['Write', 'Describe'])], ['theirs', ErrorCode.TOPIC_AUTHORIZATION_FAILED, OPERATIONS_NOT_REQUESTED]]);

  const unasked = { ...req, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };
  const u = (await metadataGate(unasked, ctx(9), async (b: any) => handlerAnswer(b, ['mine']))) as any;
  assert.is(u.topics[0].topicAuthorizedOperations, OPERATIONS_NOT_REQUESTED);
  assert.is(u.clusterAuthorizedOperations, OPERATIONS_NOT_REQUESTED);

  const describer = [...ACLS, acl({ resourceType: 'Cluster', name: 'kafka-cluster', operation: 'IdempotentWrite' }), acl({ resourceType: 'Cluster', name: 'kafka-cluster', operation: 'Describe' })];
  const c = (await metadataGate({ ...req, includeTopicAuthorizedOperations: false }, ctx(9, describer), async (b: any) => handlerAnswer(b, ['mine']))) as any;
  assert.equal(operationsOf(c.clusterAuthorizedOperations), ['Describe', 'IdempotentWrite']);
  assert.is(c.topics[0].topicAuthorizedOperations, OPERATIONS_NOT_REQUESTED, 'topics not asked for');
});

test('DescribeGroups gate: a group answered without an error gets the principal\'s operations, a denied one INT32_MIN', async () => {
  const next = async (b: any) => ({ throttleTimeMs: 0, groups: b.groups.map((groupId: string) => ({ groupId, errorCode: groupId === 'g' ? 0 : ErrorCode.COORDINATOR_NOT_AVAILABLE, authorizedOperations: allOperations('Group') })) });
  const withG2 = [...ACLS, acl({ resourceType: 'Group', name: 'g2', operation: 'Describe' })];
  const res = (await describeGroupsGate({ groups: ['g', 'g2', 'other'], includeAuthorizedOperations: true }, ctx(5, withG2), next)) as any;
  assert.equal(
    res.groups.map((g: any) => [g.groupId, g.errorCode, operationsOf(g.authorizedOperations)]),
    [['g', 0, ['Read', 'Describe']], ['g2', ErrorCode.COORDINATOR_NOT_AVAILABLE, ['Read', 'Delete', 'Describe']], ['other', ErrorCode.GROUP_AUTHORIZATION_FAILED, []]],
  );
  assert.is(res.groups[2].authorizedOperations, OPERATIONS_NOT_REQUESTED);
  const unasked = (await describeGroupsGate({ groups: ['g'], includeAuthorizedOperations: false }, ctx(5), async (b: any) => ({ throttleTimeMs: 0, groups: b.groups.map((groupId: string) => ({ groupId, errorCode: 0, authorizedOperations: OPERATIONS_NOT_REQUESTED })) }))) as any;
  assert.is(unasked.groups[0].authorizedOperations, OPERATIONS_NOT_REQUESTED);
});

test('DescribeCluster gate: the principal\'s operations with Describe on the cluster, 0 without, INT32_MIN unasked', async () => {
  const next = async (b: any) => ({ throttleTimeMs: 0, errorCode: 0, errorMessage: null, endpointType: 1, clusterId: 'c', controllerId: 1, brokers: [], clusterAuthorizedOperations: b.includeClusterAuthorizedOperations ? allOperations('Cluster') : OPERATIONS_NOT_REQUESTED });
  const alter = [acl({ resourceType: 'Cluster', name: 'kafka-cluster', operation: 'Alter' })];
  assert.equal(operationsOf(((await describeClusterGate({ includeClusterAuthorizedOperations: true }, ctx(0, alter), next)) as any).clusterAuthorizedOperations), ['Alter', 'Describe']);
  assert.is(((await describeClusterGate({ includeClusterAuthorizedOperations: true }, ctx(0), next)) as any).clusterAuthorizedOperations, 0);
  assert.is(((await describeClusterGate({ includeClusterAuthorizedOperations: false }, ctx(0, alter), next)) as any).clusterAuthorizedOperations, OPERATIONS_NOT_REQUESTED);
});

test('without an authorizer, brokers answer every supported operation when asked (Kafka\'s authorizedOperations with no authorizer)', async () => {
  const cluster = memoryCluster({ seed: 430 });
  const { brokers, stop } = await startBrokers(cluster);
  const b = brokers[0]!;
  try {
    const created = await ask(cluster, b, ApiKey.CreateTopics, 4, { topics: [{ name: 'kip430', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
    assert.is(created.topics[0]!.errorCode, ErrorCode.NONE);
    const asked = await ask(cluster, b, ApiKey.Metadata, 9, { topics: [{ name: 'kip430' }, { name: 'missing' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: true, includeTopicAuthorizedOperations: true });
    assert.equal(asked.topics.map((t) => [t.name, t.errorCode, t.topicAuthorizedOperations]), [['kip430', 0, allOperations('Topic')], ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, allOperations('Topic')]]);
    assert.is(asked.clusterAuthorizedOperations, allOperations('Cluster'));
    const unasked = await ask(cluster, b, ApiKey.Metadata, 9, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    assert.ok(unasked.topics.every((t) => t.topicAuthorizedOperations === OPERATIONS_NOT_REQUESTED));
    assert.is(unasked.clusterAuthorizedOperations, OPERATIONS_NOT_REQUESTED);
    const v12 = await ask(cluster, b, ApiKey.Metadata, 12, { topics: [{ name: 'kip430', topicId: '0'.repeat(32) }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: true });
    assert.is(v12.topics[0]!.topicAuthorizedOperations, allOperations('Topic'));

    const described = await ask(cluster, b, ApiKey.DescribeCluster, 0, { includeClusterAuthorizedOperations: true });
    assert.is(described.clusterAuthorizedOperations, allOperations('Cluster'));
    assert.is((await ask(cluster, b, ApiKey.DescribeCluster, 0, { includeClusterAuthorizedOperations: false })).clusterAuthorizedOperations, OPERATIONS_NOT_REQUESTED);

    const found = await ask(cluster, b, ApiKey.FindCoordinator, 3, { key: 'nobody', keyType: 0 });
    assert.is(found.errorCode, ErrorCode.NONE);
    const coordinator = brokers.find((x) => x.config.brokerId === found.nodeId)!;
    const groups = await ask(cluster, coordinator, ApiKey.DescribeGroups, 5, { groups: ['nobody'], includeAuthorizedOperations: true });
    assert.equal(groups.groups.map((g) => [g.groupState, g.errorCode, g.authorizedOperations]), [['Dead', 0, allOperations('Group')]]);
    const plain = await ask(cluster, coordinator, ApiKey.DescribeGroups, 5, { groups: ['nobody'], includeAuthorizedOperations: false });
    assert.is(plain.groups[0]!.authorizedOperations, OPERATIONS_NOT_REQUESTED);
  } finally {
    await stop();
  }
});

test.run();
