// The group APIs on the wire, version by version, with Kastor's raw client against a live broker: batched
// FindCoordinator v4, KIP-394 MEMBER_ID_REQUIRED on JoinGroup v4+ (flexible v9 included), SyncGroup v5,
// Heartbeat v4, batched LeaveGroup v5, OffsetCommit v2/v8 checks (generation, member, unknown topic, simple
// commits), OffsetFetch v1 and batched v8 (never committed = -1, topics null = all), ListGroups v4 with a states
// filter and v5 with a types filter, DescribeGroups v5, DeleteGroups v2 and OffsetDelete v0.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BrokerConnection } from '../../src/client/broker-connection.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { startSingleBroker, type SingleBroker } from '../helpers/single-broker.ts';

let env: SingleBroker;
let conn: BrokerConnection;

/** A consumer-protocol subscription (v0) to `topics`, as JoinGroup metadata. */
function subscription(topics: string[]): Buffer {
  const parts = [Buffer.from([0, 0]), Buffer.alloc(4)];
  parts[1].writeInt32BE(topics.length);
  for (const t of topics) {
    const len = Buffer.alloc(2);
    len.writeInt16BE(Buffer.byteLength(t));
    parts.push(len, Buffer.from(t));
  }
  parts.push(Buffer.from([0xff, 0xff, 0xff, 0xff])); // null user data
  return Buffer.concat(parts);
}

const joinBody = (groupId: string, memberId: string, extra: Record<string, unknown> = {}) => ({
  groupId,
  sessionTimeoutMs: 10_000,
  rebalanceTimeoutMs: 10_000,
  memberId,
  groupInstanceId: null,
  protocolType: 'consumer',
  protocols: [{ name: 'range', metadata: subscription(['gp-topic']) }],
  reason: null,
  ...extra,
});

