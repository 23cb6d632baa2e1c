// The rest of the classic group protocol as pure functions over the group context (Kafka's GroupCoordinator):
// completing a rebalance into a new generation, SyncGroup, Heartbeat, LeaveGroup (KIP-345 batched members),
// member expiry, and answering parked requests when the group moves on or is unloaded.
import { ErrorCode } from '../protocol/generated/errors.ts';
import type { GroupContext, GroupStateName, HeartbeatEvent, LeaveEvent, SyncEvent, SyncReply } from './group-types.ts';
import { isStaticMemberFenced, joinError, joinReplyFor, selectProtocol } from './group-rules.ts';
import { draft, outcome, type Outcome } from './group-outcome.ts';

const EMPTY = Buffer.alloc(0);

function syncReply(errorCode: number, ctx?: GroupContext, assignment: Buffer = EMPTY): SyncReply {
  return { kind: 'sync', errorCode, protocolType: ctx?.protocolType ?? null, protocolName: ctx?.protocolName ?? null, assignment };
}

/** Removes a member; anything it still waits for is answered `code` (UNKNOWN_MEMBER_ID by default). */
export function removeMember(next: GroupContext, out: Outcome, memberId: string, code: number = ErrorCode.UNKNOWN_MEMBER_ID): void {
  const m = next.members[memberId];
  if (!m) return;
  if (m.joinRequest !== null) out.replies.push({ requestId: m.joinRequest, reply: joinError(memberId, code) });
  if (m.syncRequest !== null) out.replies.push({ requestId: m.syncRequest, reply: syncReply(code) });
  delete next.members[memberId];
  if (m.groupInstanceId && next.staticMembers[m.groupInstanceId] === memberId) delete next.staticMembers[m.groupInstanceId];
}

/**
 * Kafka's initNextGeneration + the join responses: the generation advances, the leader stays if it rejoined
 * (else the first member), the protocol is chosen, every parked JoinGroup is answered. An empty group goes
 * to generation+1 with no protocol, as Kafka writes it.
 */
export function completeRebalance(ctx: GroupContext): Outcome {
  const next = draft(ctx);
  const out = outcome(next);
  next.generationId = ctx.generationId + 1;
  next.initialDelayPending = false;
  const ids = Object.keys(next.members);
  if (ids.length === 0) {
    next.protocolName = null;
    next.leaderId = null;
    out.persist = true;
    return out;
  }
  next.leaderId = ctx.leaderId !== null && next.members[ctx.leaderId] ? ctx.leaderId : ids[0];
  next.protocolType = next.members[next.leaderId].protocolType;
  next.protocolName = selectProtocol(next, next.leaderId);
  for (const id of ids) next.members[id] = { ...next.members[id], assignment: EMPTY, joinRequest: null };
  for (const id of ids) {
    const parked = ctx.members[id].joinRequest;
    if (parked !== null) out.replies.push({ requestId: parked, reply: joinReplyFor(next, id) });
    out.arm.push(id);
  }
  return out;
}

