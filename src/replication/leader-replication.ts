// What a partition leader knows about its followers, and the ISR changes it proposes (Kafka's Partition
// leader state: the follower replicas' fetch state, maybeShrinkIsr / maybeExpandIsr, AlterPartition of
// KIP-497). One instance lives for one leader epoch; a new epoch starts from scratch, as in Kafka.
//
// - Each follower fetch reports the follower's log end offset (its fetchOffset) and, following Kafka's
//   Replica.updateFetchState, when it was last caught up: at this fetch if it asked from the leader's log
//   end, else at the previous fetch if it asked from at least where the leader's log ended then.
// - High watermark = min log end offset over the "maximal ISR": the committed ISR plus any replica a pending
//   proposal adds (Kafka's PendingExpandIsr), so an expansion never lets the HW pass data the joiner lacks,
//   and a pending shrink keeps counting the leaving replica until the controller committed it.
// - An ISR member not caught up for replica.lag.time.max.ms is proposed out; a replica outside the ISR whose
//   log end reached the HW and the start of this leader epoch is proposed in. One proposal in flight at a
//   time; the committed ISR is applied only from the metadata (the ASSIGNMENT), a rejected one is dropped.
import type { PartitionLog } from '../log/partition-log.ts';
import type { Clock } from '../runtime/clock.ts';
import { ErrorCode } from '../protocol/generated/errors.ts';
import type { Logger } from '../util/logger.ts';
import type { AlterIsrRequest, ProposeIsr } from './isr-proposal.ts';

export interface FollowerState {
  /** -1 until the follower's first fetch in this epoch. */
  logEndOffset: number;
  lastCaughtUpTime: number;
  lastFetchTime: number;
  /** The leader's log end offset when this follower last fetched. */
  lastFetchLeaderLogEndOffset: number;
  incarnation: string;
  /** The follower's log start offset from its last fetch (-1 or absent before one): DeleteRecords' low watermark. */
  logStartOffset?: number;
}

export interface LeaderReplicationOptions {
  topic: string;
  partition: number;
  brokerId: number;
  leaderEpoch: number;
  /** First offset of this leader epoch in the leader's log (Kafka's leaderEpochStartOffset). */
  /** Where this leader's epoch starts in its log (a function: it is fixed once queued writes are in). */
  epochStartOffset: () => number;
  log: PartitionLog;
  /** The committed assignment as the partition actor holds it now. */
  replicas: () => number[];
  /** The replicas when leadership starts (the actor's snapshot may not show them yet). */
  initialReplicas: number[];
  isr: () => number[];
  clock: Clock;
  logger: Logger;
  proposeIsr?: ProposeIsr;
  replicaLagTimeMaxMs: number;
  /** After a failed or rejected proposal, wait this long before proposing again. */
  proposalRetryMs?: number;
  /** A committed proposal whose ISR the metadata has not shown within this long is forgotten. */
  proposalExpiryMs?: number;
  /** Called when something that may move the high watermark changed outside a fetch (a dropped proposal). */
  onChange: () => void;
}

interface PendingProposal {
  isr: number[];
  since: number;
}

const sameSet = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x) => b.includes(x));

export class LeaderReplication {
  readonly followers = new Map<number, FollowerState>();
  private pending: PendingProposal | null = null;
  private retryAfter = 0;
  private closed = false;

  constructor(private readonly opts: LeaderReplicationOptions) {
    // Kafka resets follower state on becoming leader with lastCaughtUpTime = now: the new leader gives every
    // follower a full lag period before judging it. Times here are monotonic: a step of the wall clock must not
    // make every follower look behind (Kafka reads the wall clock here).
    const now = opts.clock.monotonic();
    for (const id of opts.initialReplicas) {
      if (id === opts.brokerId) continue;
      this.followers.set(id, { logEndOffset: -1, lastCaughtUpTime: now, lastFetchTime: -1, lastFetchLeaderLogEndOffset: -1, incarnation: '', logStartOffset: -1 });
    }
  }

  get leaderEpoch(): number {
    return this.opts.leaderEpoch;
  }

  /** The ISR a high watermark must respect: committed members plus those a pending proposal adds. */
  maximalIsr(): number[] {
    const isr = this.opts.isr();
    if (!this.pending) return isr;
    return [...new Set([...isr, ...this.pending.isr])];
  }

  /** Records a follower's fetch from `fetchOffset` with its log start; may propose adding it to the ISR. */
  recordFetch(replicaId: number, incarnation: string, fetchOffset: number, logStartOffset = -1): void {
    const now = this.opts.clock.monotonic();
    const leaderEnd = this.opts.log.logEndOffset;
    let f = this.followers.get(replicaId);
    if (!f) {
      f = { logEndOffset: -1, lastCaughtUpTime: now, lastFetchTime: -1, lastFetchLeaderLogEndOffset: -1, incarnation, logStartOffset };
      this.followers.set(replicaId, f);
    }
    if (fetchOffset >= leaderEnd) f.lastCaughtUpTime = Math.max(f.lastCaughtUpTime, now);
    else if (f.lastFetchTime >= 0 && fetchOffset >= f.lastFetchLeaderLogEndOffset) f.lastCaughtUpTime = Math.max(f.lastCaughtUpTime, f.lastFetchTime);
    f.logEndOffset = fetchOffset;
    f.lastFetchLeaderLogEndOffset = leaderEnd;
    f.lastFetchTime = now;
    f.incarnation = incarnation;
    f.logStartOffset = logStartOffset;
    this.maybeExpand(replicaId, f);
  }

