// The controller's decisions as pure functions over plain data: leader election and ISR shrink when
// brokers die or return, unclean election, controlled shutdown, AlterIsr validation, and broker liveness
// on a simulated clock (plain numbers).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { electPartition, planTopic, shutdownPartition, uncleanElectionEnabled, type ElectionView } from '../../src/controller/partition-election.ts';
import { decideAlterIsr, parseAlterIsrRequest } from '../../src/controller/alter-isr.ts';
import {
  controllerWasStalled,
  expiredBrokers,
  observeRegistrations,
  parseHeartbeat,
  recordHeartbeat,
  refreshAll,
  type LivenessTable,
} from '../../src/controller/liveness.ts';
import type { BrokerInfo, PartitionState, TopicInfo } from '../../src/metadata/types.ts';

const p = (leader: number, leaderEpoch: number, isr: number[], replicas = [1, 2, 3]): PartitionState => ({ partition: 0, replicas, leader, leaderEpoch, isr });
const view = (live: number[], opts: { unclean?: boolean; ineligible?: number[] } = {}): ElectionView => ({
  live: new Set(live),
  eligible: new Set(live.filter((b) => !(opts.ineligible ?? []).includes(b))),
  uncleanElection: opts.unclean ?? false,
});

test('election: a dead leader is replaced by the first live ISR member in replica order, epoch+1, dead members out', () => {
  assert.equal(electPartition(p(1, 4, [1, 2, 3]), view([2, 3])), p(2, 5, [2, 3]));
  // Replica order, not ISR order, picks the new leader.
  assert.equal(electPartition(p(1, 0, [1, 3, 2]), view([2, 3])), p(2, 1, [3, 2]));
  // A live replica outside the ISR is passed over.
  assert.equal(electPartition(p(1, 0, [1, 3]), view([2, 3])), p(3, 1, [3]));
  // Leader -1 with a live ISR member: elected.
  assert.equal(electPartition(p(-1, 3, [2]), view([1, 2, 3])), p(2, 4, [2]));
});

test('election: nothing to do when leader and ISR are alive', () => {
  assert.is(electPartition(p(1, 0, [1, 2, 3]), view([1, 2, 3])), null);
  assert.is(electPartition(p(2, 1, [2]), view([1, 2, 3])), null, 'a follower out of the ISR is not the controller\'s business');
});

test('election: a dead follower leaves the ISR, leaderEpoch unchanged', () => {
  assert.equal(electPartition(p(1, 2, [1, 2, 3]), view([1, 3])), p(1, 2, [1, 3]));
});

test('election: no live ISR member keeps the last member and leaves the partition leaderless, epoch+1 once', () => {
  const offline = electPartition(p(1, 2, [1, 2]), view([3]));
  assert.equal(offline, p(-1, 3, [1]), 'the old leader is the member kept');
  assert.is(electPartition(offline!, view([3])), null, 'stable: no second bump');
  assert.equal(electPartition(p(1, 2, [2, 3]), view([])), p(-1, 3, [3]), 'the old leader not in the ISR: its last member');
});

test('election: a restarted (fenced) leader is not the member kept while another ISR member is only down (seed 305)', () => {
  // ISR [1, 2]: broker 2, the leader, lost power and registered again (fenced); broker 1 crashed with its log
  // whole. Keeping 2 would elect a log cut short by the power loss once it is unfenced; 1 is kept and waited for.
  const restarted = { ...view([3]), fenced: new Set([2]) };
  assert.equal(electPartition(p(2, 2, [1, 2]), restarted), p(-1, 3, [1]));
  assert.equal(electPartition(p(-1, 3, [1]), { ...view([2, 3]), fenced: new Set<number>() }), null, 'unfenced, 2 is outside the ISR: the partition waits for 1');
  assert.equal(electPartition(p(-1, 3, [1]), view([1, 2, 3])), p(1, 4, [1]), '1 comes back and leads; 2 catches up from it');
  // Every member restarted: the old leader is kept, as before.
  assert.equal(electPartition(p(2, 2, [1, 2]), { ...view([3]), fenced: new Set([1, 2]) }), p(-1, 3, [2]));
});

test('election: the last ISR member coming back is elected', () => {
  assert.equal(electPartition(p(-1, 3, [1]), view([1, 3])), p(1, 4, [1]));
});

