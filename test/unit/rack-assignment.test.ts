// Rack-aware replica placement (Kafka's AdminUtils.assignReplicasToBrokersRackAware, broker.rack): the
// rack-alternated broker list, Kafka's own expected table, replicas on distinct racks while racks last,
// leaders even, determinism for a start index, and the rack-unaware fallback when only some brokers have a rack.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assignReplicas, assignReplicasRackAware, placeReplicas, rackAlternatedBrokerList, type BrokerRack } from '../../src/metadata/assignment.ts';
import { InvalidReplicationFactorError } from '../../src/metadata/errors.ts';

const racked = (racks: Record<number, string>) => Object.entries(racks).map(([id, rack]) => ({ id: Number(id), rack }));
const count = <T>(xs: T[]) => {
  const m = new Map<T, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
};

test('rackAlternatedBrokerList takes one broker from each rack in turn, racks by name, brokers by id', () => {
  // Kafka's doc example: rack1 0,1,2 / rack2 3,4,5 / rack3 6,7,8.
  const nine = new Map([[0, 'rack1'], [1, 'rack1'], [2, 'rack1'], [3, 'rack2'], [4, 'rack2'], [5, 'rack2'], [6, 'rack3'], [7, 'rack3'], [8, 'rack3']]);
  assert.equal(rackAlternatedBrokerList(nine), [0, 3, 6, 1, 4, 7, 2, 5, 8]);
  assert.equal(rackAlternatedBrokerList(new Map([[0, 'rack1'], [1, 'rack3'], [2, 'rack3'], [3, 'rack2'], [4, 'rack2'], [5, 'rack1']])), [0, 3, 1, 5, 4, 2]);
  // A rack that runs out is skipped.
  assert.equal(rackAlternatedBrokerList(new Map([[5, 'b'], [1, 'a'], [2, 'a'], [3, 'a'], [4, 'c']])), [1, 5, 4, 2, 3]);
});

test("matches Kafka's table for 6 brokers on 3 racks, 7 partitions, RF 3, start index 0", () => {
  // AdminUtils' doc comment and AdminRackAwareTest.testGetRackAlternatedBrokerListAndAssignReplicasToBrokers.
  const brokers = racked({ 0: 'rack1', 1: 'rack3', 2: 'rack3', 3: 'rack2', 4: 'rack2', 5: 'rack1' });
  assert.equal(assignReplicasRackAware(brokers, 7, 3, 0), [
    [0, 3, 1], [3, 1, 5], [1, 5, 4], [5, 4, 2], [4, 2, 0], [2, 0, 3],
    [0, 4, 2], // past the first round the shift moves: not a repeat of partition 0
  ]);
});

test('racks >= RF: every partition has its replicas on distinct racks and distinct brokers, leaders even', () => {
  const layouts: Record<number, string>[] = [
    { 1: 'a', 2: 'b', 3: 'c' },
    { 1: 'a', 2: 'a', 3: 'b', 4: 'b', 5: 'c', 6: 'c' },
    { 1: 'a', 2: 'a', 3: 'a', 4: 'b', 5: 'c' }, // uneven racks
    { 10: 'az-1', 20: 'az-2', 30: 'az-3', 40: 'az-4' },
    { 1: 'x', 2: 'y', 3: 'x', 4: 'y' },
  ];
  for (const layout of layouts) {
    const brokers = racked(layout);
    const n = brokers.length;
    const numRacks = new Set(Object.values(layout)).size;
    for (let rf = 1; rf <= numRacks; rf++) {
      for (let start = 0; start < n; start++) {
        for (const partitions of [1, n, 3 * n, 3 * n + 1]) {
          const where = `${JSON.stringify(layout)} rf ${rf} start ${start} partitions ${partitions}`;
          const a = assignReplicasRackAware(brokers, partitions, rf, start);
          assert.is(a.length, partitions, where);
          for (const r of a) {
            assert.is(r.length, rf, where);
            assert.is(new Set(r).size, rf, `${where}: brokers distinct in ${r}`);
            assert.is(new Set(r.map((b) => layout[b])).size, rf, `${where}: racks distinct in ${r}`);
          }
          const leaders = count(a.map((r) => r[0]));
          const perBroker = brokers.map((b) => leaders.get(b.id) ?? 0);
          assert.ok(Math.max(...perBroker) - Math.min(...perBroker) <= 1, `${where}: leaders ${perBroker}`);
        }
      }
    }
  }
});

