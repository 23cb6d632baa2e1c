// The controller actor every broker runs: machines/controller.ts given its effects — the lease writes on
// the metadata bucket, the lease observations from the metadata store, and an ActiveController while the
// lease is held. Its systemId is `controller` (each broker's actor is its own root, so several brokers in
// one process do not clash).
//
// Lease validity is also checked on this broker's monotonic clock at every controller write, not only by
// the machine's timers: a broker frozen past its hold limit (SIGSTOP, a long GC pause) runs overdue timers
// in arbitrary order when it wakes, and must not write anything before the machine has stepped down.
import type { LeaderBalanceSettings } from '../src/controller/leader-balance.ts';
import { DEFAULT_CONTROLLER_LEASE_MS, DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_SESSION_TIMEOUT_MS } from '../src/broker/broker-config.ts';
import { createActor, fromPromise, type Actor } from 'xstate';
import { controllerMachine } from '../machines/controller.ts';
import { ActiveController } from '../src/controller/active-controller.ts';
import type { Clock } from '../src/runtime/clock.ts';
import type { Transport } from '../src/runtime/transport.ts';
import type { ControllerLease } from '../src/metadata/controller-lease.ts';
import { CONTROLLER_KEY } from '../src/metadata/metadata-keys.ts';
import type { MetadataStore } from '../src/metadata/metadata-store.ts';
import type { Subjects } from '../src/transport/subjects.ts';
import { PROBE_STRIKES, type LivenessProbe } from '../src/controller/liveness-probe.ts';
import type { Logger } from '../src/util/logger.ts';

/** How late past its renewal interval the lease holder may renew before a standby probes it. */
const RENEWAL_GRACE_MS = 250;
/** How late past its heartbeat interval a broker may beat before the controller probes it. */
const HEARTBEAT_GRACE_MS = 100;

export interface ControllerActorOptions {
  brokerId: number;
  incarnation: string;
  metadata: MetadataStore;
  lease: ControllerLease;
  /** The active controller's requests and heartbeats; its onReconnect resets what the probes trust. */
  transport: Pick<Transport, 'subscribe' | 'serve' | 'onReconnect'>;
  subjects: Subjects;
  /** Lease TTL (default DEFAULT_CONTROLLER_LEASE_MS): renewed every TTL/4, taken over after a full TTL unchanged. */
  leaseTtlMs?: number;
  /** Broker session timeout (default DEFAULT_SESSION_TIMEOUT_MS). */
  sessionTimeoutMs?: number;
  /** How often brokers send heartbeats (default DEFAULT_HEARTBEAT_INTERVAL_MS): the controller probes only a broker whose heartbeat is overdue. */
  heartbeatIntervalMs?: number;
  /** The runtime's clock: lease validity and probes on its monotonic time, the machine's timers. */
  clock: Clock;
  logger: Logger;
  /** Fast crash detection while active (src/controller/liveness-probe.ts). */
  probe?: LivenessProbe;
  /** Automatic preferred-leader balancing while active (src/controller/leader-balance.ts); absent: off. */
  leaderBalance?: LeaderBalanceSettings;
}

export class ControllerActor {
  readonly actor: Actor<typeof controllerMachine>;
  private readonly clock: Clock;
  private readonly leaseTtlMs: number;
  private validUntil = -Infinity;
  private active: ActiveController | null = null;
  private stopping: Promise<void> = Promise.resolve();
  private lastObserved = 0;
  private unsubscribe: (() => void) | null = null;
  /** Another holder's lease write was observed since this broker's NATS connection last came back. */
  private renewalSeen = false;
  private holderStrikes = 0;
  /** When this standby last saw the lease renewed by another broker (its monotonic clock). */
  private renewalSeenAt = -Infinity;
  /** The holder this broker found gone, handed to the controller it then becomes (deregistered at once). */
  private holderGone: number | null = null;
  private holderProbe: unknown = null;
  private stopWatchingReconnects: (() => void) | null = null;
  private stopWatchingRewinds: (() => void) | null = null;

