// Authorization of consumer groups, as Kafka's KafkaApis: JoinGroup, SyncGroup, Heartbeat, LeaveGroup and
// OffsetCommit need Read on the group (GROUP_AUTHORIZATION_FAILED for the whole request); OffsetCommit also Read
// on each topic (TOPIC_AUTHORIZATION_FAILED for that topic's partitions); OffsetFetch needs Describe on the group
// and answers only the topics the principal may Describe; DescribeGroups and FindCoordinator need Describe, and
// DeleteGroups Delete, on each group; ListGroups lists the groups the principal may Describe; OffsetDelete needs
// Delete on the group and Read on each topic. DescribeGroups asked for authorized operations (KIP-430) carries
// the principal's on each group answered without an error.
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { OffsetCommitRequest, OffsetCommitResponse } from '../../protocol/generated/offset-commit.ts';
import type { OffsetFetchRequest, OffsetFetchResponse } from '../../protocol/generated/offset-fetch.ts';
import type { OffsetDeleteRequest } from '../../protocol/generated/offset-delete.ts';
import { CLUSTER_NAME } from '../../security/acl.ts';
import { OPERATIONS_NOT_REQUESTED } from '../../security/authorized-operations.ts';
import { may, split, type Gate } from './gate.ts';

const GROUP_DENIED = ErrorCode.GROUP_AUTHORIZATION_FAILED;

/** A gate that answers `denied(body)` unless the principal may Read the request's group. */
function groupRead(denied: (req: any, apiVersion: number) => object): Gate {
  return async (req: { groupId: string }, g, next) => (may(g, 'Read', 'Group', req.groupId) ? next(req) : denied(req, g.apiVersion));
}

export const joinGroupGate = groupRead((req, v) => ({
  throttleTimeMs: 0,
  errorCode: GROUP_DENIED,
  generationId: -1,
  protocolType: null,
  protocolName: v >= 7 ? null : '', // nullable from v7
  leader: '',
  skipAssignment: false,
  memberId: req.memberId ?? '',
  members: [],
}));
export const syncGroupGate = groupRead(() => ({ throttleTimeMs: 0, errorCode: GROUP_DENIED, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) }));
export const heartbeatGate = groupRead(() => ({ throttleTimeMs: 0, errorCode: GROUP_DENIED }));
export const leaveGroupGate = groupRead(() => ({ throttleTimeMs: 0, errorCode: GROUP_DENIED, members: [] }));

export const offsetCommitGate: Gate = async (req: OffsetCommitRequest, g, next) => {
  const answer = (topics: OffsetCommitRequest['topics'], errorCode: number) => topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) }));
  if (!may(g, 'Read', 'Group', req.groupId)) return { throttleTimeMs: 0, topics: answer(req.topics, GROUP_DENIED) } as OffsetCommitResponse;
  const { yes, no } = split(req.topics, (t) => may(g, 'Read', 'Topic', t.name));
  if (no.length === 0) return next(req);
  const denied = answer(no, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  if (yes.length === 0) return { throttleTimeMs: 0, topics: denied } as OffsetCommitResponse;
  const res = (await next({ ...req, topics: yes })) as OffsetCommitResponse;
  return { ...res, topics: [...res.topics, ...denied] };
};

export const offsetFetchGate: Gate = async (req: OffsetFetchRequest, g, next) => {
  const visible = <T extends { name: string }>(topics: T[]) => topics.filter((t) => may(g, 'Describe', 'Topic', t.name, true));
  if (g.apiVersion >= 8) {
    // v8: several groups, each answered on its own.
    const allowed = (req.groups ?? []).filter((gr) => may(g, 'Describe', 'Group', gr.groupId));
    const denied = (req.groups ?? []).filter((gr) => !allowed.includes(gr)).map((gr) => ({ groupId: gr.groupId, topics: [], errorCode: GROUP_DENIED }));
    const res = allowed.length === 0 ? ({ throttleTimeMs: 0, groups: [] } as OffsetFetchResponse) : ((await next({ ...req, groups: allowed })) as OffsetFetchResponse);
    return { ...res, groups: [...(res.groups ?? []).map((gr) => ({ ...gr, topics: visible(gr.topics) })), ...denied] };
  }
  if (!may(g, 'Describe', 'Group', req.groupId ?? '')) {
    // v0-1 carry the error per partition only.
    const topics = (req.topics ?? []).map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: null, errorCode: GROUP_DENIED })) }));
    return { throttleTimeMs: 0, topics, errorCode: GROUP_DENIED } as OffsetFetchResponse;
  }
  const res = (await next(req)) as OffsetFetchResponse;
  return { ...res, topics: visible(res.topics ?? []) };
};

