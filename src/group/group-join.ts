// JoinGroup as Kafka's GroupCoordinator.doJoinGroup decides it, as pure functions over the group context:
// KIP-394 (a new member first gets MEMBER_ID_REQUIRED with its id), KIP-345 static membership (a rejoining
// group.instance.id takes over its old member's assignment, fencing the old member id), and when a join
// starts a rebalance, waits for one, or is answered at once from the current generation.
import { ErrorCode } from '../protocol/generated/errors.ts';
import type { GroupContext, GroupMember, GroupStateName, JoinEvent } from './group-types.ts';
import { isStaticMemberFenced, joinError, joinReplyFor, metadataFor, sameProtocols, supportsProtocols } from './group-rules.ts';
import { draft, outcome, type Outcome } from './group-outcome.ts';

export type JoinPlan =
  | { kind: 'reject'; code: number }
  | { kind: 'requireMemberId' }
  | { kind: 'add'; memberId: string }
  | { kind: 'replaceStatic'; oldMemberId: string }
  | { kind: 'known' };

export function planJoin(ctx: GroupContext, state: GroupStateName, e: JoinEvent): JoinPlan {
  if (state === 'Dead') return { kind: 'reject', code: ErrorCode.COORDINATOR_NOT_AVAILABLE };
  if (e.memberId === '') {
    if (!supportsProtocols(ctx, '', e.protocolType, e.protocols)) return { kind: 'reject', code: ErrorCode.INCONSISTENT_GROUP_PROTOCOL };
    if (e.groupInstanceId) {
      const old = ctx.staticMembers[e.groupInstanceId];
      return old !== undefined && ctx.members[old] ? { kind: 'replaceStatic', oldMemberId: old } : { kind: 'add', memberId: e.newMemberId };
    }
    return e.requireKnownMemberId ? { kind: 'requireMemberId' } : { kind: 'add', memberId: e.newMemberId };
  }
  if (ctx.pendingMembers[e.memberId]) {
    if (!supportsProtocols(ctx, e.memberId, e.protocolType, e.protocols)) return { kind: 'reject', code: ErrorCode.INCONSISTENT_GROUP_PROTOCOL };
    return { kind: 'add', memberId: e.memberId };
  }
  if (isStaticMemberFenced(ctx, e.memberId, e.groupInstanceId)) return { kind: 'reject', code: ErrorCode.FENCED_INSTANCE_ID };
  if (!ctx.members[e.memberId] || state === 'Empty') return { kind: 'reject', code: ErrorCode.UNKNOWN_MEMBER_ID };
  if (!supportsProtocols(ctx, e.memberId, e.protocolType, e.protocols)) return { kind: 'reject', code: ErrorCode.INCONSISTENT_GROUP_PROTOCOL };
  return { kind: 'known' };
}

/** Whether this join moves the group into PreparingRebalance (from Empty, CompletingRebalance or Stable). */
export function joinStartsRebalance(ctx: GroupContext, state: GroupStateName, e: JoinEvent): boolean {
  if (state === 'PreparingRebalance' || state === 'Dead') return false;
  const plan = planJoin(ctx, state, e);
  switch (plan.kind) {
    case 'reject':
    case 'requireMemberId':
      return false;
    case 'add':
      return true;
    case 'replaceStatic': {
      // KIP-345: a stable group keeps going when the restarted instance brings the same subscription.
      if (state !== 'Stable') return true;
      const old = ctx.members[plan.oldMemberId];
      return !metadataFor(old, ctx.protocolName).equals(e.protocols.find((p) => p.name === ctx.protocolName)?.metadata ?? Buffer.alloc(0));
    }
    case 'known': {
      const m = ctx.members[e.memberId];
      const changed = !sameProtocols(m.protocols, e.protocols);
      return state === 'Stable' ? changed || ctx.leaderId === e.memberId : changed;
    }
  }
}