test('election: unclean election only when the topic allows it, and then ISR = [new leader]', () => {
  assert.equal(electPartition(p(1, 2, [1]), view([2, 3])), p(-1, 3, [1]));
  assert.equal(electPartition(p(1, 2, [1]), view([2, 3], { unclean: true })), p(2, 3, [2]));
  assert.equal(electPartition(p(-1, 3, [1]), view([3], { unclean: true })), p(3, 4, [3]));
});

test('election: a broker in controlled shutdown is never elected', () => {
  assert.equal(electPartition(p(1, 0, [1, 2, 3]), view([2, 3], { ineligible: [2] })), p(3, 1, [2, 3]));
  assert.equal(electPartition(p(1, 0, [1, 2]), view([2], { ineligible: [2] })), p(-1, 1, [2]));
});

test('controlled shutdown: leadership moves to another live ISR member; ISRs that keep others drop the broker', () => {
  const eligible = new Set([2, 3]);
  assert.equal(shutdownPartition(p(1, 4, [1, 2, 3]), 1, eligible), p(2, 5, [2, 3]));
  assert.equal(shutdownPartition(p(2, 4, [2, 1, 3]), 1, eligible), p(2, 4, [2, 3]));
  assert.is(shutdownPartition(p(1, 4, [1]), 1, eligible), null, 'no other ISR member: left alone');
  assert.is(shutdownPartition(p(2, 4, [2], [2, 3]), 1, eligible), null, 'not a replica');
  assert.is(shutdownPartition(p(1, 4, [1, 2]), 1, new Set([3])), null, 'the other ISR member is not eligible');
});

test('planTopic writes only when some partition changes', () => {
  const topic: TopicInfo = { name: 't', id: '0'.repeat(32), partitions: [p(1, 0, [1, 2]), { ...p(2, 0, [2, 3]), partition: 1 }], config: {}, createdAt: 0 };
  assert.is(planTopic(topic, (x) => electPartition(x, view([1, 2, 3]))), null);
  const next = planTopic(topic, (x) => electPartition(x, view([2, 3])))!;
  assert.equal(next[0], p(2, 1, [2]));
  assert.is(next[1], topic.partitions[1], 'unchanged partitions are the same objects');
  assert.is(uncleanElectionEnabled(topic), false);
  assert.is(uncleanElectionEnabled({ ...topic, config: { 'unclean.leader.election.enable': 'true' } }), true);
});

test('AlterIsr: the current leader at the current epoch commits; others are refused with Kafka error codes', () => {
  const cur = p(1, 3, [1, 2, 3]);
  const reg = new Map([[1, 'a1'], [2, 'a2'], [3, 'a3']]);
  const req = (over: Partial<{ leaderId: number; leaderEpoch: number; isr: number[]; fromIsr: number[]; added: Record<string, string> }>) => ({ topic: 't', partition: 0, leaderId: 1, leaderEpoch: 3, isr: [1, 2], ...over });
  assert.equal(decideAlterIsr(cur, req({}), reg), { errorCode: 0, next: p(1, 3, [1, 2]) });
  assert.equal(decideAlterIsr(cur, req({ leaderEpoch: 2 }), reg), { errorCode: 74 }, 'FENCED_LEADER_EPOCH');
  assert.equal(decideAlterIsr(cur, req({ leaderEpoch: 4 }), reg), { errorCode: 74 });
  assert.equal(decideAlterIsr(cur, req({ leaderId: 2, isr: [2] }), reg), { errorCode: 6 }, 'NOT_LEADER_OR_FOLLOWER');
  assert.equal(decideAlterIsr(cur, req({ isr: [2, 3] }), reg), { errorCode: 42 }, 'the leader must stay in the ISR');
  assert.equal(decideAlterIsr(cur, req({ isr: [1, 4] }), reg), { errorCode: 42 }, 'not a replica');
  assert.equal(decideAlterIsr(cur, req({ isr: [1, 1] }), reg), { errorCode: 42 }, 'duplicates');
  assert.equal(decideAlterIsr(cur, req({ isr: [1, 2, 3] }), new Map([[1, 'a1'], [2, 'a2']])), { errorCode: 107 }, 'INELIGIBLE_REPLICA');
  // Kafka's partition epoch: a proposal computed from an ISR that changed since is refused.
  assert.equal(decideAlterIsr(cur, req({ fromIsr: [1, 2, 3] }), reg), { errorCode: 0, next: p(1, 3, [1, 2]) });
  assert.equal(decideAlterIsr(p(1, 3, [1, 3]), req({ fromIsr: [1, 2, 3], isr: [1, 2] }), reg), { errorCode: 95 }, 'INVALID_UPDATE_VERSION: the ISR moved on');
  // KIP-903: a member added as the incarnation the leader saw fetch; a later incarnation has not caught up.
  assert.equal(decideAlterIsr(p(1, 3, [1, 2]), req({ isr: [1, 2, 3], added: { 3: 'a3' } }), reg), { errorCode: 0, next: p(1, 3, [1, 2, 3]) });
  assert.equal(decideAlterIsr(p(1, 3, [1, 2]), req({ isr: [1, 2, 3], added: { 3: 'old' } }), reg), { errorCode: 107 }, 'a restarted member');
  assert.equal(decideAlterIsr(null, req({}), reg), { errorCode: 3 });
  assert.equal(parseAlterIsrRequest({ topic: 't', partition: 0, leaderId: 1, leaderEpoch: 3, isr: [1] }), { topic: 't', partition: 0, leaderId: 1, leaderEpoch: 3, isr: [1] });
  assert.is(parseAlterIsrRequest({ topic: 't', partition: 0, leaderId: 1, leaderEpoch: 3, isr: ['1'] }), null);
  assert.equal(parseAlterIsrRequest({ topic: 't', partition: 0, leaderId: 1, leaderEpoch: 3, isr: [1, 2], fromIsr: [1], added: { 2: 'x' } })?.added, { 2: 'x' });
  assert.is(parseAlterIsrRequest({ topic: 't', partition: 0, leaderId: 1, leaderEpoch: 3, isr: [1], fromIsr: 'all' }), null);
  assert.is(parseAlterIsrRequest(null), null);
});