type DescribedGroups = { throttleTimeMs: number; groups: Array<{ groupId: string; errorCode: number; authorizedOperations?: number }> };

export const describeGroupsGate: Gate = async (req: { groups: string[]; includeAuthorizedOperations?: boolean }, g, next) => {
  const { yes, no } = split(req.groups, (id) => may(g, 'Describe', 'Group', id));
  const denied = no.map((groupId) => ({ errorCode: GROUP_DENIED, groupId, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: OPERATIONS_NOT_REQUESTED }));
  const res: DescribedGroups = yes.length === 0 ? { throttleTimeMs: 0, groups: [] } : await next(no.length === 0 ? req : { ...req, groups: yes });
  const own = (gr: DescribedGroups['groups'][number]) =>
    req.includeAuthorizedOperations && gr.errorCode === ErrorCode.NONE ? { ...gr, authorizedOperations: g.authz.operations(g.conn, 'Group', gr.groupId) } : gr;
  return { ...res, groups: [...res.groups.map(own), ...denied] };
};

/** Kafka lists every group to a principal with Describe on the cluster, else only the groups it may Describe. */
export const listGroupsGate: Gate = async (req, g, next) => {
  const res = await next(req);
  if (may(g, 'Describe', 'Cluster', CLUSTER_NAME, true)) return res;
  return { ...res, groups: res.groups.filter((gr: { groupId: string }) => may(g, 'Describe', 'Group', gr.groupId, true)) };
};

export const deleteGroupsGate: Gate = async (req: { groupsNames: string[] }, g, next) => {
  const { yes, no } = split(req.groupsNames, (id) => may(g, 'Delete', 'Group', id));
  if (no.length === 0) return next(req);
  const denied = no.map((groupId) => ({ groupId, errorCode: GROUP_DENIED }));
  const res = yes.length === 0 ? { throttleTimeMs: 0, results: [] } : await next({ ...req, groupsNames: yes });
  return { ...res, results: [...res.results, ...denied] };
};

/** FindCoordinator: Describe on the group (key type 0) or the transactional id (1). */
export const findCoordinatorGate: Gate = async (req: { key?: string; keyType?: number; coordinatorKeys?: string[] }, g, next) => {
  const txn = req.keyType === 1;
  const allowed = (key: string) => may(g, 'Describe', txn ? 'TransactionalId' : 'Group', key);
  const errorCode = txn ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED : GROUP_DENIED;
  if (g.apiVersion < 4) return allowed(req.key ?? '') ? next(req) : { throttleTimeMs: 0, errorCode, errorMessage: 'Authorization failed.', nodeId: -1, host: '', port: -1 };
  const { yes, no } = split(req.coordinatorKeys ?? [], allowed);
  if (no.length === 0) return next(req);
  const denied = no.map((key) => ({ key, nodeId: -1, host: '', port: -1, errorCode, errorMessage: 'Authorization failed.' }));
  const res = yes.length === 0 ? { throttleTimeMs: 0, coordinators: [] } : await next({ ...req, coordinatorKeys: yes });
  return { ...res, coordinators: [...res.coordinators, ...denied] };
};

/** OffsetDelete: Delete on the group (GROUP_AUTHORIZATION_FAILED), Read on each topic (TOPIC_AUTHORIZATION_FAILED). */
export const offsetDeleteGate: Gate = async (req: OffsetDeleteRequest, g, next) => {
  if (!may(g, 'Delete', 'Group', req.groupId)) return { errorCode: GROUP_DENIED, throttleTimeMs: 0, topics: [] };
  const { yes, no } = split(req.topics, (t) => may(g, 'Read', 'Topic', t.name));
  if (no.length === 0) return next(req);
  const denied = no.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED })) }));
  const res = yes.length === 0 ? { errorCode: 0, throttleTimeMs: 0, topics: [] } : await next({ ...req, topics: yes });
  return { ...res, topics: [...res.topics, ...denied] };
};
