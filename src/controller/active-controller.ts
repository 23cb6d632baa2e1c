// What the controller does while it holds the lease (Kafka's KafkaController / QuorumController duties):
// tracks broker liveness from heartbeats and deregisters brokers silent for a session timeout, elects
// leaders and shrinks ISRs when brokers die or come back, commits ISR changes proposed by leaders
// (AlterPartition) and serves controlled shutdowns. Created when the lease is won, stopped when it is
// lost; nothing here survives a handover — a new controller rebuilds everything from the bucket and
// gives every broker a full session timeout of grace.
//
// Every write is a compare-and-set of one topic (or one broker registration) and is refused unless the
// lease is still valid on this broker's clock (`holdsLease`), checked again before each attempt.
import { current } from 'immer';
import type { Clock } from '../runtime/clock.ts';
import type { Transport, TransportSubscription } from '../runtime/transport.ts';
import { InvalidTopicError, TopicNotFoundError } from '../metadata/errors.ts';
import type { MetadataStore } from '../metadata/metadata-store.ts';
import type { ClusterSnapshot, PartitionState, TopicInfo } from '../metadata/types.ts';
import { ErrorCode } from '../protocol/generated/errors.ts';
import type { Subjects } from '../transport/subjects.ts';
import type { Logger } from '../util/logger.ts';
import { Slots } from '../util/slots.ts';
import { decideAlterIsr, parseAlterIsrRequest, type AlterIsrDecision, type AlterIsrResponse } from './alter-isr.ts';
import { parseControlledShutdownRequest, type ControlledShutdownResponse } from './controlled-shutdown.ts';
import { NotActiveControllerError } from './errors.ts';
import { parseReplicaOfflineRequest, type ReplicaOfflineResponse } from './replica-offline.ts';
import {
  controllerWasStalled,
  expiredBrokers,
  observeRegistrations,
  parseHeartbeat,
  recordHeartbeat,
  refreshAll,
  type LivenessTable,
} from './liveness.ts';
import { PROBE_STRIKES, type LivenessProbe } from './liveness-probe.ts';
import { planTopic, shutdownPartition, uncleanElectionEnabled, type ElectionView } from './partition-election.ts';
import { decideElection, ElectionType, parseElectLeadersRequest, type ElectLeadersResponse, type PartitionOutcome } from './elect-leaders.ts';
import { decideReassignment, parseReassignPartitionsRequest, reconcilePartition, type ReassignPartitionsResponse } from './reassignment.ts';
import { partitionsToRebalance, type LeaderBalanceSettings } from './leader-balance.ts';

export interface ActiveControllerOptions {
  brokerId: number;
  epoch: number;
  metadata: MetadataStore;
  /** Heartbeats in, AlterIsr and controlled-shutdown requests served; its onReconnect resets what the probe trusts. */
  transport: Pick<Transport, 'subscribe' | 'serve' | 'onReconnect'>;
  subjects: Subjects;
  /** Monotonic. */
  clock: Clock;
  sessionTimeoutMs: number;
  /** True while the lease is valid on this broker's clock. */
  holdsLease: () => boolean;
  logger: Logger;
  /** Fast crash detection (liveness-probe.ts): probes every broker heard from whose heartbeat is overdue; absent in unit tests. */
  probe?: LivenessProbe;
  /** How often a silent broker is probed (default 200 ms); two "gone" answers in a row deregister it. */
  probeIntervalMs?: number;
  /** A broker is probed only once this long has passed since its last heartbeat (default 0: always). */
  probeSilenceMs?: number;
  /** Brokers already known dead (the previous controller, found gone by the probe that led to this takeover). */
  knownGone?: number[];
  /** Automatic preferred-leader balancing (leader-balance.ts); absent: off. */
  leaderBalance?: LeaderBalanceSettings;
}

/** Subscribers of controller requests share this queue group, so even an overlap during a handover answers once. */
const QUEUE = 'kastor-controller';
const RETRY_MS = 200;
/** Topics whose elections are being written at once in a reconcile pass. */
const ELECTION_WRITES_IN_FLIGHT = 16;
const encoder = new TextEncoder();
const encodeJsonReply = (r: AlterIsrResponse | ControlledShutdownResponse | ReplicaOfflineResponse | ElectLeadersResponse | ReassignPartitionsResponse): Uint8Array =>
  encoder.encode(JSON.stringify(r));

