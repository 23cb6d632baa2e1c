// One consumer group of Kafka's classic group protocol: Empty → PreparingRebalance → CompletingRebalance →
// Stable (→ Dead), as Kafka's GroupMetadata states. Pure: requests arrive as events carrying a request id;
// answers leave through the `reply` action (parked JoinGroup/SyncGroup requests are answered later), the
// group metadata record through `persist`; src/group/group-actor.ts provides both.
//
// Timers are XState delays, so the actor's clock (a SimulatedClock in tests) drives them: the rebalance
// timeout and group.initial.rebalance.delay.ms are `after` transitions of PreparingRebalance; each member's
// session timeout is a delayed SESSION_TIMEOUT raised with the member's heartbeat sequence and cancelled by id
// when a heartbeat restarts it. The decisions themselves are the pure functions of src/group/.
import { setup, assign } from 'xstate';
import { ErrorCode } from '../src/protocol/generated/errors.ts';
import type { GroupContext, GroupEvent, GroupInput, GroupReply, GroupStateName, PersistedGroup } from '../src/group/group-types.ts';
import { allMembersJoined, persistedGroup, rebalanceTimeoutOf } from '../src/group/group-rules.ts';
import type { Outcome } from '../src/group/group-outcome.ts';
import { applyJoin, joinStartsRebalance } from '../src/group/group-join.ts';
import {
  applyHeartbeat,
  applyLeave,
  applySync,
  completeRebalance,
  dropLaggards,
  expireMember,
  failAllParked,
  failParkedSyncs,
  isLeaderSync,
  leaveRemovesMember,
  sessionVerdict,
} from '../src/group/group-membership.ts';

export const sessionTimerId = (memberId: string) => `session:${memberId}`;

function initialContext(input: GroupInput): GroupContext {
  const ctx: GroupContext = {
    groupId: input.groupId,
    generationId: 0,
    protocolType: null,
    protocolName: null,
    leaderId: null,
    members: {},
    staticMembers: {},
    pendingMembers: {},
    initialDelayMs: input.initialDelayMs,
    initialDelayPending: false,
    rebalanceSeq: 0,
  };
  const g = input.loaded;
  if (!g) return ctx;
  ctx.generationId = g.generationId;
  ctx.protocolType = g.protocolType;
  ctx.protocolName = g.protocolName;
  ctx.leaderId = g.leaderId;
  for (const m of g.members) {
    ctx.members[m.memberId] = {
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      sessionTimeoutMs: m.sessionTimeoutMs,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      protocolType: g.protocolType ?? '',
      protocols: g.protocolName ? [{ name: g.protocolName, metadata: m.metadata }] : [],
      assignment: m.assignment,
      joinRequest: null,
      syncRequest: null,
      heartbeatSeq: 0,
    };
    if (m.groupInstanceId) ctx.staticMembers[m.groupInstanceId] = m.memberId;
  }
  return ctx;
}

const groupSetup = setup({
  types: {
    context: {} as GroupContext,
    events: {} as GroupEvent,
    input: {} as GroupInput,
  },
  actions: {
    reply: (_, _params: { requestId: string; reply: GroupReply }) => {},
    persist: (_, _params: { group: PersistedGroup }) => {},
  },
  guards: {
    hasMembers: ({ context }) => Object.keys(context.members).length > 0,
    noMembers: ({ context }) => Object.keys(context.members).length === 0 && Object.keys(context.pendingMembers).length === 0,
    readyToComplete: ({ context }) => !context.initialDelayPending && allMembersJoined(context),
    joinStartsRebalance: ({ context, event }, params: { state: GroupStateName }) => event.type === 'JOIN' && joinStartsRebalance(context, params.state, event),
    leaderSync: ({ context, event }) => event.type === 'SYNC' && isLeaderSync(context, 'CompletingRebalance', event),
    leaveRemovesMember: ({ context, event }, params: { state: GroupStateName }) => event.type === 'LEAVE' && leaveRemovesMember(context, params.state, event),
    sessionExpired: ({ context, event }) => event.type === 'SESSION_TIMEOUT' && sessionVerdict(context, event.memberId, event.seq) === 'expire',
    sessionKeptAlive: ({ context, event }) => event.type === 'SESSION_TIMEOUT' && sessionVerdict(context, event.memberId, event.seq) === 'keepAlive',
  },
  delays: {
    rebalanceTimeout: ({ context }) => rebalanceTimeoutOf(context),
    initialDelay: ({ context }) => Math.min(context.initialDelayMs, rebalanceTimeoutOf(context)),
  },
});

/** Turns an Outcome into actions: assign, replies, restarted session timers, the persisted record. */
function perform(step: (ctx: GroupContext, event: any) => Outcome) {
  return groupSetup.enqueueActions(({ context, event, enqueue }) => {
    const out = step(context, event as any);
    const next = out.context;
    for (const id of out.arm) {
      const m = next.members[id];
      if (!m) continue;
      next.members[id] = { ...m, heartbeatSeq: m.heartbeatSeq + 1 };
    }
    enqueue.assign(() => next);
    for (const r of out.replies) enqueue({ type: 'reply', params: r });
    for (const id of out.arm) {
      const m = next.members[id];
      if (!m) continue;
      enqueue.cancel(sessionTimerId(id));
      enqueue.raise({ type: 'SESSION_TIMEOUT', memberId: id, seq: m.heartbeatSeq }, { id: sessionTimerId(id), delay: m.sessionTimeoutMs });
    }
    // KIP-394: an id handed out with MEMBER_ID_REQUIRED is held for one session timeout.
    for (const id of Object.keys(next.pendingMembers)) {
      if (!context.pendingMembers[id] && event.type === 'JOIN') enqueue.raise({ type: 'PENDING_TIMEOUT', memberId: id }, { delay: event.sessionTimeoutMs });
    }
    if (out.persist) enqueue({ type: 'persist', params: { group: persistedGroup(next) } });
  });
}

