// The group machine on a simulated clock: KIP-394 joins, rebalances and generations, the leader's
// assignment handed out in SyncGroup, heartbeats during a rebalance, session and rebalance timeouts, late
// SyncGroups and stale generations, LeaveGroup, KIP-345 static membership, DeleteGroups.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, SimulatedClock } from 'xstate';
import { groupMachine } from '../../machines/group.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import type { GroupReply, JoinReply, PersistedGroup, SyncReply, LeaveReply } from '../../src/group/group-types.ts';

const SESSION = 6000;
const REBALANCE = 10_000;

function startGroup(initialDelayMs = 0, loaded: PersistedGroup | null = null) {
  const clock = new SimulatedClock();
  const replies = new Map<string, GroupReply>();
  const persisted: PersistedGroup[] = [];
  const machine = groupMachine.provide({
    actions: {
      reply: (_, p) => void replies.set(p.requestId, p.reply),
      persist: (_, p) => void persisted.push(p.group),
    },
  });
  const actor = createActor(machine, { input: { groupId: 'g', initialDelayMs, loaded }, clock }).start();
  let seq = 0;
  const state = () => actor.getSnapshot().value as string;
  const ctx = () => actor.getSnapshot().context;
  const join = (memberId: string, opts: { instance?: string; meta?: string; protocols?: string[]; newId?: string; v4?: boolean } = {}) => {
    const requestId = `r${++seq}`;
    actor.send({
      type: 'JOIN',
      requestId,
      memberId,
      groupInstanceId: opts.instance ?? null,
      clientId: 'c',
      clientHost: '/127.0.0.1',
      sessionTimeoutMs: SESSION,
      rebalanceTimeoutMs: REBALANCE,
      protocolType: 'consumer',
      protocols: (opts.protocols ?? ['range']).map((name) => ({ name, metadata: Buffer.from(opts.meta ?? 'topics=t') })),
      requireKnownMemberId: opts.v4 ?? false,
      newMemberId: opts.newId ?? `m${seq}`,
    });
    return requestId;
  };
  const sync = (memberId: string, generationId: number, assignments: Record<string, string> = {}, instance: string | null = null) => {
    const requestId = `r${++seq}`;
    actor.send({
      type: 'SYNC',
      requestId,
      memberId,
      groupInstanceId: instance,
      generationId,
      protocolType: null,
      protocolName: null,
      assignments: Object.entries(assignments).map(([m, a]) => ({ memberId: m, assignment: Buffer.from(a) })),
    });
    return requestId;
  };
  const heartbeat = (memberId: string, generationId: number, instance: string | null = null) => {
    const requestId = `r${++seq}`;
    actor.send({ type: 'HEARTBEAT', requestId, memberId, groupInstanceId: instance, generationId });
    return (replies.get(requestId) as { errorCode: number }).errorCode;
  };
  const leave = (...members: Array<{ memberId: string; groupInstanceId?: string | null }>) => {
    const requestId = `r${++seq}`;
    actor.send({ type: 'LEAVE', requestId, members: members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null })) });
    return replies.get(requestId) as LeaveReply;
  };
  const joinReply = (id: string) => replies.get(id) as JoinReply | undefined;
  const syncReply = (id: string) => replies.get(id) as SyncReply | undefined;
  return { actor, clock, replies, persisted, state, ctx, join, sync, heartbeat, leave, joinReply, syncReply };
}

/** Two members in a Stable generation 2: m1 leads, each assigned its own name. */
function twoMemberGroup() {
  const g = startGroup();
  const j1 = g.join('', { newId: 'm1' });
  assert.is(g.joinReply(j1)!.generationId, 1);
  g.sync('m1', 1, { m1: 'a1' });
  const j2 = g.join('', { newId: 'm2' });
  assert.is(g.state(), 'PreparingRebalance');
  assert.is(g.heartbeat('m1', 1), ErrorCode.REBALANCE_IN_PROGRESS, 'a heartbeat during a rebalance tells the member to rejoin');
  const j1b = g.join('m1');
  assert.is(g.state(), 'CompletingRebalance');
  assert.is(g.joinReply(j1b)!.generationId, 2);
  assert.is(g.joinReply(j2)!.generationId, 2);
  const s2 = g.sync('m2', 2);
  assert.is(g.syncReply(s2), undefined, "a follower's SyncGroup waits for the leader");
  const s1 = g.sync('m1', 2, { m1: 'a1', m2: 'a2' });
  assert.is(g.state(), 'Stable');
  assert.is(g.syncReply(s1)!.assignment.toString(), 'a1');
  assert.is(g.syncReply(s2)!.assignment.toString(), 'a2');
  return g;
}

