// KIP-392's rack-aware replica selection (src/broker/replica-selector.ts), as Kafka's
// ReplicaManager.findPreferredReadReplica and RackAwareReplicaSelector decide: an in-sync follower in the
// client's rack that has the fetch offset, the most caught-up one first; the leader (-1) when the client has no
// rack, the leader is in its rack, or no such follower is there.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseReplicaSelector, preferredReadReplica, RACK_AWARE_SELECTOR_CLASS, type ReadReplicaFacts } from '../../src/broker/replica-selector.ts';
import type { FollowerState } from '../../src/replication/leader-replication.ts';

const RACKS: Record<number, string | null> = { 1: 'az-a', 2: 'az-b', 3: 'az-c', 4: 'az-b', 5: null };

function follower(logEndOffset: number, lastCaughtUpTime = 1_000): FollowerState {
  return { logEndOffset, lastCaughtUpTime, lastFetchTime: lastCaughtUpTime, lastFetchLeaderLogEndOffset: logEndOffset, incarnation: 'x' };
}

function facts(over: Partial<ReadReplicaFacts> = {}): ReadReplicaFacts {
  return {
    leaderId: 1,
    clientRack: 'az-b',
    fetchOffset: 10,
    isr: [1, 2, 3, 4],
    followers: new Map([[2, follower(20)], [3, follower(20)], [4, follower(20)]]),
    rackOf: (id) => RACKS[id],
    now: 2_000,
    ...over,
  };
}

test('an in-sync follower in the client rack is preferred when the leader is elsewhere', () => {
  assert.is(preferredReadReplica(facts({ followers: new Map([[2, follower(20)], [3, follower(20)]]) })), 2);
  assert.is(preferredReadReplica(facts({ clientRack: 'az-c' })), 3);
});

test('the leader reads when the client has no rack, shares the leader rack, or no follower is in its rack', () => {
  assert.is(preferredReadReplica(facts({ clientRack: '' })), -1);
  assert.is(preferredReadReplica(facts({ clientRack: 'az-a' })), -1);
  assert.is(preferredReadReplica(facts({ clientRack: 'az-z' })), -1);
});

test('followers out of the ISR, without the fetch offset, unregistered or not fetched yet are not chosen', () => {
  const one = (f: FollowerState, over: Partial<ReadReplicaFacts> = {}) => preferredReadReplica(facts({ followers: new Map([[2, f]]), ...over }));
  assert.is(one(follower(20), { isr: [1, 3] }), -1, 'out of the ISR');
  assert.is(one(follower(9)), -1, 'its log ends before the fetch offset');
  assert.is(one(follower(10)), 2, 'its log ends at the fetch offset: it has it (empty answer until more comes)');
  assert.is(one(follower(-1), { fetchOffset: 0 }), -1, 'no fetch in this epoch yet');
  assert.is(one(follower(20), { rackOf: (id) => (id === 2 ? undefined : RACKS[id]) }), -1, 'not registered: no endpoint');
});

test('among followers in the rack the most caught-up wins: largest log end, then the most recently caught up', () => {
  const followers = new Map([[2, follower(20, 1_000)], [4, follower(25, 500)]]);
  assert.is(preferredReadReplica(facts({ followers })), 4);
  const tied = new Map([[2, follower(25, 1_000)], [4, follower(25, 1_500)]]);
  assert.is(preferredReadReplica(facts({ followers: tied })), 4);
});

test("replica.selector.class takes 'rack-aware' or Kafka's class name", () => {
  assert.is(parseReplicaSelector('rack-aware'), 'rack-aware');
  assert.is(parseReplicaSelector(RACK_AWARE_SELECTOR_CLASS), 'rack-aware');
  assert.is(parseReplicaSelector('org.apache.kafka.common.replica.ReplicaSelector'), null);
  assert.is(parseReplicaSelector(''), null);
});

test.run();