const broker = (id: number, incarnation: string): BrokerInfo => ({ id, host: 'h', port: 1, rack: null, incarnation, registeredAt: 0 });

test('liveness: grace from first sight, heartbeats of the registered incarnation only, expiry after the session timeout', () => {
  const SESSION = 3000;
  let t: LivenessTable = observeRegistrations(new Map(), { 1: broker(1, 'a'), 2: broker(2, 'b') }, 1000);
  assert.equal(expiredBrokers(t, 3999, SESSION), []);
  t = recordHeartbeat(t, { brokerId: 1, incarnation: 'a' }, 2000);
  t = recordHeartbeat(t, { brokerId: 2, incarnation: 'old' }, 2000); // a stale process of broker 2
  t = recordHeartbeat(t, { brokerId: 9, incarnation: 'x' }, 2000); // not registered
  assert.equal(expiredBrokers(t, 4000, SESSION), [{ brokerId: 2, incarnation: 'b' }]);
  assert.is(t.has(9), false);
  // Broker 2 restarts with a new incarnation: a fresh grace, whatever the old one owed.
  t = observeRegistrations(t, { 1: broker(1, 'a'), 2: broker(2, 'c') }, 4000);
  assert.equal(expiredBrokers(t, 4999, SESSION), []);
  assert.equal(expiredBrokers(t, 7000, SESSION).map((d) => d.brokerId), [1, 2]);
  // Deregistered brokers leave the table; re-registering gives a full grace again.
  t = observeRegistrations(t, { 1: broker(1, 'a') }, 7000);
  assert.equal([...t.keys()], [1]);
  t = observeRegistrations(t, { 1: broker(1, 'a'), 2: broker(2, 'c') }, 7500);
  assert.equal(expiredBrokers(t, 10_499, SESSION).map((d) => d.brokerId), [1]);
});

test('liveness: a stalled controller refreshes everyone instead of judging', () => {
  let t: LivenessTable = observeRegistrations(new Map(), { 1: broker(1, 'a') }, 0);
  assert.is(controllerWasStalled(0, 1000, 3000), false);
  assert.is(controllerWasStalled(0, 1501, 3000), true);
  t = refreshAll(t, 5000);
  assert.equal(expiredBrokers(t, 5000, 3000), []);
  assert.equal(parseHeartbeat({ brokerId: 1, incarnation: 'a' }), { brokerId: 1, incarnation: 'a' });
  assert.is(parseHeartbeat({ brokerId: -1, incarnation: 'a' }), null);
  assert.is(parseHeartbeat({ brokerId: 1 }), null);
});

test.run();
