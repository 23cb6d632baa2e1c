// The authorization gates (src/broker/authorization) on their own, with a real BrokerAuthorizer over a hand-made
// snapshot: what reaches the handler and what the merged answer holds, in the request forms of several versions
// (DeleteTopics by name and by id, OffsetFetch of one group and of several, Metadata v0's "empty is all").
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BrokerAuthorizer } from '../../src/security/broker-authorizer.ts';
import { aclKey } from '../../src/security/acl-store.ts';
import type { AclBinding } from '../../src/security/acl.ts';
import type { ClusterSnapshot, TopicInfo } from '../../src/metadata/types.ts';
import type { GateContext } from '../../src/broker/authorization/gate.ts';
import { deleteTopicsGate } from '../../src/broker/authorization/admin-gates.ts';
import { offsetFetchGate } from '../../src/broker/authorization/group-gates.ts';
import { fetchGate, metadataGate, produceGate } from '../../src/broker/authorization/data-gates.ts';
import { findCoordinatorGate } from '../../src/broker/authorization/group-gates.ts';
import { addPartitionsToTxnGate } from '../../src/broker/authorization/txn-gates.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { createLogger } from '../../src/util/logger.ts';

const topic = (name: string, id: string): TopicInfo => ({ name, id, partitions: [], config: {}, createdAt: 0 });
const ACLS: AclBinding[] = [
  { resourceType: 'Topic', name: 'mine', patternType: 'LITERAL', principal: 'User:alice', host: '*', operation: 'All', permission: 'ALLOW' },
  { resourceType: 'Group', name: 'g', patternType: 'LITERAL', principal: 'User:alice', host: '*', operation: 'Read', permission: 'ALLOW' },
];
const snapshot: ClusterSnapshot = {
  clusterId: 'c',
  brokers: {},
  controller: null,
  revision: 1,
  topics: { mine: topic('mine', '1'.repeat(32)), theirs: topic('theirs', '2'.repeat(32)) },
  acls: Object.fromEntries(ACLS.map((b) => [aclKey(b).slice(5), { resourceType: b.resourceType, name: b.name, patternType: b.patternType, entries: [{ principal: b.principal, host: b.host, operation: b.operation, permission: b.permission }] }])),
};

function ctx(apiVersion: number, denied: string[] = []): GateContext {
  const logger = createLogger({ now: () => 0, sink: () => {} });
  const authz = new BrokerAuthorizer({ settings: { superUsers: [], allowEveryoneIfNoAclFound: false }, metadata: { snapshot: () => snapshot, subscribe: () => () => {} }, logger, onDenied: (op, type) => denied.push(`${op} ${type}`) });
  const conn = { id: 1, remote: '127.0.0.1:5000', closed: false, security: { principal: 'User:alice', peerHost: '127.0.0.1' } as never };
  const svc = { metadata: { snapshot: () => snapshot }, config: { autoCreateTopics: false }, logger, metrics: { authorizationDenied: { inc: () => {} } } } as never;
  return { apiVersion, clientId: null, conn, svc, authz, api: 'Test' };
}

test('DeleteTopics: by name (v1) and by name or id (v6), the denied ones answered TOPIC_AUTHORIZATION_FAILED', async () => {
  const seen: unknown[] = [];
  const next = async (b: any) => (seen.push(b), { throttleTimeMs: 0, responses: (b.topicNames.length ? b.topicNames : b.topics.map((t: any) => t.name ?? t.topicId)).map((name: string) => ({ name, errorCode: 0 })) });
  const v1 = (await deleteTopicsGate({ topics: [], topicNames: ['mine', 'theirs'], timeoutMs: 1 }, ctx(1), next)) as any;
  assert.equal((seen[0] as any).topicNames, ['mine']);
  assert.equal(v1.responses.map((r: any) => [r.name, r.errorCode]), [['mine', 0], ['theirs', ErrorCode.TOPIC_AUTHORIZATION_FAILED]]);
  const v6 = (await deleteTopicsGate({ topics: [{ name: null, topicId: '2'.repeat(32) }, { name: 'mine', topicId: '0'.repeat(32) }], topicNames: [], timeoutMs: 1 }, ctx(6), next)) as any;
  assert.equal((seen[1] as any).topics, [{ name: 'mine', topicId: '0'.repeat(32) }]);
  assert.equal(v6.responses.at(-1), { name: null, topicId: '2'.repeat(32), errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'Authorization failed.' });
});