const inState = (state: GroupStateName) => ({
  join: perform((ctx, e) => applyJoin(ctx, state, e)),
  sync: perform((ctx, e) => applySync(ctx, state, e)),
  heartbeat: perform((ctx, e) => applyHeartbeat(ctx, state, e)),
  leave: perform((ctx, e) => applyLeave(ctx, state, e)),
});

const replyCode = (code: number) =>
  groupSetup.enqueueActions(({ event, enqueue }) => {
    if ('requestId' in event) enqueue({ type: 'reply', params: { requestId: event.requestId, reply: { kind: 'code', errorCode: code } } });
  });

/** Every member's session timer (a group loaded from the log, or one that just completed a rebalance). */
const armAll = perform((ctx) => ({ context: ctx, replies: [], arm: Object.keys(ctx.members), persist: false }));

const empty = inState('Empty');
const preparing = inState('PreparingRebalance');
const completing = inState('CompletingRebalance');
const stable = inState('Stable');

export const groupMachine = groupSetup.createMachine({
  id: 'group',
  context: ({ input }) => initialContext(input),
  initial: 'Booting',
  on: {
    UNLOAD: { target: '.Dead', actions: perform((ctx) => failAllParked(ctx, ErrorCode.NOT_COORDINATOR)) },
    DELETE: { actions: replyCode(ErrorCode.NON_EMPTY_GROUP) },
    PENDING_TIMEOUT: { actions: assign({ pendingMembers: ({ context, event }) => Object.fromEntries(Object.keys(context.pendingMembers).filter((id) => id !== event.memberId).map((id) => [id, true as const])) }) },
    SESSION_TIMEOUT: { guard: 'sessionKeptAlive', actions: perform((ctx, e) => ({ context: ctx, replies: [], arm: [e.memberId], persist: false })) },
  },
  states: {
    // A group read back from __consumer_offsets resumes Stable, its members given a fresh session to reappear.
    Booting: {
      always: [{ guard: 'hasMembers', target: 'Stable', actions: armAll }, { target: 'Empty' }],
    },
    Empty: {
      on: {
        JOIN: [
          { guard: { type: 'joinStartsRebalance', params: { state: 'Empty' } }, target: 'PreparingRebalance', actions: [empty.join, assign({ initialDelayPending: ({ context }) => context.initialDelayMs > 0 })] },
          { actions: empty.join },
        ],
        SYNC: { actions: empty.sync },
        HEARTBEAT: { actions: empty.heartbeat },
        LEAVE: { actions: empty.leave },
        DELETE: { target: 'Dead', actions: replyCode(ErrorCode.NONE) },
      },
    },
    PreparingRebalance: {
      entry: [perform((ctx) => failParkedSyncs(ctx, ErrorCode.REBALANCE_IN_PROGRESS)), assign({ rebalanceSeq: ({ context }) => context.rebalanceSeq + 1 })],
      always: [
        { guard: 'noMembers', target: 'Empty', actions: perform((ctx) => completeRebalance(ctx)) },
        { guard: 'readyToComplete', target: 'CompletingRebalance', actions: perform((ctx) => completeRebalance(ctx)) },
      ],
      after: {
        initialDelay: { actions: assign({ initialDelayPending: false }) },
        rebalanceTimeout: { actions: perform((ctx) => dropLaggards(ctx)) },
      },
      on: {
        JOIN: { actions: preparing.join },
        SYNC: { actions: preparing.sync },
        HEARTBEAT: { actions: preparing.heartbeat },
        LEAVE: { actions: preparing.leave },
        SESSION_TIMEOUT: [{ guard: 'sessionExpired', actions: perform((ctx, e) => expireMember(ctx, e.memberId)) }, { guard: 'sessionKeptAlive', actions: perform((ctx, e) => ({ context: ctx, replies: [], arm: [e.memberId], persist: false })) }],
      },
    },
    CompletingRebalance: {
      on: {
        JOIN: [{ guard: { type: 'joinStartsRebalance', params: { state: 'CompletingRebalance' } }, target: 'PreparingRebalance', actions: completing.join }, { actions: completing.join }],
        SYNC: [{ guard: 'leaderSync', target: 'Stable', actions: completing.sync }, { actions: completing.sync }],
        HEARTBEAT: { actions: completing.heartbeat },
        LEAVE: [{ guard: { type: 'leaveRemovesMember', params: { state: 'CompletingRebalance' } }, target: 'PreparingRebalance', actions: completing.leave }, { actions: completing.leave }],
        SESSION_TIMEOUT: { guard: 'sessionExpired', target: 'PreparingRebalance', actions: perform((ctx, e) => expireMember(ctx, e.memberId)) },
      },
    },
    Stable: {
      on: {
        JOIN: [{ guard: { type: 'joinStartsRebalance', params: { state: 'Stable' } }, target: 'PreparingRebalance', actions: stable.join }, { actions: stable.join }],
        SYNC: { actions: stable.sync },
        HEARTBEAT: { actions: stable.heartbeat },
        LEAVE: [{ guard: { type: 'leaveRemovesMember', params: { state: 'Stable' } }, target: 'PreparingRebalance', actions: stable.leave }, { actions: stable.leave }],
        SESSION_TIMEOUT: { guard: 'sessionExpired', target: 'PreparingRebalance', actions: perform((ctx, e) => expireMember(ctx, e.memberId)) },
      },
    },
    Dead: { type: 'final' },
  },
});

export type GroupMachine = typeof groupMachine;