  constructor(private readonly opts: ControllerActorOptions) {
    this.clock = opts.clock;
    this.leaseTtlMs = opts.leaseTtlMs ?? DEFAULT_CONTROLLER_LEASE_MS;
    const holder = { brokerId: opts.brokerId, incarnation: opts.incarnation };
    const holdMs = this.leaseTtlMs * 0.75;
    const machine = controllerMachine.provide({
      actors: {
        acquireLease: fromPromise(async ({ input }) => {
          // Valid from when the write was sent: others start counting no earlier than they see it.
          const sentAt = this.clock.monotonic();
          const revision = await opts.lease.acquire(holder, input.expectedRevision);
          this.validUntil = sentAt + holdMs;
          return { revision };
        }),
        renewLease: fromPromise(async ({ input }) => {
          const sentAt = this.clock.monotonic();
          const revision = await opts.lease.renew(holder, input.epoch, input.revision);
          this.validUntil = sentAt + holdMs;
          return { revision };
        }),
        resignLease: fromPromise(async ({ input }) => {
          this.validUntil = -Infinity;
          await opts.lease.resign(input.revision);
        }),
      },
      actions: {
        startActing: (_, { epoch }) => this.startActing(epoch),
        stopActing: () => this.stopActing(),
      },
    });
    const snapshot = opts.metadata.snapshot();
    this.lastObserved = opts.metadata.keyRevision(CONTROLLER_KEY);
    this.actor = createActor(machine, {
      systemId: 'controller',
      clock: this.clock,
      input: {
        brokerId: opts.brokerId,
        leaseTtlMs: this.leaseTtlMs,
        observedRevision: this.lastObserved,
        observedHolder: snapshot.controller?.brokerId ?? null,
      },
    });
  }

  start(): void {
    this.unsubscribe = this.opts.metadata.subscribe((next) => {
      const revision = this.opts.metadata.keyRevision(CONTROLLER_KEY);
      if (revision <= this.lastObserved) return;
      this.lastObserved = revision;
      const holder = next.controller?.brokerId ?? null;
      this.renewalSeen = holder !== null && holder !== this.opts.brokerId;
      if (this.renewalSeen) this.renewalSeenAt = this.clock.monotonic();
      this.holderStrikes = 0;
      this.actor.send({ type: 'LEASE_OBSERVED', revision, holder });
    });
    this.stopWatchingRewinds = this.opts.metadata.subscribeRewinds(() => {
      this.lastObserved = this.opts.metadata.keyRevision(CONTROLLER_KEY);
      const holder = this.opts.metadata.snapshot().controller?.brokerId ?? null;
      this.renewalSeen = holder !== null && holder !== this.opts.brokerId;
      if (this.renewalSeen) this.renewalSeenAt = this.clock.monotonic();
      this.actor.send({ type: 'LEASE_REWOUND', revision: this.lastObserved, holder });
    });
    this.actor.start();
    // The holder as read on this connection counts as heard: if it is gone now, it is dead (or a stale
    // lease of a process that no longer exists), and taking the lease over is right either way.
    const holder = this.opts.metadata.snapshot().controller?.brokerId ?? null;
    this.renewalSeen = holder !== null && holder !== this.opts.brokerId;
    if (this.renewalSeen) this.renewalSeenAt = this.clock.monotonic(); // as a renewal: probed once the next is overdue
    if (this.opts.probe) {
      this.stopWatchingReconnects = this.opts.transport.onReconnect(() => (this.renewalSeen = false));
      this.scheduleHolderProbe();
    }
  }