test('OffsetFetch: one group (v4) passes through with only describable topics; several groups (v8) each decided', async () => {
  const answer = { throttleTimeMs: 0, errorCode: 0, topics: [{ name: 'mine', partitions: [] }, { name: 'theirs', partitions: [] }] };
  const v4 = (await offsetFetchGate({ groupId: 'g', topics: null, groups: [], requireStable: false }, ctx(4), async () => answer)) as any;
  assert.equal(v4.topics.map((t: any) => t.name), ['mine']);
  const denied = (await offsetFetchGate({ groupId: 'other', topics: [{ name: 'mine', partitionIndexes: [0] }], groups: [] }, ctx(4), async () => assert.unreachable('denied group reached the handler'))) as any;
  assert.is(denied.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  assert.is(denied.topics[0].partitions[0].errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  const v8 = (await offsetFetchGate({ groupId: '', topics: [], groups: [{ groupId: 'g', topics: null }, { groupId: 'other', topics: null }] }, ctx(8), async (b: any) => ({ throttleTimeMs: 0, groups: b.groups.map((gr: any) => ({ groupId: gr.groupId, topics: answer.topics, errorCode: 0 })) }))) as any;
  assert.equal(v8.groups.map((gr: any) => [gr.groupId, gr.errorCode, gr.topics.length]), [['g', 0, 1], ['other', ErrorCode.GROUP_AUTHORIZATION_FAILED, 0]]);
});

test('Metadata: all topics are filtered quietly; named ones denied loudly; v0 with only denied names does not answer all topics', async () => {
  const all = { throttleTimeMs: 0, brokers: [], topics: [{ name: 'mine', errorCode: 0 }, { name: 'theirs', errorCode: 0 }] };
  const denied: string[] = [];
  const r1 = (await metadataGate({ topics: null }, ctx(1, denied), async () => all)) as any;
  assert.equal(r1.topics.map((t: any) => t.name), ['mine']);
  assert.equal(denied, [], 'listing all topics logs nothing');
  const r0 = (await metadataGate({ topics: [{ name: 'theirs' }] }, ctx(0, denied), async (b: any) => (assert.equal(b.topics, []), all))) as any;
  assert.equal(r0.topics.map((t: any) => [t.name, t.errorCode]), [['theirs', ErrorCode.TOPIC_AUTHORIZATION_FAILED]]);
  assert.equal(denied, ['Describe Topic']);
});

test('Produce: a denied topic is answered beside the allowed ones; acks=0 with all denied answers nothing', async () => {
  const req = (acks: number) => ({ transactionalId: null, acks, timeoutMs: 1, topicData: [{ name: 'theirs', partitionData: [{ index: 0, records: null }] }, { name: 'mine', partitionData: [{ index: 0, records: null }] }] });
  const res = (await produceGate(req(1), ctx(7), async (b: any) => ({ responses: b.topicData.map((t: any) => ({ name: t.name, partitionResponses: [{ index: 0, errorCode: 0 }] })), throttleTimeMs: 0 }))) as any;
  assert.equal(res.responses.map((t: any) => [t.name, t.partitionResponses[0].errorCode]), [['mine', 0], ['theirs', ErrorCode.TOPIC_AUTHORIZATION_FAILED]]);
  const none = await produceGate({ ...req(0), topicData: req(0).topicData.slice(0, 1) }, ctx(7), async () => assert.unreachable());
  assert.is(none, null);
  const txn = (await produceGate({ ...req(1), transactionalId: 'tx' }, ctx(7), async () => assert.unreachable())) as any;
  assert.ok(txn.responses.every((t: any) => t.partitionResponses[0].errorCode === ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED));
});

test('Fetch: a denied topic is answered TOPIC_AUTHORIZATION_FAILED with an empty record set, never null (librdkafka 0119)', async () => {
  const req = { replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1000, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '', topics: ['theirs', 'mine'].map((topic) => ({ topic, topicId: '0'.repeat(32), partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1000 }] })) };
  const next = async (b: any) => ({ throttleTimeMs: 0, errorCode: 0, sessionId: 0, nodeEndpoints: [], responses: b.topics.map((t: any) => ({ topic: t.topic, topicId: t.topicId, partitions: [{ partitionIndex: 0, errorCode: 0, records: Buffer.from('x') }] })) });
  const res = (await fetchGate(req, ctx(12), next)) as any;
  const theirs = res.responses.find((t: any) => t.topic === 'theirs').partitions[0];
  assert.is(theirs.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  assert.ok(Buffer.isBuffer(theirs.records) && theirs.records.length === 0, 'an empty record set');
  assert.is(res.responses.find((t: any) => t.topic === 'mine').partitions[0].errorCode, 0);
});

test('FindCoordinator v4 answers each denied key beside the allowed ones; v3 denies the one key', async () => {
  const res = (await findCoordinatorGate({ keyType: 0, coordinatorKeys: ['g', 'other'] }, ctx(4), async (b: any) => ({ throttleTimeMs: 0, coordinators: b.coordinatorKeys.map((key: string) => ({ key, nodeId: 1, errorCode: 0 })) }))) as any;
  assert.equal(res.coordinators.map((c: any) => [c.key, c.errorCode]), [['g', 0], ['other', ErrorCode.GROUP_AUTHORIZATION_FAILED]]);
  const v3 = (await findCoordinatorGate({ key: 'tx', keyType: 1 }, ctx(3), async () => assert.unreachable())) as any;
  assert.is(v3.errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
});

test('AddPartitionsToTxn: one denied topic means nothing is added (OPERATION_NOT_ATTEMPTED for the rest)', async () => {
  const txnAcl = { resourceType: 'TransactionalId', name: 'tx', patternType: 'LITERAL', entries: [{ principal: 'User:alice', host: '*', operation: 'Write', permission: 'ALLOW' }] };
  (snapshot as { acls: Record<string, unknown> }).acls = { ...snapshot.acls, tx: txnAcl };
  const req = { v3AndBelowTransactionalId: 'tx', v3AndBelowProducerId: 1n, v3AndBelowProducerEpoch: 0, v3AndBelowTopics: [{ name: 'mine', partitions: [0] }, { name: 'theirs', partitions: [0, 1] }] };
  const res = (await addPartitionsToTxnGate(req, ctx(3), async () => assert.unreachable())) as any;
  assert.equal(res.resultsByTopicV3AndBelow.map((t: any) => [t.name, t.resultsByPartition.map((p: any) => p.partitionErrorCode)]), [['mine', [ErrorCode.OPERATION_NOT_ATTEMPTED]], ['theirs', [ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.TOPIC_AUTHORIZATION_FAILED]]]);
  let reached = false;
  await addPartitionsToTxnGate({ ...req, v3AndBelowTopics: req.v3AndBelowTopics.slice(0, 1) }, ctx(3), async () => ((reached = true), {}));
  assert.ok(reached, 'allowed throughout: the handler adds them');
});

test.run();