test('equal racks and RF = racks: replicas spread evenly over brokers (Kafka\'s "perfect situation")', () => {
  const brokers = racked({ 1: 'a', 2: 'a', 3: 'b', 4: 'b', 5: 'c', 6: 'c' });
  const a = assignReplicasRackAware(brokers, 12, 3, 2);
  assert.equal([...count(a.flat()).values()], [6, 6, 6, 6, 6, 6]);
  assert.equal([...count(a.map((r) => r[0])).values()], [2, 2, 2, 2, 2, 2]);
});

test('racks < RF: every rack holds a replica, the rest go to brokers not yet used', () => {
  const layout: Record<number, string> = { 1: 'a', 2: 'a', 3: 'a', 4: 'b', 5: 'b' };
  for (let start = 0; start < 5; start++) {
    for (const r of assignReplicasRackAware(racked(layout), 10, 4, start)) {
      assert.is(new Set(r).size, 4, `brokers distinct in ${r}`);
      assert.equal(new Set(r.map((b) => layout[b])), new Set(['a', 'b']), `both racks in ${r}`);
    }
  }
});

test('deterministic for a start index, whatever the order brokers are given in; the start index moves leaders', () => {
  const layout = { 1: 'a', 2: 'b', 3: 'c', 4: 'a', 5: 'b', 6: 'c' };
  const brokers = racked(layout);
  const shuffled = [brokers[3], brokers[0], brokers[5], brokers[2], brokers[4], brokers[1]];
  for (let start = 0; start < 6; start++) {
    const a = assignReplicasRackAware(brokers, 9, 3, start);
    assert.equal(assignReplicasRackAware(brokers, 9, 3, start), a);
    assert.equal(assignReplicasRackAware(shuffled, 9, 3, start), a);
    assert.equal(assignReplicasRackAware(brokers, 9, 3, start + 6), a, 'start index taken modulo the broker count');
  }
  const firstLeaders = new Set([0, 1, 2, 3, 4, 5].map((s) => assignReplicasRackAware(brokers, 1, 3, s)[0][0]));
  assert.is(firstLeaders.size, 6, 'each start index gives partition 0 a different leader');
});

test('rack-unaware placement would put replicas on one rack where rack-aware does not', () => {
  // The case the feature exists for: with brokers 1,2 in rack a and 3,4 in rack b, Kafka's rack-unaware
  // round robin puts partition 0 on 1 and 2, both in rack a.
  const layout: Record<number, string> = { 1: 'a', 2: 'a', 3: 'b', 4: 'b' };
  const unaware = assignReplicas([1, 2, 3, 4], 4, 2, 0);
  assert.ok(unaware.some((r) => layout[r[0]] === layout[r[1]]), `rack-unaware ${JSON.stringify(unaware)}`);
  const placed = placeReplicas(racked(layout), 4, 2, 0);
  assert.ok(placed.rackAware);
  assert.equal(placed.brokersWithoutRack, []);
  for (const r of placed.replicas) assert.is.not(layout[r[0]], layout[r[1]], `rack-aware ${r}`);
});

test('placeReplicas: no racks is rack-unaware; only some racks falls back to rack-unaware and names the brokers without one', () => {
  const none: BrokerRack[] = [1, 2, 3].map((id) => ({ id, rack: null }));
  assert.equal(placeReplicas(none, 5, 2, 1), { replicas: assignReplicas([1, 2, 3], 5, 2, 1), rackAware: false, brokersWithoutRack: [] });
  const some: BrokerRack[] = [
    { id: 3, rack: null },
    { id: 1, rack: 'a' },
    { id: 2, rack: 'b' },
    { id: 4, rack: null },
  ];
  // Kafka would refuse ("Not all brokers have rack information"); Kastor places the topic ignoring racks.
  assert.equal(placeReplicas(some, 6, 3, 2), { replicas: assignReplicas([1, 2, 3, 4], 6, 3, 2), rackAware: false, brokersWithoutRack: [3, 4] });
  const all: BrokerRack[] = [
    { id: 1, rack: 'a' },
    { id: 2, rack: 'b' },
    { id: 3, rack: 'c' },
  ];
  assert.equal(placeReplicas(all, 4, 3, 0), { replicas: assignReplicasRackAware(all as Array<{ id: number; rack: string }>, 4, 3, 0), rackAware: true, brokersWithoutRack: [] });
});

test('replication factor above the broker count is INVALID_REPLICATION_FACTOR, racks or not', () => {
  for (const brokers of [racked({ 1: 'a', 2: 'b' }), [{ id: 1, rack: 'a' }, { id: 2, rack: null }]] as BrokerRack[][]) {
    try {
      placeReplicas(brokers, 1, 3, 0);
      assert.unreachable('accepted');
    } catch (err) {
      assert.instance(err, InvalidReplicationFactorError);
    }
  }
});

test.run();