  /**
   * While standing by, probes the lease holder (liveness-probe.ts): a holder whose NATS connection is gone is
   * dead, so the lease is taken over at once rather than after a full TTL of silence. After this broker's
   * connection came back, trusted only once the holder renewed again (its probe subscription is restored
   * before its renewals, on the same connection).
   */
  private scheduleHolderProbe(): void {
    this.holderProbe = this.clock.setTimeout(() => {
      this.holderProbe = null;
      if (this.unsubscribe === null) return;
      void this.probeHolder().finally(() => this.unsubscribe !== null && this.scheduleHolderProbe());
    }, 250);
  }

  private async probeHolder(): Promise<void> {
    const snap = this.actor.getSnapshot();
    const { observedHolder: holder, observedRevision: revision } = snap.context;
    if (!this.opts.probe || !this.renewalSeen || holder === null || holder === this.opts.brokerId || !snap.matches({ standby: 'watching' })) return;
    // A renewal proves the holder alive: probe only once one is overdue.
    if (this.clock.monotonic() - this.renewalSeenAt < this.leaseTtlMs / 4 + RENEWAL_GRACE_MS) {
      this.holderStrikes = 0;
      return;
    }
    const result = await this.opts.probe(holder);
    const now = this.actor.getSnapshot().context;
    if (now.observedRevision !== revision || now.observedHolder !== holder) return;
    this.holderStrikes = result === 'gone' ? this.holderStrikes + 1 : 0;
    if (this.holderStrikes < PROBE_STRIKES) return;
    this.opts.logger.warn('the controller\'s NATS connection is gone; taking the lease over now', { holder, revision });
    this.holderGone = holder;
    this.actor.send({ type: 'HOLDER_GONE', revision, holder });
  }

  /** True while this broker is the active controller and its lease is valid on its own clock. */
  get isActive(): boolean {
    return this.active !== null && this.holdsLease();
  }

  /** The controller epoch while active, else null. */
  get epoch(): number | null {
    return this.isActive ? this.actor.getSnapshot().context.epoch : null;
  }

  /** Gives the lease up (deleting the key, so a standby takes over at once) and stops. */
  async resign(): Promise<void> {
    await this.finish({ type: 'RESIGN' });
  }

  /** Stops without touching the lease (it expires on its own if held). */
  async stop(): Promise<void> {
    await this.finish({ type: 'STOP' });
  }

  private async finish(event: { type: 'RESIGN' } | { type: 'STOP' }): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.holderProbe !== null) this.clock.clearTimeout(this.holderProbe);
    this.holderProbe = null;
    this.stopWatchingReconnects?.();
    this.stopWatchingRewinds?.();
    if (this.actor.getSnapshot().status === 'active') {
      this.actor.send(event);
      await new Promise<void>((resolve) => {
        if (this.actor.getSnapshot().status !== 'active') return resolve();
        const sub = this.actor.subscribe({ complete: () => (sub.unsubscribe(), resolve()), error: () => resolve() });
      });
    }
    await this.stopping;
  }

  private holdsLease(): boolean {
    return this.clock.monotonic() < this.validUntil;
  }

  private startActing(epoch: number): void {
    const active: ActiveController = new ActiveController({
      brokerId: this.opts.brokerId,
      epoch,
      metadata: this.opts.metadata,
      transport: this.opts.transport,
      subjects: this.opts.subjects,
      clock: this.clock,
      sessionTimeoutMs: this.opts.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
      probeSilenceMs: (this.opts.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS) + HEARTBEAT_GRACE_MS,
      holdsLease: (): boolean => this.active === active && this.holdsLease(),
      logger: this.opts.logger.child({ controllerEpoch: epoch }),
      probe: this.opts.probe,
      knownGone: this.holderGone === null ? [] : [this.holderGone],
      leaderBalance: this.opts.leaderBalance,
    });
    this.holderGone = null;
    this.active = active;
    active.start();
  }

  private stopActing(): void {
    const active = this.active;
    this.active = null;
    if (active) this.stopping = this.stopping.then(() => active.stop());
  }
}
