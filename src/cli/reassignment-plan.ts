// Reassignment plans for `kastor cluster reassign` and `kastor cluster rebalance`: Kafka's reassignment JSON
// (what kafka-reassign-partitions.sh reads: {"version":1,"partitions":[{"topic","partition","replicas"}]}),
// checked into one-line errors, and a proposal that evens out replicas and preferred leaders across brokers
// (the way to put a broker added to the cluster to work). Pure: no I/O.
import { UsageError } from './args.ts';

export interface PlanEntry {
  topic: string;
  partition: number;
  replicas: number[];
}

export interface PartitionLayout {
  topic: string;
  partition: number;
  replicas: number[];
}

/** Kafka's reassignment JSON, or a UsageError naming what is wrong (`log_dirs` is accepted and ignored). */
export function parsePlan(text: string, source: string): PlanEntry[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${source} is not JSON: ${(err as Error).message}`);
  }
  const plan = v as { version?: unknown; partitions?: unknown };
  if (typeof v !== 'object' || v === null || !Array.isArray(plan.partitions)) throw new UsageError(`${source} must be {"version":1,"partitions":[{"topic":..,"partition":..,"replicas":[..]}]}`);
  if (plan.version !== undefined && plan.version !== 1) throw new UsageError(`${source}: version ${String(plan.version)} is not supported (1 is)`);
  const seen = new Set<string>();
  return plan.partitions.map((e: unknown, i: number) => {
    const r = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
    const where = `${source}: partitions[${i}]`;
    if (typeof r.topic !== 'string' || r.topic === '') throw new UsageError(`${where} has no "topic" string`);
    if (!Number.isSafeInteger(r.partition) || (r.partition as number) < 0) throw new UsageError(`${where} has no non-negative integer "partition"`);
    if (!Array.isArray(r.replicas) || r.replicas.length === 0 || !r.replicas.every((b) => Number.isSafeInteger(b) && b >= 0)) {
      throw new UsageError(`${where} needs "replicas", a non-empty list of broker ids`);
    }
    if (new Set(r.replicas).size !== r.replicas.length) throw new UsageError(`${where} names a broker twice in "replicas"`);
    const key = `${r.topic}-${String(r.partition)}`;
    if (seen.has(key)) throw new UsageError(`${where}: partition ${key} appears twice`);
    seen.add(key);
    return { topic: r.topic, partition: r.partition as number, replicas: r.replicas as number[] };
  });
}

/**
 * New replica lists that even out, over `brokers`, first how many replicas each holds, then how many
 * partitions each prefers to lead (the first replica): a replica moves from the busiest broker to the least
 * busy one not already holding the partition while they differ by more than one; then a partition whose
 * first replica is the busiest preferred leader puts the least busy one of its replicas first. Returns the
 * partitions whose list changed. Deterministic for the same input.
 */
export function proposeRebalance(brokers: readonly number[], partitions: readonly PartitionLayout[]): PlanEntry[] {
  const layout = partitions.map((p) => ({ ...p, replicas: [...p.replicas] }));
  const ids = [...new Set(brokers)].sort((a, b) => a - b);
  if (ids.length === 0) return [];
  const count = (pick: (p: PartitionLayout) => number[]) => {
    const n = new Map(ids.map((b) => [b, 0]));
    for (const p of layout) for (const b of pick(p)) if (n.has(b)) n.set(b, n.get(b)! + 1);
    return n;
  };
  const extremes = (n: Map<number, number>) => {
    const sorted = [...n].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
    return { min: sorted[0]!, max: sorted[sorted.length - 1]! };
  };
  // A replica on a broker outside `brokers` (gone from the cluster) counts as the busiest of all.
  for (;;) {
    const n = count((p) => p.replicas);
    const { min, max } = extremes(n);
    const stray = layout.find((p) => p.replicas.some((b) => !n.has(b)) && !p.replicas.includes(min[0]));
    const fromStray = stray ? stray.replicas.find((b) => !n.has(b))! : undefined;
    if (stray && fromStray !== undefined) {
      stray.replicas[stray.replicas.indexOf(fromStray)] = min[0];
      continue;
    }
    if (max[1] - min[1] <= 1) break;
    const move = layout.find((p) => p.replicas.includes(max[0]) && !p.replicas.includes(min[0]));
    if (!move) break;
    move.replicas[move.replicas.indexOf(max[0])] = min[0];
  }
  for (let guard = 0; guard < layout.length * ids.length; guard++) {
    const n = count((p) => p.replicas.slice(0, 1));
    const { min, max } = extremes(n);
    if (max[1] - min[1] <= 1) break;
    const swap = layout.find((p) => p.replicas[0] === max[0] && p.replicas.includes(min[0]));
    if (!swap) break;
    const i = swap.replicas.indexOf(min[0]);
    [swap.replicas[0], swap.replicas[i]] = [swap.replicas[i]!, swap.replicas[0]!];
  }
  return layout.filter((p, i) => p.replicas.join() !== partitions[i]!.replicas.join()).map((p) => ({ topic: p.topic, partition: p.partition, replicas: p.replicas }));
}
