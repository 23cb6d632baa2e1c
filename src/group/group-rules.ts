// Pure rules of Kafka's classic group coordinator (GroupMetadata / GroupCoordinator in Kafka), used by the
// group machine's guards and actions and by the offset-commit checks: who is a member, who is fenced, when a
// rebalance may complete, which protocol wins, and what a JoinGroup response carries.
import { ErrorCode } from '../protocol/generated/errors.ts';
import type { GroupContext, GroupMember, GroupProtocol, GroupStateName, JoinReply, PersistedGroup } from './group-types.ts';

export const NO_GENERATION = -1;

/** KIP-345: a known group.instance.id presented with another member id is a zombie of an old instance. */
export function isStaticMemberFenced(ctx: GroupContext, memberId: string, groupInstanceId: string | null | undefined): boolean {
  if (!groupInstanceId) return false;
  const owner = ctx.staticMembers[groupInstanceId];
  return owner !== undefined && owner !== memberId;
}

/** The protocols every member supports, given one more candidate member's list. */
export function commonProtocols(ctx: GroupContext, extra?: { memberId: string; protocols: GroupProtocol[] }): string[] {
  const lists = Object.values(ctx.members)
    .filter((m) => m.memberId !== extra?.memberId)
    .map((m) => m.protocols.map((p) => p.name));
  if (extra) lists.push(extra.protocols.map((p) => p.name));
  if (lists.length === 0) return [];
  return lists[0].filter((name) => lists.every((l) => l.includes(name)));
}

/** Kafka's supportsProtocols: an empty group takes anything non-empty; otherwise type and one protocol must match. */
export function supportsProtocols(ctx: GroupContext, memberId: string, protocolType: string, protocols: GroupProtocol[]): boolean {
  if (protocolType === '' || protocols.length === 0) return false;
  const others = Object.values(ctx.members).filter((m) => m.memberId !== memberId);
  if (others.length === 0) return true;
  if (ctx.protocolType !== null && ctx.protocolType !== protocolType) return false;
  return commonProtocols(ctx, { memberId, protocols }).length > 0;
}

/** The selected protocol: the first one in the leader's preference order that every member supports. */
export function selectProtocol(ctx: GroupContext, leaderId: string): string | null {
  const common = new Set(commonProtocols(ctx));
  const leader = ctx.members[leaderId];
  return leader?.protocols.find((p) => common.has(p.name))?.name ?? null;
}

/** Kafka's hasAllMembersJoined: every member is waiting in JoinGroup and no KIP-394 member id is outstanding. */
export function allMembersJoined(ctx: GroupContext): boolean {
  const members = Object.values(ctx.members);
  return members.length > 0 && members.every((m) => m.joinRequest !== null) && Object.keys(ctx.pendingMembers).length === 0;
}

export function metadataFor(member: GroupMember, protocolName: string | null): Buffer {
  return member.protocols.find((p) => p.name === protocolName)?.metadata ?? Buffer.alloc(0);
}

export function sameProtocols(a: GroupProtocol[], b: GroupProtocol[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i].name && p.metadata.equals(b[i].metadata));
}

/** The JoinGroup answer for one member of the current generation; only the leader sees the members. */
export function joinReplyFor(ctx: GroupContext, memberId: string, errorCode: number = ErrorCode.NONE): JoinReply {
  const isLeader = ctx.leaderId === memberId;
  return {
    kind: 'join',
    errorCode,
    generationId: ctx.generationId,
    protocolType: ctx.protocolType,
    protocolName: ctx.protocolName,
    leader: ctx.leaderId ?? '',
    memberId,
    members: isLeader
      ? Object.values(ctx.members).map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: metadataFor(m, ctx.protocolName) }))
      : [],
  };
}

export function joinError(memberId: string, errorCode: number): JoinReply {
  return { kind: 'join', errorCode, generationId: NO_GENERATION, protocolType: null, protocolName: null, leader: '', memberId, members: [] };
}

/** The longest rebalance timeout among the members: how long a rebalance waits for rejoins (Kafka's delayed join). */
export function rebalanceTimeoutOf(ctx: GroupContext): number {
  return Math.max(0, ...Object.values(ctx.members).map((m) => m.rebalanceTimeoutMs));
}

/** Kafka's group metadata record for a group: the selected protocol's metadata and the assignment per member. */
export function persistedGroup(ctx: GroupContext): PersistedGroup {
  return {
    generationId: ctx.generationId,
    protocolType: ctx.protocolType,
    protocolName: ctx.protocolName,
    leaderId: ctx.leaderId,
    members: Object.values(ctx.members).map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      sessionTimeoutMs: m.sessionTimeoutMs,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      metadata: metadataFor(m, ctx.protocolName),
      assignment: m.assignment,
    })),
  };
}

/**
 * Kafka's OffsetCommit checks (GroupCoordinator.handleCommitOffsets): a simple consumer (generation -1, no
 * member id) may commit to an Empty group; a group member must name the current generation; commits wait
 * while the leader's assignment is outstanding.
 */
export function commitErrorFor(
  state: GroupStateName | null,
  ctx: GroupContext | null,
  req: { memberId: string; generationId: number; groupInstanceId: string | null },
): number {
  if (state === null || ctx === null) return req.generationId < 0 ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION;
  if (state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  if (isStaticMemberFenced(ctx, req.memberId, req.groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID;
  if (req.generationId < 0 && state === 'Empty') return ErrorCode.NONE;
  if (state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
  if (!ctx.members[req.memberId]) return ErrorCode.UNKNOWN_MEMBER_ID;
  if (req.generationId !== ctx.generationId) return ErrorCode.ILLEGAL_GENERATION;
  return ErrorCode.NONE;
}