/** One partition's answer to an operator's request: the partition to write (null: none), or an error. */
type OperatorDecision = { errorCode: 0; next: PartitionState | null } | { errorCode: number; errorMessage: string };

/** A request's JSON body, or undefined when it is not JSON (answered with INVALID_REQUEST). */
function jsonOf(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString());
  } catch {
    return undefined;
  }
}

export class ActiveController {
  private table: LivenessTable = new Map();
  private lastCheckAt: number;
  private readonly subs: TransportSubscription[] = [];
  private unsubscribe: (() => void) | null = null;
  private timer: unknown = null;
  private retryTimer: unknown = null;
  private work: Promise<void> = Promise.resolve();
  private reconcileQueued = false;
  /**
   * The topics a reconcile pass found nothing to do for, as they were then, and the brokers it ran with (null
   * while a pass runs or after one was cut short): the next pass looks only at topics that changed since, unless
   * the brokers did. A pass over every partition on every ISR change was most of the controller's CPU with
   * 10,000 partitions under load.
   */
  private readonly reconciled = new Map<string, TopicInfo>();
  private reconciledBrokers: ClusterSnapshot['brokers'] | null = null;
  /** Topics reconcile passes looked at, since start (tests). */
  topicsReconciled = 0;
  private stopped = false;
  private readonly deregistering = new Set<string>();
  /** Brokers in controlled shutdown (id → incarnation): alive, but never elected. */
  private readonly shuttingDown = new Map<number, string>();
  /** Brokers heard (a heartbeat) since this controller's connection last came back: id → incarnation. */
  private readonly heard = new Map<number, string>();
  private readonly strikes = new Map<number, number>();
  private probeTimer: unknown = null;
  private balanceTimer: unknown = null;
  private probing = false;
  private stopWatchingReconnects: (() => void) | null = null;

  constructor(private readonly opts: ActiveControllerOptions) {
    this.lastCheckAt = opts.clock.monotonic();
  }

  start(): void {
    const { opts } = this;
    const now = opts.clock.monotonic();
    // Grace: every registered broker starts with a full session timeout on this controller's clock.
    this.table = observeRegistrations(new Map(), opts.metadata.snapshot().brokers, now);
    this.lastCheckAt = now;
    this.unsubscribe = opts.metadata.subscribe((next, prev) => this.onSnapshot(next, prev));
    this.subs.push(
      opts.transport.subscribe(opts.subjects.heartbeat, (payload) => this.onHeartbeat(payload)),
      opts.transport.serve(opts.subjects.alterIsr, async (payload) => encodeJsonReply(await this.onAlterIsr(payload)), { queue: QUEUE }),
      opts.transport.serve(opts.subjects.controlledShutdown, async (payload) => encodeJsonReply(await this.onControlledShutdown(payload)), { queue: QUEUE }),
      opts.transport.serve(opts.subjects.replicaOffline, async (payload) => encodeJsonReply(await this.onReplicaOffline(payload)), { queue: QUEUE }),
      opts.transport.serve(opts.subjects.electLeaders, async (payload) => encodeJsonReply(await this.onElectLeaders(payload)), { queue: QUEUE }),
      opts.transport.serve(opts.subjects.reassignPartitions, async (payload) => encodeJsonReply(await this.onReassignPartitions(payload)), { queue: QUEUE }),
    );
    this.scheduleCheck();
    if (opts.probe) {
      this.stopWatchingReconnects = opts.transport.onReconnect(() => {
        this.heard.clear();
        this.strikes.clear();
      });
      this.scheduleProbe();
    }
    for (const id of opts.knownGone ?? []) {
      const registered = this.table.get(id);
      if (registered && id !== opts.brokerId) this.deregisterDead({ brokerId: id, incarnation: registered.incarnation }, 'it was the controller and its NATS connection is gone (crash probe)');
    }
    this.requestReconcile();
    this.scheduleLeaderBalance();
    opts.logger.info('controller active', { epoch: opts.epoch });
  }