  /**
   * A fetch recorded by recordFetch was held (long poll) until now: a follower caught up when it was held
   * stayed caught up until now, since any append would have answered it at once (Kafka updates a follower's
   * state when its delayed fetch completes). Without this, a follower idle for longer than
   * replica.lag.time.max.ms would count as lagging from the first append until its next request arrives.
   */
  recordHeld(replicaId: number, fetchOffset: number): void {
    const f = this.followers.get(replicaId);
    if (f && f.lastFetchLeaderLogEndOffset >= 0 && fetchOffset >= f.lastFetchLeaderLogEndOffset) f.lastCaughtUpTime = Math.max(f.lastCaughtUpTime, this.opts.clock.monotonic());
  }

  /** min LEO over the maximal ISR; a member that has not fetched in this epoch holds it where it is. */
  highWatermarkCandidate(): number {
    let hw = this.opts.log.logEndOffset;
    for (const id of this.maximalIsr()) {
      if (id === this.opts.brokerId) continue;
      const leo = this.followers.get(id)?.logEndOffset ?? -1;
      if (leo < 0) return this.opts.log.highWatermark;
      hw = Math.min(hw, leo);
    }
    return hw;
  }

  /**
   * Kafka's lowWatermarkIfLeader: the smallest log start offset over the leader and the ISR's followers (one
   * that has not fetched in this epoch counts as -1), what a DeleteRecords answer reports as done everywhere.
   */
  lowWatermark(): number {
    let low = this.opts.log.logStartOffset;
    for (const id of this.opts.isr()) {
      if (id === this.opts.brokerId) continue;
      low = Math.min(low, this.followers.get(id)?.logStartOffset ?? -1);
    }
    return low;
  }

  private maybeExpand(replicaId: number, f: FollowerState): void {
    const isr = this.opts.isr();
    if (isr.includes(replicaId) || !this.opts.replicas().includes(replicaId)) return;
    if (f.logEndOffset < this.opts.log.highWatermark || f.logEndOffset < this.opts.epochStartOffset()) return;
    this.propose([...isr, replicaId], { [replicaId]: f.incarnation });
  }

  /** Kafka's isr-expiration task: proposes out the ISR members not caught up for replica.lag.time.max.ms. */
  maybeShrink(): void {
    const now = this.opts.clock.monotonic();
    this.expirePending(now);
    const isr = this.opts.isr();
    const leaderEnd = this.opts.log.logEndOffset;
    const lagging = isr.filter((id) => {
      if (id === this.opts.brokerId) return false;
      const f = this.followers.get(id);
      if (!f) return false;
      return f.logEndOffset < leaderEnd && now - f.lastCaughtUpTime > this.opts.replicaLagTimeMaxMs;
    });
    if (lagging.length === 0) return;
    this.propose(isr.filter((id) => !lagging.includes(id)));
  }

  /** The metadata delivered a (possibly) new ISR: a pending proposal it answers is settled. */
  onIsrChanged(isr: number[]): void {
    if (this.pending && sameSet(isr, this.pending.isr)) this.pending = null;
  }

  get pendingIsr(): number[] | null {
    return this.pending ? [...this.pending.isr] : null;
  }

  close(): void {
    this.closed = true;
    this.pending = null;
  }

  private expirePending(now: number): void {
    if (this.pending && now - this.pending.since > (this.opts.proposalExpiryMs ?? 10_000)) {
      this.pending = null;
      this.opts.onChange();
    }
  }

  private propose(isr: number[], added?: Record<string, string>): void {
    const { proposeIsr, clock } = this.opts;
    const now = clock.monotonic();
    this.expirePending(now);
    if (!proposeIsr || this.closed || this.pending || now < this.retryAfter) return;
    if (sameSet(isr, this.opts.isr())) return;
    const proposal: PendingProposal = { isr: [...isr].sort((a, b) => a - b), since: now };
    this.pending = proposal;
    const req: AlterIsrRequest = { topic: this.opts.topic, partition: this.opts.partition, leaderId: this.opts.brokerId, leaderEpoch: this.opts.leaderEpoch, isr: proposal.isr, fromIsr: [...this.opts.isr()], ...(added ? { added } : {}) };
    this.opts.logger.info('proposing an ISR change', { topic: req.topic, partition: req.partition, leaderEpoch: req.leaderEpoch, from: this.opts.isr(), to: req.isr });
    const dropped = (why: string, facts: Record<string, unknown>) => {
      if (this.pending !== proposal) return;
      this.pending = null;
      this.retryAfter = clock.monotonic() + (this.opts.proposalRetryMs ?? 1_000);
      this.opts.logger.warn(`ISR proposal dropped: ${why}`, { topic: req.topic, partition: req.partition, isr: req.isr, ...facts });
      this.opts.onChange();
    };
    proposeIsr(req).then(
      (res) => {
        if (res.errorCode !== ErrorCode.NONE) return dropped('the controller refused it', { errorCode: res.errorCode });
        // Accepted: keep counting it as pending until the metadata shows it (or it expires).
        if (this.pending === proposal && sameSet(this.opts.isr(), proposal.isr)) this.pending = null;
        else if (this.pending === proposal) proposal.since = clock.monotonic();
      },
      (err: unknown) => dropped('the proposal failed', { error: err as Error }),
    );
  }
}
