// Automatic preferred-leader balancing (Kafka's auto.leader.rebalance.enable, on by default): every
// leader.imbalance.check.interval (300 s) the controller counts, per broker, the partitions whose preferred
// replica (the first of the assignment) it is but which another broker leads; when that is more than
// leader.imbalance.per.broker.percentage (10 %) of them, those partitions get a preferred election — only where
// the preferred replica may lead and is in the ISR, and not while the partition is being reassigned (as Kafka's
// checkAndTriggerAutoLeaderRebalance). After a failover and the broker's return, leadership goes back to it
// without an operator's ElectLeaders.
import type { PartitionState, TopicInfo } from '../metadata/types.ts';
import { decideElection, ElectionType } from './elect-leaders.ts';
import type { ElectionView } from './partition-election.ts';
import { isReassigning } from './reassignment.ts';

export interface LeaderBalanceSettings {
  /** leader.imbalance.check.interval.seconds, in ms. */
  intervalMs: number;
  /** leader.imbalance.per.broker.percentage. */
  imbalancePercentage: number;
}

/** The partitions of imbalanced brokers to give back to their preferred replica, by topic name. */
export function partitionsToRebalance(topics: readonly TopicInfo[], view: ElectionView, imbalancePercentage: number): Map<string, Set<number>> {
  const byPreferred = new Map<number, Array<{ topic: string; p: PartitionState }>>();
  for (const t of topics) {
    for (const p of t.partitions) {
      const preferred = p.replicas[0]!;
      byPreferred.set(preferred, [...(byPreferred.get(preferred) ?? []), { topic: t.name, p }]);
    }
  }
  const out = new Map<string, Set<number>>();
  for (const [broker, owned] of byPreferred) {
    const elsewhere = owned.filter(({ p }) => p.leader !== broker);
    if (elsewhere.length * 100 <= owned.length * imbalancePercentage) continue;
    for (const { topic, p } of elsewhere) {
      if (isReassigning(p) || decideElection(p, ElectionType.PREFERRED, view).errorCode !== 0) continue;
      out.set(topic, (out.get(topic) ?? new Set()).add(p.partition));
    }
  }
  return out;
}