  /** Stops acting at once; resolves when the write in progress (refused from now on) has ended. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const s of this.subs) s.stop();
    this.subs.length = 0;
    this.unsubscribe?.();
    if (this.timer !== null) this.opts.clock.clearTimeout(this.timer);
    if (this.retryTimer !== null) this.opts.clock.clearTimeout(this.retryTimer);
    if (this.probeTimer !== null) this.opts.clock.clearTimeout(this.probeTimer);
    if (this.balanceTimer !== null) this.opts.clock.clearTimeout(this.balanceTimer);
    this.stopWatchingReconnects?.();
    this.opts.logger.info('controller no longer active', { epoch: this.opts.epoch });
    await this.work;
  }

  // ---- liveness ----

  private onHeartbeat(payload: Buffer): void {
    let hb = null;
    try {
      hb = parseHeartbeat(JSON.parse(payload.toString()));
    } catch {
      // not JSON: ignored like any other malformed heartbeat
    }
    if (!hb) return;
    this.table = recordHeartbeat(this.table, hb, this.opts.clock.monotonic());
    if (this.table.get(hb.brokerId)?.incarnation === hb.incarnation && this.heard.get(hb.brokerId) !== hb.incarnation) {
      this.heard.set(hb.brokerId, hb.incarnation);
      this.strikes.delete(hb.brokerId);
    }
  }

  private scheduleProbe(): void {
    this.probeTimer = this.opts.clock.setTimeout(() => {
      if (this.stopped) return;
      this.probeRound();
      this.scheduleProbe();
    }, this.opts.probeIntervalMs ?? 200);
  }

  /**
   * Probes every broker heard from whose heartbeat is overdue (a live broker's heartbeats say enough); one
   * whose connection is gone twice in a row is deregistered at once.
   */
  private probeRound(): void {
    const probe = this.opts.probe;
    if (!probe || this.probing) return;
    const now = this.opts.clock.monotonic();
    const silence = this.opts.probeSilenceMs ?? 0;
    const targets = [...this.heard].filter(([id, incarnation]) => {
      const entry = this.table.get(id);
      if (entry?.incarnation !== incarnation) {
        this.heard.delete(id); // deregistered or restarted: wait for the new incarnation's heartbeat
        return false;
      }
      if (id === this.opts.brokerId) return false;
      if (now - entry.lastSeenAt < silence) {
        this.strikes.delete(id);
        return false;
      }
      return true;
    });
    if (targets.length === 0) return;
    this.probing = true;
    void Promise.all(
      targets.map(async ([id, incarnation]) => {
        const result = await probe(id);
        if (this.stopped || this.heard.get(id) !== incarnation) return;
        if (result !== 'gone') return void this.strikes.delete(id);
        const strikes = (this.strikes.get(id) ?? 0) + 1;
        this.strikes.set(id, strikes);
        if (strikes < PROBE_STRIKES) return;
        this.heard.delete(id);
        this.strikes.delete(id);
        this.deregisterDead({ brokerId: id, incarnation }, 'its NATS connection is gone (crash probe)');
      }),
    ).finally(() => (this.probing = false));
  }

  private scheduleCheck(): void {
    const every = Math.max(20, Math.min(250, this.opts.sessionTimeoutMs / 6));
    this.timer = this.opts.clock.setTimeout(() => {
      if (this.stopped) return;
      this.checkLiveness();
      this.scheduleCheck();
    }, every);
  }

  private checkLiveness(): void {
    const now = this.opts.clock.monotonic();
    if (controllerWasStalled(this.lastCheckAt, now, this.opts.sessionTimeoutMs)) {
      this.opts.logger.warn('controller was stalled; giving every broker a new session timeout', { stalledMs: Math.round(now - this.lastCheckAt) });
      this.table = refreshAll(this.table, now);
    }
    this.lastCheckAt = now;
    for (const dead of expiredBrokers(this.table, now, this.opts.sessionTimeoutMs)) this.deregisterDead(dead, `it missed its session timeout (${this.opts.sessionTimeoutMs} ms)`);
  }

  private deregisterDead(dead: { brokerId: number; incarnation: string }, why: string): void {
    const key = `${dead.brokerId}/${dead.incarnation}`;
    if (this.deregistering.has(key)) return;
    this.deregistering.add(key);
    this.enqueue(async () => {
      try {
        this.assertLease(`deregister broker ${dead.brokerId}`);
        this.opts.logger.warn(`deregistering a broker: ${why}`, { deadBroker: dead.brokerId, incarnation: dead.incarnation });
        // Only that incarnation: a broker that restarted meanwhile keeps its new registration.
        await this.opts.metadata.unregisterBroker(dead.brokerId, dead.incarnation);
      } finally {
        this.deregistering.delete(key);
      }
    });
  }

