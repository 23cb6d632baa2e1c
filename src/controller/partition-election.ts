// What the controller does to a partition when brokers come and go — pure functions over plain
// PartitionState values, so every rule is tested with data alone.
//
// Kafka's rules (PartitionLeaderElectionAlgorithms, KIP-966's "last ISR member" behaviour):
// - a partition whose leader is dead (not registered) or -1 gets the first replica, in replica order, that
//   is in the ISR and alive; its new ISR is the old one minus dead brokers;
// - if no ISR member is alive the ISR keeps one member (the last leader if it was in the ISR, so the
//   replica most likely to hold every committed record comes back as leader; but not one that just restarted
//   while another member is only down, as a restart may follow a power loss) and the leader is -1 —
//   unless `unclean.leader.election.enable` is "true", then any live replica leads with ISR = [it];
// - a dead follower leaves the ISR (only the ISR changes; Kafka would bump a partition epoch we lack);
// - every leadership change, to -1 included, bumps leaderEpoch by one, fencing the old leader.
// Controlled shutdown (Kafka's ControlledShutdown) moves leadership away from a broker that asks, to
// another ISR member, and drops it from ISRs that keep other members.
import type { PartitionState, TopicInfo } from '../metadata/types.ts';

export interface ElectionView {
  /** Registered brokers: anything else is dead. */
  live: ReadonlySet<number>;
  /** Live brokers that may become leader (live minus brokers in controlled shutdown). */
  eligible: ReadonlySet<number>;
  /** The topic's unclean.leader.election.enable. */
  uncleanElection: boolean;
  /**
   * Registered brokers the controller has not unfenced yet (just restarted): counted as dead, and, when the
   * ISR must keep a member none of which is alive, passed over for one that did not restart, since a restart
   * may follow a power loss that took the unsynced tail of its log.
   */
  fenced?: ReadonlySet<number>;
}

/** The partition after the controller's reaction to the live set, or null when nothing changes. */
export function electPartition(p: PartitionState, view: ElectionView): PartitionState | null {
  const isrAlive = p.isr.filter((b) => view.live.has(b));
  const leaderAlive = p.leader !== -1 && view.live.has(p.leader);
  if (leaderAlive) {
    // Only followers died: shrink the ISR (the leader itself stays in it whatever the ISR said).
    if (isrAlive.length === p.isr.length) return null;
    return { ...p, isr: isrAlive.length > 0 ? isrAlive : [p.leader] };
  }
  const candidate = p.replicas.find((r) => isrAlive.includes(r) && view.eligible.has(r));
  if (candidate !== undefined) return { ...p, leader: candidate, leaderEpoch: p.leaderEpoch + 1, isr: isrAlive };
  if (view.uncleanElection) {
    const any = p.replicas.find((r) => view.eligible.has(r));
    if (any !== undefined) return { ...p, leader: any, leaderEpoch: p.leaderEpoch + 1, isr: [any] };
  }
  // No one may lead. Live ISR members (only ineligible ones can be left) stay; otherwise keep one member.
  const isr = isrAlive.length > 0 ? isrAlive : lastIsrMember(p, view.fenced);
  const leaderEpoch = p.leader === -1 ? p.leaderEpoch : p.leaderEpoch + 1;
  if (p.leader === -1 && sameList(isr, p.isr)) return null;
  return { ...p, leader: -1, leaderEpoch, isr };
}

function lastIsrMember(p: PartitionState, fenced: ReadonlySet<number> = new Set()): number[] {
  if (p.isr.length <= 1) return [...p.isr];
  // A member that restarted (fenced) may have lost what it had not synced; one that is only down has its log.
  const whole = p.isr.filter((b) => !fenced.has(b));
  const from = whole.length > 0 ? whole : p.isr;
  return p.leader !== -1 && from.includes(p.leader) ? [p.leader] : [from[from.length - 1]!];
}

/** Moves leadership and ISR membership away from `broker`, which asked to shut down; null when unchanged. */
export function shutdownPartition(p: PartitionState, broker: number, eligible: ReadonlySet<number>): PartitionState | null {
  if (!p.replicas.includes(broker)) return null;
  const others = p.isr.filter((b) => b !== broker);
  if (p.leader === broker) {
    const candidate = p.replicas.find((r) => r !== broker && others.includes(r) && eligible.has(r));
    // Kafka leaves a partition with no other ISR member where it is: it goes offline with the broker.
    if (candidate === undefined) return null;
    return { ...p, leader: candidate, leaderEpoch: p.leaderEpoch + 1, isr: others };
  }
  if (p.isr.includes(broker) && others.length > 0) return { ...p, isr: others };
  return null;
}

/**
 * Applies `change` to every partition of the topic; returns the new partitions list, or null when no
 * partition changes (then the controller writes nothing).
 */
export function planTopic(topic: TopicInfo, change: (p: PartitionState) => PartitionState | null): PartitionState[] | null {
  let changed = false;
  const next = topic.partitions.map((p) => {
    const q = change(p);
    if (q === null) return p;
    changed = true;
    return q;
  });
  return changed ? next : null;
}

export function uncleanElectionEnabled(topic: TopicInfo): boolean {
  return topic.config['unclean.leader.election.enable'] === 'true';
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