/** The first SyncGroup checks, in Kafka's order; null when the request may proceed. */
export function syncError(ctx: GroupContext, state: GroupStateName, e: SyncEvent): number | null {
  if (state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  if (isStaticMemberFenced(ctx, e.memberId, e.groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID;
  if (!ctx.members[e.memberId] || state === 'Empty') return ErrorCode.UNKNOWN_MEMBER_ID;
  if (e.generationId !== ctx.generationId) return ErrorCode.ILLEGAL_GENERATION;
  if ((e.protocolType !== null && e.protocolType !== ctx.protocolType) || (e.protocolName !== null && e.protocolName !== ctx.protocolName)) {
    return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
  }
  if (state === 'PreparingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
  return null;
}

export function isLeaderSync(ctx: GroupContext, state: GroupStateName, e: SyncEvent): boolean {
  return state === 'CompletingRebalance' && syncError(ctx, state, e) === null && ctx.leaderId === e.memberId;
}

/** SyncGroup: rejected, answered from the current generation (Stable), parked, or — from the leader — ends the rebalance. */
export function applySync(ctx: GroupContext, state: GroupStateName, e: SyncEvent): Outcome {
  const next = draft(ctx);
  const out = outcome(next);
  const error = syncError(ctx, state, e);
  if (error !== null) {
    out.replies.push({ requestId: e.requestId, reply: syncReply(error) });
    return out;
  }
  out.arm.push(e.memberId);
  if (state === 'Stable') {
    out.replies.push({ requestId: e.requestId, reply: syncReply(ErrorCode.NONE, ctx, ctx.members[e.memberId].assignment) });
    return out;
  }
  const m = next.members[e.memberId];
  if (m.syncRequest !== null) out.replies.push({ requestId: m.syncRequest, reply: syncReply(ErrorCode.REBALANCE_IN_PROGRESS) });
  next.members[e.memberId] = { ...m, syncRequest: e.requestId };
  if (ctx.leaderId !== e.memberId) return out;
  // Kafka's setAndPropagateAssignment: members the leader left out get an empty assignment.
  const given = new Map(e.assignments.map((a) => [a.memberId, a.assignment]));
  for (const id of Object.keys(next.members)) {
    const member = next.members[id];
    const assignment = given.get(id) ?? EMPTY;
    if (member.syncRequest !== null) out.replies.push({ requestId: member.syncRequest, reply: syncReply(ErrorCode.NONE, next, assignment) });
    next.members[id] = { ...member, assignment, syncRequest: null };
  }
  out.persist = true;
  return out;
}

/** Heartbeat: the checks, then REBALANCE_IN_PROGRESS while rebalancing (clients rejoin on it, KafkaJS included). */
export function applyHeartbeat(ctx: GroupContext, state: GroupStateName, e: HeartbeatEvent): Outcome {
  const out = outcome(ctx);
  let code: number = ErrorCode.NONE;
  if (state === 'Dead') code = ErrorCode.COORDINATOR_NOT_AVAILABLE;
  else if (isStaticMemberFenced(ctx, e.memberId, e.groupInstanceId)) code = ErrorCode.FENCED_INSTANCE_ID;
  else if (!ctx.members[e.memberId] || state === 'Empty') code = ErrorCode.UNKNOWN_MEMBER_ID;
  else if (e.generationId !== ctx.generationId) code = ErrorCode.ILLEGAL_GENERATION;
  else if (state === 'PreparingRebalance') code = ErrorCode.REBALANCE_IN_PROGRESS;
  if (code === ErrorCode.NONE || code === ErrorCode.REBALANCE_IN_PROGRESS) out.arm.push(e.memberId);
  out.replies.push({ requestId: e.requestId, reply: { kind: 'code', errorCode: code } });
  return out;
}

/** LeaveGroup: each identity removed or given its error (KIP-345 per-member results, v3+). */
export function applyLeave(ctx: GroupContext, state: GroupStateName, e: LeaveEvent): Outcome & { removed: number } {
  const next = draft(ctx);
  const out = outcome(next);
  let removed = 0;
  const results = e.members.map(({ memberId, groupInstanceId }) => {
    let errorCode: number = ErrorCode.NONE;
    if (state === 'Dead') errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
    else if (groupInstanceId) {
      const owner = next.staticMembers[groupInstanceId];
      if (owner === undefined) errorCode = ErrorCode.UNKNOWN_MEMBER_ID;
      else if (memberId !== '' && memberId !== owner) errorCode = ErrorCode.FENCED_INSTANCE_ID;
      else {
        removeMember(next, out, owner);
        removed++;
      }
    } else if (next.pendingMembers[memberId]) {
      delete next.pendingMembers[memberId];
      removed++;
    } else if (!next.members[memberId]) errorCode = ErrorCode.UNKNOWN_MEMBER_ID;
    else {
      removeMember(next, out, memberId);
      removed++;
    }
    return { memberId, groupInstanceId, errorCode };
  });
  out.replies.push({ requestId: e.requestId, reply: { kind: 'leave', errorCode: ErrorCode.NONE, members: results } });
  return { ...out, removed };
}

export function leaveRemovesMember(ctx: GroupContext, state: GroupStateName, e: LeaveEvent): boolean {
  return applyLeave(ctx, state, e).removed > 0;
}

/** A session timer fired: stale (a later heartbeat), kept alive (the member waits in Join/Sync), or the member expires. */
export function sessionVerdict(ctx: GroupContext, memberId: string, seq: number): 'stale' | 'keepAlive' | 'expire' {
  const m = ctx.members[memberId];
  if (!m || m.heartbeatSeq !== seq) return 'stale';
  if (m.joinRequest !== null || m.syncRequest !== null) return 'keepAlive';
  return 'expire';
}

export function expireMember(ctx: GroupContext, memberId: string): Outcome {
  const next = draft(ctx);
  const out = outcome(next);
  removeMember(next, out, memberId);
  return out;
}

/** The rebalance timeout: members that did not rejoin and ids never used are dropped (Kafka's onCompleteJoin). */
export function dropLaggards(ctx: GroupContext): Outcome {
  const next = draft(ctx);
  const out = outcome(next);
  for (const m of Object.values(ctx.members)) if (m.joinRequest === null) removeMember(next, out, m.memberId);
  next.pendingMembers = {};
  next.initialDelayPending = false;
  return out;
}

/** Answers every parked SyncGroup with `code` (a rebalance started before the leader's assignment came). */
export function failParkedSyncs(ctx: GroupContext, code: number): Outcome {
  const next = draft(ctx);
  const out = outcome(next);
  for (const m of Object.values(ctx.members)) {
    if (m.syncRequest === null) continue;
    out.replies.push({ requestId: m.syncRequest, reply: syncReply(code) });
    next.members[m.memberId] = { ...m, syncRequest: null };
  }
  return out;
}

/** Unloading or deleting: every parked request is answered `code`. */
export function failAllParked(ctx: GroupContext, code: number): Outcome {
  const next = draft(ctx);
  const out = outcome(next);
  for (const m of Object.values(ctx.members)) {
    if (m.joinRequest !== null) out.replies.push({ requestId: m.joinRequest, reply: joinError(m.memberId, code) });
    if (m.syncRequest !== null) out.replies.push({ requestId: m.syncRequest, reply: syncReply(code) });
    next.members[m.memberId] = { ...m, joinRequest: null, syncRequest: null };
  }
  return out;
}