  // ---- elections ----

  private onSnapshot(next: ClusterSnapshot, prev: ClusterSnapshot): void {
    if (next.brokers !== prev.brokers) {
      this.table = observeRegistrations(this.table, next.brokers, this.opts.clock.monotonic());
      for (const [id, inc] of this.shuttingDown) if (next.brokers[id]?.incarnation !== inc) this.shuttingDown.delete(id);
    }
    if (next.brokers !== prev.brokers || next.topics !== prev.topics) this.requestReconcile();
  }

  private view(topic: TopicInfo): ElectionView {
    // A fenced broker (just registered) counts as its dead previous life until its ISR places are gone.
    const brokers = Object.values(this.opts.metadata.snapshot().brokers);
    const live = new Set(brokers.filter((b) => b.fenced !== true).map((b) => b.id));
    const fenced = new Set(brokers.filter((b) => b.fenced === true).map((b) => b.id));
    const eligible = new Set([...live].filter((b) => !this.shuttingDown.has(b)));
    return { live, eligible, uncleanElection: uncleanElectionEnabled(topic), fenced };
  }

  /** One reconcile pass at a time; changes during a pass queue exactly one more. */
  private requestReconcile(): void {
    if (this.reconcileQueued || this.stopped) return;
    this.reconcileQueued = true;
    this.enqueue(async () => {
      this.reconcileQueued = false;
      await this.reconcile();
    });
  }