test.before(async () => {
  env = await startSingleBroker();
  conn = await BrokerConnection.connect({ host: '127.0.0.1', port: env.broker.port });
  const created = await conn.request(ApiKey.CreateTopics, 4, {
    topics: [{ name: 'gp-topic', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  assert.is(created.topics[0].errorCode, ErrorCode.NONE);
});
test.after(async () => {
  conn?.close();
  await env?.close();
});

test('FindCoordinator v4 batches keys; v0 answers one; both name this broker, for groups and transactions', async () => {
  const v4 = await conn.request(ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['ga', 'gb'] });
  assert.equal(v4.coordinators!.map((c) => [c.key, c.errorCode, c.nodeId, c.port]), [['ga', 0, 1, env.broker.port], ['gb', 0, 1, env.broker.port]]);
  const v0 = await conn.request(ApiKey.FindCoordinator, 0, { key: 'ga' });
  assert.is(v0.errorCode, ErrorCode.NONE);
  assert.is(v0.port, env.broker.port);
  const txn = await conn.request(ApiKey.FindCoordinator, 3, { key: 'tx', keyType: 1 });
  assert.equal([txn.errorCode, txn.nodeId, txn.port], [ErrorCode.NONE, 1, env.broker.port], 'the transaction coordinator (__transaction_state created on first use)');
  const unknownType = await conn.request(ApiKey.FindCoordinator, 3, { key: 'x', keyType: 7 });
  assert.is(unknownType.errorCode, ErrorCode.INVALID_REQUEST);
});

test('a group over the wire: MEMBER_ID_REQUIRED, join, sync, heartbeat, commits, fetches, describe, list, leave, delete', async () => {
  const G = 'gp-group';
  const bad = await conn.request(ApiKey.JoinGroup, 5, joinBody(G, '', { sessionTimeoutMs: 10 }));
  assert.is(bad.errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);

  const first = await conn.request(ApiKey.JoinGroup, 9, joinBody(G, ''));
  assert.is(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert.match(first.memberId, /^kastor-/, 'the id is <client.id>-<ULID>');
  const joined = await conn.request(ApiKey.JoinGroup, 9, joinBody(G, first.memberId), 20_000);
  assert.is(joined.errorCode, ErrorCode.NONE);
  assert.is(joined.generationId, 1);
  assert.is(joined.leader, first.memberId);
  assert.is(joined.protocolType, 'consumer');
  assert.is(joined.protocolName, 'range');
  assert.equal(joined.members.map((m) => [m.memberId, m.metadata.equals(subscription(['gp-topic']))]), [[first.memberId, true]]);
  const me = first.memberId;

  const synced = await conn.request(ApiKey.SyncGroup, 5, { groupId: G, generationId: 1, memberId: me, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [{ memberId: me, assignment: Buffer.from('my-assignment') }] });
  assert.is(synced.errorCode, ErrorCode.NONE);
  assert.is(synced.assignment.toString(), 'my-assignment');
  assert.is((await conn.request(ApiKey.Heartbeat, 4, { groupId: G, generationId: 1, memberId: me, groupInstanceId: null })).errorCode, ErrorCode.NONE);
  assert.is((await conn.request(ApiKey.Heartbeat, 0, { groupId: G, generationId: 0, memberId: me })).errorCode, ErrorCode.ILLEGAL_GENERATION);

  const commit = (version: number, generationIdOrMemberEpoch: number, memberId: string, topic = 'gp-topic', metadata: string | null = 'note') =>
    conn.request(ApiKey.OffsetCommit, version, {
      groupId: G,
      generationIdOrMemberEpoch,
      memberId,
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: metadata }] }],
    });
  assert.is((await commit(8, 1, me)).topics[0].partitions[0].errorCode, ErrorCode.NONE);
  assert.is((await commit(8, 0, me)).topics[0].partitions[0].errorCode, ErrorCode.ILLEGAL_GENERATION, 'a stale generation');
  assert.is((await commit(2, 1, 'stranger')).topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.is((await commit(2, -1, '')).topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_MEMBER_ID, 'simple commits only to an Empty group');
  assert.is((await commit(8, 1, me, 'no-such-topic')).topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  assert.is((await commit(8, 1, me, 'gp-topic', 'x'.repeat(5000))).topics[0].partitions[0].errorCode, ErrorCode.OFFSET_METADATA_TOO_LARGE);

  const v1 = await conn.request(ApiKey.OffsetFetch, 1, { groupId: G, topics: [{ name: 'gp-topic', partitionIndexes: [0, 1] }] });
  assert.equal(v1.topics![0].partitions.map((p) => [p.partitionIndex, p.committedOffset, p.metadata, p.errorCode]), [[0, 42n, 'note', 0], [1, -1n, '', 0]], 'never committed = -1, no error');
  const v8 = await conn.request(ApiKey.OffsetFetch, 8, { groups: [{ groupId: G, topics: null }, { groupId: 'gp-nobody', topics: [{ name: 'gp-topic', partitionIndexes: [1] }] }], requireStable: false });
  assert.equal(v8.groups!.map((g) => [g.groupId, g.errorCode, g.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.committedOffset])])]), [
    [G, 0, [['gp-topic', [[0, 42n]]]]],
    ['gp-nobody', 0, [['gp-topic', [[1, -1n]]]]],
  ]);

  const described = await conn.request(ApiKey.DescribeGroups, 5, { groups: [G, 'gp-unknown'], includeAuthorizedOperations: false });
  assert.equal(described.groups.map((g) => [g.groupId, g.errorCode, g.groupState, g.protocolData, g.members.length]), [[G, 0, 'Stable', 'range', 1], ['gp-unknown', 0, 'Dead', '', 0]]);
  assert.is(described.groups[0].members[0].memberAssignment.toString(), 'my-assignment');

  const stable = await conn.request(ApiKey.ListGroups, 4, { statesFilter: ['stable'] });
  assert.ok(stable.groups.some((g) => g.groupId === G && g.groupState === 'Stable'));
  const empties = await conn.request(ApiKey.ListGroups, 4, { statesFilter: ['Empty'] });
  assert.not.ok(empties.groups.some((g) => g.groupId === G));
  // v5 (KIP-848): every Kastor group is of the classic protocol; the type filter is case-insensitive and a
  // type with no group of it (consumer) or unknown to Kafka lists nothing.
  const classic = await conn.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['Classic'] });
  assert.equal(classic.groups.filter((g) => g.groupId === G).map((g) => [g.groupState, g.groupType]), [['Stable', 'classic']]);
  assert.equal((await conn.request(ApiKey.ListGroups, 5, { statesFilter: ['stable'], typesFilter: [] })).groups.find((g) => g.groupId === G)?.groupType, 'classic');
  for (const other of [['consumer'], ['share', 'nope']]) {
    assert.equal((await conn.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: other })).groups, [], `types ${other.join(',')}`);
  }

  const refused = await conn.request(ApiKey.OffsetDelete, 0, { groupId: G, topics: [{ name: 'gp-topic', partitions: [{ partitionIndex: 0 }] }] });
  assert.is(refused.topics[0].partitions[0].errorCode, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
  const notEmpty = await conn.request(ApiKey.DeleteGroups, 2, { groupsNames: [G, 'gp-never'] });
  assert.equal(notEmpty.results.map((r) => [r.groupId, r.errorCode]), [[G, ErrorCode.NON_EMPTY_GROUP], ['gp-never', ErrorCode.GROUP_ID_NOT_FOUND]]);

  const left = await conn.request(ApiKey.LeaveGroup, 5, { groupId: G, members: [{ memberId: me, groupInstanceId: null, reason: 'done' }, { memberId: 'ghost', groupInstanceId: null, reason: null }] });
  assert.equal(left.members!.map((m) => [m.memberId, m.errorCode]), [[me, 0], ['ghost', ErrorCode.UNKNOWN_MEMBER_ID]]);
  assert.is((await conn.request(ApiKey.ListGroups, 4, { statesFilter: ['Empty'] })).groups.find((g) => g.groupId === G)?.groupState, 'Empty');

  // Empty now: a simple commit is allowed, OffsetDelete removes an offset, DeleteGroups the group and the rest.
  assert.is((await commit(2, -1, '')).topics[0].partitions[0].errorCode, ErrorCode.NONE);
  const deletedOffset = await conn.request(ApiKey.OffsetDelete, 0, { groupId: G, topics: [{ name: 'gp-topic', partitions: [{ partitionIndex: 0 }] }] });
  assert.is(deletedOffset.topics[0].partitions[0].errorCode, ErrorCode.NONE);
  const after = await conn.request(ApiKey.OffsetFetch, 2, { groupId: G, topics: null });
  assert.equal(after.topics, [], 'the offset is gone');
  const deleted = await conn.request(ApiKey.DeleteGroups, 2, { groupsNames: [G] });
  assert.is(deleted.results[0].errorCode, ErrorCode.NONE);
  assert.not.ok((await conn.request(ApiKey.ListGroups, 4, { statesFilter: [] })).groups.some((g) => g.groupId === G));
});

test.run();