function memberFrom(e: JoinEvent, memberId: string, assignment: Buffer, heartbeatSeq: number): GroupMember {
  return {
    memberId,
    groupInstanceId: e.groupInstanceId,
    clientId: e.clientId,
    clientHost: e.clientHost,
    sessionTimeoutMs: e.sessionTimeoutMs,
    rebalanceTimeoutMs: e.rebalanceTimeoutMs,
    protocolType: e.protocolType,
    protocols: e.protocols,
    assignment,
    joinRequest: null,
    syncRequest: null,
    heartbeatSeq,
  };
}

/**
 * Applies a JoinGroup in `state`. `rebalancing` says whether the group is (or is now entering)
 * PreparingRebalance, where every join waits for the rebalance to complete.
 */
export function applyJoin(ctx: GroupContext, state: GroupStateName, e: JoinEvent): Outcome {
  const plan = planJoin(ctx, state, e);
  const rebalancing = state === 'PreparingRebalance' || joinStartsRebalance(ctx, state, e);
  const next = draft(ctx);
  const out = outcome(next);
  const park = (memberId: string) => {
    const m = next.members[memberId];
    if (m.joinRequest !== null) out.replies.push({ requestId: m.joinRequest, reply: joinError(memberId, ErrorCode.REBALANCE_IN_PROGRESS) });
    next.members[memberId] = { ...m, joinRequest: e.requestId };
  };
  switch (plan.kind) {
    case 'reject':
      out.replies.push({ requestId: e.requestId, reply: joinError(e.memberId, plan.code) });
      return out;
    case 'requireMemberId':
      next.pendingMembers[e.newMemberId] = true;
      out.replies.push({ requestId: e.requestId, reply: joinError(e.newMemberId, ErrorCode.MEMBER_ID_REQUIRED) });
      return out;
    case 'add': {
      delete next.pendingMembers[plan.memberId];
      next.members[plan.memberId] = memberFrom(e, plan.memberId, Buffer.alloc(0), 0);
      if (e.groupInstanceId) next.staticMembers[e.groupInstanceId] = plan.memberId;
      park(plan.memberId);
      out.arm.push(plan.memberId);
      return out;
    }
    case 'replaceStatic': {
      const old = next.members[plan.oldMemberId];
      // The old member id is fenced: whatever it still waits for is answered FENCED_INSTANCE_ID.
      if (old.joinRequest !== null) out.replies.push({ requestId: old.joinRequest, reply: joinError(old.memberId, ErrorCode.FENCED_INSTANCE_ID) });
      if (old.syncRequest !== null) {
        out.replies.push({ requestId: old.syncRequest, reply: { kind: 'sync', errorCode: ErrorCode.FENCED_INSTANCE_ID, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) } });
      }
      delete next.members[plan.oldMemberId];
      next.members[e.newMemberId] = memberFrom(e, e.newMemberId, old.assignment, old.heartbeatSeq + 1);
      next.staticMembers[e.groupInstanceId!] = e.newMemberId;
      if (next.leaderId === plan.oldMemberId) next.leaderId = e.newMemberId;
      out.arm.push(e.newMemberId);
      if (rebalancing) park(e.newMemberId);
      else {
        // As Kafka's updateStaticMemberAndRebalance: the answer names the leader as it was (the old member id
        // when this instance led), so a restarted leader acts as a follower and does not compute an
        // assignment that a Stable group would never hand out; it gets its old assignment in SyncGroup.
        out.replies.push({ requestId: e.requestId, reply: { ...joinReplyFor(next, e.newMemberId), leader: ctx.leaderId ?? '', members: [] } });
        out.persist = true;
      }
      return out;
    }
    case 'known': {
      const m = next.members[e.memberId];
      next.members[e.memberId] = { ...m, protocols: e.protocols, sessionTimeoutMs: e.sessionTimeoutMs, rebalanceTimeoutMs: e.rebalanceTimeoutMs, clientId: e.clientId, clientHost: e.clientHost };
      out.arm.push(e.memberId);
      if (rebalancing) park(e.memberId);
      else out.replies.push({ requestId: e.requestId, reply: joinReplyFor(next, e.memberId) });
      return out;
    }
  }
}