  private async reconcile(): Promise<void> {
    const snapshot = this.opts.metadata.snapshot();
    // Elections depend on the brokers: when they changed, every topic is looked at again.
    if (snapshot.brokers !== this.reconciledBrokers) this.reconciled.clear();
    this.reconciledBrokers = null;
    for (const name of this.reconciled.keys()) if (!snapshot.topics[name]) this.reconciled.delete(name);
    const fenced = Object.values(snapshot.brokers).filter((b) => b.fenced === true);
    // Topics are separate keys: their writes go out together, a few at a time. One after another, a broker's
    // death with 3,000 partitions in 30 topics had the last topic's new leaders written a second after the first.
    const slots = new Slots(ELECTION_WRITES_IN_FLIGHT);
    const writes: Array<Promise<void>> = [];
    for (const topic of Object.values(snapshot.topics)) {
      if (this.stopped) break;
      if (this.reconciled.get(topic.name) === topic) continue;
      this.topicsReconciled++;
      // One view per topic, not per partition: it lists the registered brokers twice over.
      const view = this.view(topic);
      // Elections, and the completion of reassignments whose target replicas are all in the ISR. A topic written
      // here changes, so the pass its change starts looks at it again.
      if (planTopic(topic, (p) => reconcilePartition(p, view)) === null) {
        this.reconciled.set(topic.name, topic);
        continue;
      }
      const before = topic.partitions;
      writes.push(
        slots.run(async () => {
          if (this.stopped) return;
          const after = await this.writeTopic(topic.name, 'elect leaders', (t) => {
            const current = this.view(t);
            return planTopic(t, (p) => reconcilePartition(p, current));
          });
          if (after) this.logChanges(topic.name, after, before, 'leader election or reassignment');
        }),
      );
    }
    const failed = (await Promise.allSettled(writes)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    if (this.stopped) return;
    // Every topic is written without the brokers that were fenced when the pass began (KRaft's fencing of a
    // registering broker): their previous lives' ISR places and leaderships are gone, so they may be unfenced
    // and rejoin as followers that catch up. A broker that registered again meanwhile stays fenced (the
    // incarnation must match), and its registration starts another pass.
    for (const b of fenced) {
      if (this.stopped) return;
      if (await this.opts.metadata.unfenceBroker(b.id, b.incarnation, () => this.assertLease('unfence a broker'))) {
        this.opts.logger.info('broker unfenced: it holds no ISR place or leadership of a previous life', { fencedBroker: b.id, incarnation: b.incarnation });
      }
    }
    this.reconciledBrokers = snapshot.brokers;
  }

  // ---- preferred leaders ----

  private scheduleLeaderBalance(): void {
    const settings = this.opts.leaderBalance;
    if (!settings) return;
    this.balanceTimer = this.opts.clock.setTimeout(() => {
      if (this.stopped) return;
      this.enqueue(() => this.balanceLeaders(settings));
      this.scheduleLeaderBalance();
    }, settings.intervalMs);
  }

  /** Kafka's auto leader rebalance: preferred elections for the partitions of imbalanced brokers. */
  private async balanceLeaders(settings: LeaderBalanceSettings): Promise<void> {
    const topics = Object.values(this.opts.metadata.snapshot().topics);
    if (topics.length === 0) return;
    const wanted = partitionsToRebalance(topics, this.view(topics[0]!), settings.imbalancePercentage);
    for (const [name, partitions] of wanted) {
      if (this.stopped) return;
      const before = this.opts.metadata.snapshot().topics[name]?.partitions;
      const after = await this.writeTopic(name, 'preferred leader rebalance', (t) =>
        planTopic(t, (p) => {
          if (!partitions.has(p.partition)) return null;
          const d = decideElection(p, ElectionType.PREFERRED, this.view(t));
          return 'next' in d ? d.next : null;
        }),
      );
      if (after && before) this.logChanges(name, after, before, 'automatic preferred leader rebalance');
    }
  }

  // ---- requests ----

  private async onAlterIsr(payload: Buffer): Promise<AlterIsrResponse> {
    const req = parseAlterIsrRequest(jsonOf(payload));
    if (!req) return { errorCode: ErrorCode.INVALID_REQUEST };
    if (!this.opts.holdsLease() || this.stopped) return { errorCode: ErrorCode.NOT_CONTROLLER };
    const r = req;
    let decision: AlterIsrDecision = { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
    try {
      const topic = await this.opts.metadata.updateTopic(r.topic, (draft) => {
        this.assertLease('alter ISR');
        const p = draft.partitions[r.partition];
        decision = decideAlterIsr(p ? (current(p) as PartitionState) : null, r, this.registered());
        if ('next' in decision) draft.partitions[r.partition]!.isr = decision.next.isr;
      });
      if (decision.errorCode !== 0) return { errorCode: decision.errorCode };
      this.opts.logger.info('ISR changed by the leader', { topic: r.topic, partition: r.partition, leader: r.leaderId, leaderEpoch: r.leaderEpoch, isr: r.isr });
      return { errorCode: 0, partition: topic.partitions[r.partition] };
    } catch (err) {
      return { errorCode: this.errorCodeOf(err, 'alter ISR', { topic: r.topic, partition: r.partition }) };
    }
  }

  private async onControlledShutdown(payload: Buffer): Promise<ControlledShutdownResponse> {
    const req = parseControlledShutdownRequest(jsonOf(payload));
    if (!req) return { errorCode: ErrorCode.INVALID_REQUEST, remainingLeaderships: 0 };
    if (!this.opts.holdsLease() || this.stopped) return { errorCode: ErrorCode.NOT_CONTROLLER, remainingLeaderships: 0 };
    const { brokerId, incarnation } = req;
    const reg = this.opts.metadata.snapshot().brokers[brokerId];
    if (reg && reg.incarnation !== incarnation) return { errorCode: ErrorCode.STALE_BROKER_EPOCH, remainingLeaderships: 0 };
    if (reg) this.shuttingDown.set(brokerId, incarnation);
    try {
      for (const topic of Object.values(this.opts.metadata.snapshot().topics)) {
        if (!topic.partitions.some((p) => p.replicas.includes(brokerId))) continue;
        const before = topic.partitions;
        const after = await this.writeTopic(topic.name, `controlled shutdown of broker ${brokerId}`, (t) =>
          planTopic(t, (p) => shutdownPartition(p, brokerId, this.view(t).eligible)),
        );
        if (after) this.logChanges(topic.name, after, before, `controlled shutdown of broker ${brokerId}`);
      }
      const remaining = Object.values(this.opts.metadata.snapshot().topics).reduce((n, t) => n + t.partitions.filter((p) => p.leader === brokerId).length, 0);
      this.opts.logger.info('controlled shutdown served', { shutdownBroker: brokerId, remainingLeaderships: remaining });
      return { errorCode: 0, remainingLeaderships: remaining };
    } catch (err) {
      return { errorCode: this.errorCodeOf(err, 'controlled shutdown', { shutdownBroker: brokerId }), remainingLeaderships: -1 };
    }
  }

  /** A broker's replica whose log failed (replica-offline.ts): its leadership and ISR place move away. */
  private async onReplicaOffline(payload: Buffer): Promise<ReplicaOfflineResponse> {
    const req = parseReplicaOfflineRequest(jsonOf(payload));
    if (!req) return { errorCode: ErrorCode.INVALID_REQUEST };
    if (!this.opts.holdsLease() || this.stopped) return { errorCode: ErrorCode.NOT_CONTROLLER };
    const { brokerId, incarnation, topic, partition } = req;
    if (this.opts.metadata.snapshot().brokers[brokerId]?.incarnation !== incarnation) return { errorCode: ErrorCode.STALE_BROKER_EPOCH };
    const why = `offline replica on broker ${brokerId}`;
    try {
      const before = this.opts.metadata.snapshot().topics[topic]?.partitions;
      if (!before?.[partition]) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
      const after = await this.writeTopic(topic, why, (t) =>
        planTopic(t, (p) => (p.partition === partition ? shutdownPartition(p, brokerId, this.view(t).eligible) : null)),
      );
      if (after) this.logChanges(topic, after, before, why);
      const leader = this.opts.metadata.snapshot().topics[topic]?.partitions[partition]?.leader ?? -1;
      if (leader === brokerId) this.opts.logger.warn('an offline replica keeps its leadership: no other ISR member can take it', { topic, partition, broker: brokerId });
      return { errorCode: 0, leader };
    } catch (err) {
      return { errorCode: this.errorCodeOf(err, 'offline replica', { topic, partition, broker: brokerId }) };
    }
  }

  /** ElectLeaders (elect-leaders.ts): preferred or unclean elections an operator asked for. */
  private async onElectLeaders(payload: Buffer): Promise<ElectLeadersResponse> {
    const req = parseElectLeadersRequest(jsonOf(payload));
    if (!req) return { errorCode: ErrorCode.INVALID_REQUEST };
    if (!this.opts.holdsLease() || this.stopped) return { errorCode: ErrorCode.NOT_CONTROLLER };
    const what = req.electionType === ElectionType.PREFERRED ? 'preferred leader election' : 'unclean leader election';
    const results = await this.decideForOperator(req.partitions, what, (p, t) => decideElection(p, req.electionType, this.view(t)));
    // Asked for every partition: those already led as asked are left out (Kafka's controller does the same).
    const shown = req.partitions === null ? results.filter((r) => r.errorCode !== ErrorCode.ELECTION_NOT_NEEDED) : results;
    return { errorCode: 0, results: shown, revision: this.opts.metadata.snapshot().revision };
  }

  /** AlterPartitionReassignments (reassignment.ts): start, change or cancel reassignments. */
  private async onReassignPartitions(payload: Buffer): Promise<ReassignPartitionsResponse> {
    const req = parseReassignPartitionsRequest(jsonOf(payload));
    if (!req) return { errorCode: ErrorCode.INVALID_REQUEST };
    if (!this.opts.holdsLease() || this.stopped) return { errorCode: ErrorCode.NOT_CONTROLLER };
    const targets = new Map(req.partitions.map((r) => [`${r.topic}\0${r.partition}`, r.replicas]));
    const registered = new Set(Object.keys(this.opts.metadata.snapshot().brokers).map(Number));
    const results = await this.decideForOperator(req.partitions, 'partition reassignment', (p, t) =>
      decideReassignment(p, targets.get(`${t.name}\0${p.partition}`) ?? null, registered, this.view(t)),
    );
    return { errorCode: 0, results, revision: this.opts.metadata.snapshot().revision };
  }

  /**
   * Decides each partition asked for (null: every partition) on the latest stored topic and writes each topic
   * once by compare-and-set; answers per partition, UNKNOWN_TOPIC_OR_PARTITION for what does not exist.
   */
  private async decideForOperator(refs: Array<{ topic: string; partition: number }> | null, what: string, decide: (p: PartitionState, t: TopicInfo) => OperatorDecision): Promise<PartitionOutcome[]> {
    const byTopic = new Map<string, Set<number> | null>();
    if (refs === null) for (const name of Object.keys(this.opts.metadata.snapshot().topics)) byTopic.set(name, null);
    else for (const r of refs) byTopic.set(r.topic, (byTopic.get(r.topic) ?? new Set()).add(r.partition));
    const results: PartitionOutcome[] = [];
    for (const [topic, wanted] of byTopic) {
      const outcomes = new Map<number, PartitionOutcome>();
      const before = this.opts.metadata.snapshot().topics[topic]?.partitions;
      try {
        const after = await this.writeTopic(topic, what, (t) => {
          outcomes.clear(); // a lost compare-and-set decides again on the fresh value
          return planTopic(t, (p) => {
            if (wanted !== null && !wanted.has(p.partition)) return null;
            const d = decide(p, t);
            outcomes.set(p.partition, { topic, partition: p.partition, errorCode: d.errorCode, errorMessage: 'errorMessage' in d ? d.errorMessage : null });
            return 'next' in d ? d.next : null;
          });
        });
        if (after && before) this.logChanges(topic, after, before, what);
      } catch (err) {
        const errorCode = this.errorCodeOf(err, what, { topic });
        for (const partition of wanted ?? []) outcomes.set(partition, { topic, partition, errorCode, errorMessage: null });
      }
      for (const partition of wanted ?? []) {
        if (!outcomes.has(partition)) results.push({ topic, partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `no partition ${topic}-${partition}` });
      }
      results.push(...outcomes.values());
    }
    return results;
  }

  // ---- writing ----

  /**
   * Compare-and-set of one topic with the partitions `plan` computes from its latest stored value (a lost
   * compare-and-set plans again on the fresh value). Returns the written partitions, null when none
   * changed or the topic is gone.
   */
  private async writeTopic(name: string, what: string, plan: (t: TopicInfo) => PartitionState[] | null): Promise<PartitionState[] | null> {
    let planned: PartitionState[] | null = null;
    try {
      await this.opts.metadata.updateTopic(name, (draft) => {
        this.assertLease(what);
        planned = plan(current(draft) as TopicInfo);
        if (planned) draft.partitions = planned;
      });
    } catch (err) {
      if (err instanceof TopicNotFoundError) return null; // deleted meanwhile: nothing to lead
      throw err;
    }
    return planned;
  }

  private assertLease(what: string): void {
    if (this.stopped || !this.opts.holdsLease()) throw new NotActiveControllerError(this.opts.brokerId, what);
  }

  /** Registered brokers that may join an ISR (not fenced): id → incarnation. */
  private registered(): Map<number, string> {
    return new Map(Object.values(this.opts.metadata.snapshot().brokers).filter((b) => b.fenced !== true).map((b) => [b.id, b.incarnation]));
  }

  /** Runs `fn` after the work before it; a failure is logged and the elections are retried shortly. */
  private enqueue(fn: () => Promise<void>): void {
    this.work = this.work.then(async () => {
      if (this.stopped) return;
      try {
        await fn();
      } catch (err) {
        if (this.stopped) return;
        // The lease lapsed for a moment (a renewal slow to come back): this controller is stopped if it lost
        // it for good, and must finish the pass if it renews, or a fenced broker would stay fenced.
        if (!(err instanceof NotActiveControllerError)) this.opts.logger.error('controller work failed; retrying', { error: err as Error, cause: (err as Error).cause as Error });
        if (this.retryTimer === null) {
          this.retryTimer = this.opts.clock.setTimeout(() => {
            this.retryTimer = null;
            this.requestReconcile();
          }, RETRY_MS);
        }
      }
    });
  }

  private errorCodeOf(err: unknown, what: string, facts: Record<string, unknown>): number {
    if (err instanceof TopicNotFoundError || err instanceof InvalidTopicError) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    if (err instanceof NotActiveControllerError) return ErrorCode.NOT_CONTROLLER;
    this.opts.logger.error(`controller: ${what} failed`, { ...facts, error: err as Error });
    return ErrorCode.UNKNOWN_SERVER_ERROR;
  }

  private logChanges(topic: string, after: PartitionState[], before: readonly PartitionState[], why: string): void {
    for (const p of after) {
      const b = before[p.partition];
      if (b && b.leader === p.leader && b.leaderEpoch === p.leaderEpoch && b.isr.join() === p.isr.join() && b.replicas.join() === p.replicas.join()) continue;
      const replicas = b && b.replicas.join() !== p.replicas.join() ? { replicas: p.replicas, previousReplicas: b.replicas, adding: p.addingReplicas, removing: p.removingReplicas } : {};
      this.opts.logger.info(`partition changed by ${why}`, { topic, partition: p.partition, leader: p.leader, leaderEpoch: p.leaderEpoch, isr: p.isr, previousLeader: b?.leader, previousIsr: b?.isr, ...replicas });
    }
  }
}