test('KIP-394: a first JoinGroup v4 without member id gets MEMBER_ID_REQUIRED, then joins with that id', () => {
  const g = startGroup();
  const r1 = g.join('', { v4: true, newId: 'client-1-abc' });
  assert.is(g.joinReply(r1)!.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert.is(g.joinReply(r1)!.memberId, 'client-1-abc');
  assert.is(g.state(), 'Empty');
  const r2 = g.join('client-1-abc', { v4: true });
  const reply = g.joinReply(r2)!;
  assert.is(reply.errorCode, ErrorCode.NONE);
  assert.is(reply.generationId, 1);
  assert.is(reply.leader, 'client-1-abc');
  assert.is(reply.protocolName, 'range');
  assert.equal(reply.members.map((m) => m.memberId), ['client-1-abc']);
  assert.is(g.state(), 'CompletingRebalance');
  const bogus = g.join('never-issued', { v4: true });
  assert.is(g.joinReply(bogus)!.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
});

test('a second member triggers a rebalance; the leader gets every member, the assignment reaches everyone', () => {
  const g = twoMemberGroup();
  const c = g.ctx();
  assert.is(c.generationId, 2);
  assert.is(c.leaderId, 'm1');
  assert.is(g.persisted.at(-1)!.members.length, 2, 'the Stable generation is persisted');
  assert.is(g.persisted.at(-1)!.members.find((m) => m.memberId === 'm2')!.assignment.toString(), 'a2');
  assert.is(g.heartbeat('m2', 2), ErrorCode.NONE);
});

test('protocol selection: one every member supports, in the leader\'s preference order', () => {
  const g = startGroup();
  g.join('', { newId: 'm1', protocols: ['cooperative', 'range', 'roundrobin'] });
  g.sync('m1', 1, {});
  const j2 = g.join('', { newId: 'm2', protocols: ['roundrobin', 'range'] });
  const j1 = g.join('m1', { protocols: ['cooperative', 'range', 'roundrobin'] });
  assert.is(g.joinReply(j1)!.protocolName, 'range');
  assert.is(g.joinReply(j2)!.protocolName, 'range');
  const bad = g.join('', { newId: 'm3', protocols: ['sticky'] });
  assert.is(g.joinReply(bad)!.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
});

test('session timeout: a silent member is removed and the group rebalances; heartbeats keep members in', () => {
  const g = twoMemberGroup();
  g.clock.increment(SESSION / 2);
  assert.is(g.heartbeat('m1', 2), ErrorCode.NONE);
  assert.is(g.heartbeat('m2', 2), ErrorCode.NONE);
  g.clock.increment(SESSION / 2);
  assert.is(g.heartbeat('m1', 2), ErrorCode.NONE);
  assert.is(g.state(), 'Stable');
  g.clock.increment(SESSION / 2 + 1);
  assert.is(g.state(), 'PreparingRebalance', 'm2 stopped heartbeating and expired');
  assert.not.ok(g.ctx().members.m2);
  assert.is(g.heartbeat('m1', 2), ErrorCode.REBALANCE_IN_PROGRESS);
  assert.is(g.heartbeat('m2', 2), ErrorCode.UNKNOWN_MEMBER_ID);
  const j = g.join('m1');
  assert.is(g.joinReply(j)!.generationId, 3);
  assert.equal(g.joinReply(j)!.members.map((m) => m.memberId), ['m1']);
});

test('rebalance timeout: members that do not rejoin in time are dropped and the rebalance completes without them', () => {
  const g = twoMemberGroup();
  const j3 = g.join('', { newId: 'm3' });
  const j1 = g.join('m1');
  assert.is(g.joinReply(j1), undefined, 'waits for m2');
  g.clock.increment(REBALANCE / 2);
  assert.is(g.heartbeat('m2', 2), ErrorCode.REBALANCE_IN_PROGRESS);
  g.clock.increment(REBALANCE / 2 + 1);
  assert.is(g.state(), 'CompletingRebalance');
  assert.is(g.joinReply(j1)!.generationId, 3);
  assert.equal(g.joinReply(j1)!.members.map((m) => m.memberId).sort(), ['m1', 'm3']);
  assert.is(g.joinReply(j3)!.errorCode, ErrorCode.NONE);
});

test('late SyncGroup and stale generations: ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID', () => {
  const g = twoMemberGroup();
  const late = g.sync('m2', 1);
  assert.is(g.syncReply(late)!.errorCode, ErrorCode.ILLEGAL_GENERATION);
  assert.is(g.heartbeat('m1', 1), ErrorCode.ILLEGAL_GENERATION);
  assert.is(g.heartbeat('ghost', 2), ErrorCode.UNKNOWN_MEMBER_ID);
  g.join('', { newId: 'm3' });
  const during = g.sync('m2', 2);
  assert.is(g.syncReply(during)!.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
  // A follower's SyncGroup parked in CompletingRebalance is released with REBALANCE_IN_PROGRESS when a member leaves.
  g.join('m1');
  g.join('m2');
  assert.is(g.state(), 'CompletingRebalance');
  const parked = g.sync('m2', 3);
  assert.is(g.syncReply(parked), undefined);
  g.leave({ memberId: 'm3' });
  assert.is(g.syncReply(parked)!.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
  assert.is(g.state(), 'PreparingRebalance');
});

test('LeaveGroup v3+ batched: each member gets its result; the last one out empties the group', () => {
  const g = twoMemberGroup();
  const r = g.leave({ memberId: 'm1' }, { memberId: 'nobody' });
  assert.equal(r.members.map((m) => m.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID]);
  assert.is(g.state(), 'PreparingRebalance');
  g.leave({ memberId: 'm2' });
  assert.is(g.state(), 'Empty');
  assert.is(g.ctx().generationId, 3, 'emptying the group is a new generation, as Kafka writes it');
  assert.equal(g.persisted.at(-1)!.members, []);
});

test('static membership: a restarted instance with unchanged metadata keeps its assignment without a rebalance; the old id is fenced', () => {
  const g = startGroup();
  g.join('', { newId: 'a1', instance: 'inst-a' });
  g.sync('a1', 1, { a1: 'A' });
  g.join('', { newId: 'b1', instance: 'inst-b' });
  g.join('a1', { instance: 'inst-a' });
  g.sync('a1', 2, { a1: 'A', b1: 'B' });
  assert.is(g.state(), 'Stable');
  // inst-b restarts: a fresh JoinGroup without member id, same subscription.
  const rejoin = g.join('', { newId: 'b2', instance: 'inst-b' });
  assert.is(g.state(), 'Stable', 'no rebalance');
  assert.is(g.joinReply(rejoin)!.memberId, 'b2');
  assert.is(g.joinReply(rejoin)!.generationId, 2);
  const s = g.sync('b2', 2, {}, 'inst-b');
  assert.is(g.syncReply(s)!.assignment.toString(), 'B', 'the new member id inherits the assignment');
  assert.is(g.heartbeat('b1', 2, 'inst-b'), ErrorCode.FENCED_INSTANCE_ID);
  const zombie = g.sync('b1', 2, {}, 'inst-b');
  assert.is(g.syncReply(zombie)!.errorCode, ErrorCode.FENCED_INSTANCE_ID);
  // The leader's instance restarts too: still no rebalance; the answer names the old leader id, so the
  // new member id does not take itself for the leader and compute an assignment nobody would get.
  const leaderRejoin = g.join('', { newId: 'a2', instance: 'inst-a' });
  assert.is(g.state(), 'Stable');
  assert.is(g.joinReply(leaderRejoin)!.leader, 'a1');
  assert.equal(g.joinReply(leaderRejoin)!.members, []);
  const s2 = g.sync('a2', 2, {}, 'inst-a');
  assert.is(g.syncReply(s2)!.assignment.toString(), 'A');
  assert.is(g.ctx().leaderId, 'a2');
  // Changed metadata is a real change: rebalance.
  g.join('', { newId: 'b3', instance: 'inst-b', meta: 'topics=t,u' });
  assert.is(g.state(), 'PreparingRebalance');
});

test('group.initial.rebalance.delay.ms: the first rebalance waits for more members', () => {
  const g = startGroup(3000);
  const j1 = g.join('', { newId: 'm1' });
  g.clock.increment(1000);
  const j2 = g.join('', { newId: 'm2' });
  assert.is(g.joinReply(j1), undefined);
  g.clock.increment(2001);
  assert.is(g.joinReply(j1)!.generationId, 1);
  assert.is(g.joinReply(j2)!.generationId, 1);
  assert.is(g.joinReply(j1)!.members.length, 2);
});

test('a group read back from the log resumes Stable and expires members that never come back', () => {
  const loaded: PersistedGroup = {
    generationId: 7,
    protocolType: 'consumer',
    protocolName: 'range',
    leaderId: 'x',
    members: [{ memberId: 'x', groupInstanceId: null, clientId: 'c', clientHost: 'h', sessionTimeoutMs: SESSION, rebalanceTimeoutMs: REBALANCE, metadata: Buffer.from('m'), assignment: Buffer.from('A') }],
  };
  const g = startGroup(0, loaded);
  assert.is(g.state(), 'Stable');
  const s = g.sync('x', 7);
  assert.is(g.syncReply(s)!.assignment.toString(), 'A');
  g.clock.increment(SESSION + 1);
  assert.is(g.state(), 'Empty');
  assert.is(g.ctx().generationId, 8);
});

test('DeleteGroups: NON_EMPTY_GROUP while members remain; an Empty group goes Dead', () => {
  const g = twoMemberGroup();
  g.actor.send({ type: 'DELETE', requestId: 'd1' });
  assert.is((g.replies.get('d1') as { errorCode: number }).errorCode, ErrorCode.NON_EMPTY_GROUP);
  g.leave({ memberId: 'm1' }, { memberId: 'm2' });
  g.actor.send({ type: 'DELETE', requestId: 'd2' });
  assert.is((g.replies.get('d2') as { errorCode: number }).errorCode, ErrorCode.NONE);
  assert.is(g.actor.getSnapshot().status, 'done');
});

test('UNLOAD answers parked requests NOT_COORDINATOR', () => {
  const g = twoMemberGroup();
  g.join('', { newId: 'm3' });
  const parked = g.join('m1');
  g.actor.send({ type: 'UNLOAD' });
  assert.is(g.joinReply(parked)!.errorCode, ErrorCode.NOT_COORDINATOR);
  assert.is(g.actor.getSnapshot().status, 'done');
});

test.run();
