// Replica assignment (Kafka's rack-unaware round robin with a shifting follower offset), its continuation
// for the partitions a growing topic gets (CreatePartitions), and topic ids.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assignReplicas, newTopicId, placeAddedPartitions, placeReplicas } from '../../src/metadata/assignment.ts';
import { InvalidPartitionsError, InvalidReplicationFactorError } from '../../src/metadata/errors.ts';
import { ulid } from 'ulid';

const distinct = (a: number[]) => new Set(a).size === a.length;

test('3 brokers: topic A (3 partitions, RF 3) leads once on each broker; topic B (2, RF 2) has distinct replicas', () => {
  const a = assignReplicas([1, 2, 3], 3, 3, 0);
  assert.equal(a, [
    [1, 2, 3],
    [2, 3, 1],
    [3, 1, 2],
  ]);
  assert.equal(a.map((r) => r[0]).sort(), [1, 2, 3]);
  const b = assignReplicas([3, 1, 2], 2, 2, 1); // broker order does not matter
  assert.equal(b, [
    [2, 1],
    [3, 2],
  ]);
  for (const r of [...a, ...b]) assert.ok(distinct(r), `replicas ${r} distinct`);
  assert.is(new Set(b.map((r) => r[0])).size, 2, 'B leaders on two different brokers');
});

test('matches Kafka AdminUtils for 5 brokers, 10 partitions, RF 3, start index 0', () => {
  // The expected table of Kafka's AdminRackAwareTest / AdminTest.testReplicaAssignment.
  assert.equal(assignReplicas([0, 1, 2, 3, 4], 10, 3, 0), [
    [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 0], [4, 0, 1],
    [0, 2, 3], [1, 3, 4], [2, 4, 0], [3, 0, 1], [4, 1, 2],
  ]);
});

test('many partitions: leaders balanced, followers spread by the shift, replicas always distinct', () => {
  const brokers = [1, 2, 3, 4, 5];
  for (const start of [0, 1, 4, 7]) {
    const a = assignReplicas(brokers, 20, 3, start);
    assert.is(a.length, 20);
    const leaders = new Map<number, number>();
    const replicaCount = new Map<number, number>();
    for (const r of a) {
      assert.is(r.length, 3);
      assert.ok(distinct(r));
      leaders.set(r[0], (leaders.get(r[0]) ?? 0) + 1);
      for (const b of r) replicaCount.set(b, (replicaCount.get(b) ?? 0) + 1);
    }
    assert.equal([...leaders.values()], [4, 4, 4, 4, 4]);
    assert.equal([...replicaCount.values()], [12, 12, 12, 12, 12]);
    // The shift moves after every round of n partitions: broker 1's followers differ between rounds.
    const followersOfFirstLeader = a.filter((r) => r[0] === 1).map((r) => r[1]);
    assert.ok(new Set(followersOfFirstLeader).size > 1, `start ${start}: followers of broker 1 vary`);
  }
});

test('any start index (the caller picks it, at random or seeded) gives a valid placement', () => {
  for (const start of [0, 1, 2, 7, -4]) {
    const a = assignReplicas([10, 20, 30], 6, 2, start);
    assert.is(a.length, 6);
    for (const r of a) assert.ok(distinct(r) && r.every((b) => [10, 20, 30].includes(b)));
  }
});

test('replication factor above the broker count, or not positive, is INVALID_REPLICATION_FACTOR', () => {
  for (const [brokers, rf] of [
    [[1, 2], 3],
    [[1, 2, 3], 0],
    [[], 1],
  ] as const) {
    try {
      assignReplicas([...brokers], 1, rf, 0);
      assert.unreachable('accepted');
    } catch (err) {
      assert.instance(err, InvalidReplicationFactorError);
      assert.is((err as InvalidReplicationFactorError).code, 'INVALID_REPLICATION_FACTOR');
    }
  }
  try {
    assignReplicas([1], 0, 1, 0);
    assert.unreachable('accepted');
  } catch (err) {
    assert.instance(err, InvalidPartitionsError);
  }
});

test('added partitions continue the placement the topic was created with, from where partition 0 leads', () => {
  const brokers = [1, 2, 3, 4, 5].map((id) => ({ id, rack: null }));
  for (const start of [0, 2, 4]) {
    const created = placeReplicas(brokers, 3, 3, start).replicas;
    const added = placeAddedPartitions(brokers, created, 12, 3);
    assert.equal(added.replicas, placeReplicas(brokers, 12, 3, start).replicas.slice(3), `start index ${start}`);
    assert.equal(added.replicas.map((r) => r[0]).slice(0, 2), [brokers[(start + 3) % 5]!.id, brokers[(start + 4) % 5]!.id], 'leaders carry on the round robin');
  }
  // Rack-aware: the start index is partition 0's leader's place in the rack-alternated list.
  const racked = [1, 2, 3, 4, 5, 6].map((id) => ({ id, rack: `r${id % 3}` }));
  const created = placeReplicas(racked, 2, 3, 4).replicas;
  const added = placeAddedPartitions(racked, created, 8, 3);
  assert.ok(added.rackAware);
  assert.equal(added.replicas, placeReplicas(racked, 8, 3, 4).replicas.slice(2));
  // Partition 0's leader is gone: the next broker up takes its place in the round robin, as Kafka's indexWhere(id >= leader).
  const without3 = brokers.filter((b) => b.id !== 3);
  assert.equal(placeAddedPartitions(without3, [[3, 4, 5]], 3, 3).replicas, placeReplicas(without3, 3, 3, 2).replicas.slice(1));
});

test('newTopicId is 32 lowercase hex digits, unique, and time-ordered like the ULID it came from', () => {
  const ids = new Set(Array.from({ length: 1000 }, () => newTopicId(ulid())));
  assert.is(ids.size, 1000);
  for (const id of ids) assert.match(id, /^[0-9a-f]{32}$/);
  const early = newTopicId(ulid(1_000_000_000_000));
  const late = newTopicId(ulid(1_700_000_000_000));
  assert.ok(early.slice(0, 12) < late.slice(0, 12), 'the first 48 bits are the timestamp');
  assert.is(parseInt(late.slice(0, 12), 16), 1_700_000_000_000);
});

test.run();
