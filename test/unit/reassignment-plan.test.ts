// `kastor cluster reassign` and `rebalance` plans, as pure functions: Kafka's reassignment JSON read into
// entries or refused with one line, and the proposal that evens out replicas and preferred leaders when a
// broker joins (every broker within one replica and one preferred leadership of the others).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePlan, proposeRebalance, type PartitionLayout } from '../../src/cli/reassignment-plan.ts';
import { UsageError } from '../../src/cli/args.ts';

const refused = (text: string, pattern: RegExp | string) => {
  try {
    parsePlan(text, 'plan.json');
  } catch (err) {
    assert.instance(err, UsageError);
    assert.match((err as Error).message, pattern);
    assert.is((err as Error).message.split('\n').length, 1);
    return;
  }
  assert.unreachable(`accepted: ${text}`);
};

test("parsePlan: Kafka's reassignment JSON (log_dirs ignored)", () => {
  const plan = parsePlan(JSON.stringify({ version: 1, partitions: [{ topic: 't', partition: 0, replicas: [2, 3], log_dirs: ['any', 'any'] }, { topic: 't', partition: 1, replicas: [1] }] }), 'plan.json');
  assert.equal(plan, [
    { topic: 't', partition: 0, replicas: [2, 3] },
    { topic: 't', partition: 1, replicas: [1] },
  ]);
});

test('parsePlan: one-line refusals', () => {
  refused('{', 'plan.json is not JSON');
  refused('{"version":1}', 'must be {"version":1');
  refused('{"version":2,"partitions":[]}', 'version 2 is not supported');
  refused('{"partitions":[{"partition":0,"replicas":[1]}]}', 'partitions[0] has no "topic"');
  refused('{"partitions":[{"topic":"t","partition":-1,"replicas":[1]}]}', 'non-negative integer "partition"');
  refused('{"partitions":[{"topic":"t","partition":0,"replicas":[]}]}', 'needs "replicas"');
  refused('{"partitions":[{"topic":"t","partition":0,"replicas":[1,1]}]}', 'names a broker twice');
  refused('{"partitions":[{"topic":"t","partition":0,"replicas":[1]},{"topic":"t","partition":0,"replicas":[2]}]}', 't-0 appears twice');
});

const apply = (layout: PartitionLayout[], plan: ReturnType<typeof proposeRebalance>) =>
  layout.map((p) => plan.find((e) => e.topic === p.topic && e.partition === p.partition) ?? p);
const spread = (layout: PartitionLayout[], brokers: number[], pick: (p: PartitionLayout) => number[]) => {
  const n = new Map(brokers.map((b) => [b, 0]));
  for (const p of layout) for (const b of pick(p)) n.set(b, (n.get(b) ?? 0) + 1);
  return [...n.values()];
};

test('proposeRebalance: a fourth broker gets its share of replicas and preferred leaderships', () => {
  // Six RF=2 partitions over brokers 1-3, as a round robin placed them.
  const layout: PartitionLayout[] = Array.from({ length: 6 }, (_, i) => ({ topic: 't', partition: i, replicas: [(i % 3) + 1, ((i + 1) % 3) + 1] }));
  const plan = proposeRebalance([1, 2, 3, 4], layout);
  assert.ok(plan.length > 0);
  const after = apply(layout, plan);
  const replicas = spread(after, [1, 2, 3, 4], (p) => p.replicas);
  const leaders = spread(after, [1, 2, 3, 4], (p) => p.replicas.slice(0, 1));
  assert.ok(Math.max(...replicas) - Math.min(...replicas) <= 1, `replicas per broker ${replicas}`);
  assert.ok(Math.max(...leaders) - Math.min(...leaders) <= 1, `preferred leaders per broker ${leaders}`);
  for (const p of after) assert.is(new Set(p.replicas).size, 2, 'the replication factor is kept, on distinct brokers');
  assert.equal(proposeRebalance([1, 2, 3, 4], after), [], 'balanced: nothing more to propose');
});

test('proposeRebalance: replicas on a broker gone from the cluster move to live ones', () => {
  const plan = proposeRebalance([1, 2], [{ topic: 't', partition: 0, replicas: [1, 3] }]);
  assert.equal(plan, [{ topic: 't', partition: 0, replicas: [1, 2] }]);
});

test.run();
