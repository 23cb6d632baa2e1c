// The controller actor every broker runs: machines/controller.ts given its effects — the lease writes on
// the metadata bucket, the lease observations from the metadata store, and an ActiveController while the
// lease is held. Its systemId is `controller` (each broker's actor is its own root, so several brokers in
// one process do not clash).
//
// Lease validity is also checked on this broker's monotonic clock at every controller write, not only by
// the machine's timers: a broker frozen past its hold limit (SIGSTOP, a long GC pause) runs overdue timers
// in arbitrary order when it wakes, and must not write anything before the machine has stepped down.
import { createActor, fromPromise, type Actor } from 'xstate';
import type { NatsConnection } from '@nats-io/transport-node';
import { controllerMachine } from '../machines/controller.ts';
import { ActiveController } from '../src/controller/active-controller.ts';
import { monotonicClock, type Clock } from '../src/metadata/clock.ts';
import type { ControllerLease } from '../src/metadata/controller-lease.ts';
import { CONTROLLER_KEY } from '../src/metadata/metadata-keys.ts';
import type { MetadataStore } from '../src/metadata/metadata-store.ts';
import type { Subjects } from '../src/transport/subjects.ts';
import type { Logger } from '../src/util/logger.ts';

export interface ControllerActorOptions {
  brokerId: number;
  incarnation: string;
  metadata: MetadataStore;
  lease: ControllerLease;
  nc: Pick<NatsConnection, 'subscribe'>;
  subjects: Subjects;
  /** Lease TTL (default 2000 ms): renewed every TTL/4, taken over after a full TTL unchanged. */
  leaseTtlMs?: number;
  /** Broker session timeout (default 3000 ms). */
  sessionTimeoutMs?: number;
  /** Monotonic (default performance.now()). */
  clock?: Clock;
  logger: Logger;
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

  constructor(private readonly opts: ControllerActorOptions) {
    this.clock = opts.clock ?? monotonicClock;
    this.leaseTtlMs = opts.leaseTtlMs ?? 2_000;
    const holder = { brokerId: opts.brokerId, incarnation: opts.incarnation };
    const holdMs = this.leaseTtlMs * 0.75;
    const machine = controllerMachine.provide({
      actors: {
        acquireLease: fromPromise(async ({ input }) => {
          // Valid from when the write was sent: others start counting no earlier than they see it.
          const sentAt = this.clock.now();
          const revision = await opts.lease.acquire(holder, input.expectedRevision);
          this.validUntil = sentAt + holdMs;
          return { revision };
        }),
        renewLease: fromPromise(async ({ input }) => {
          const sentAt = this.clock.now();
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
      this.actor.send({ type: 'LEASE_OBSERVED', revision, holder: next.controller?.brokerId ?? null });
    });
    this.actor.start();
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
    return this.clock.now() < this.validUntil;
  }

  private startActing(epoch: number): void {
    const active: ActiveController = new ActiveController({
      brokerId: this.opts.brokerId,
      epoch,
      metadata: this.opts.metadata,
      nc: this.opts.nc,
      subjects: this.opts.subjects,
      clock: this.clock,
      sessionTimeoutMs: this.opts.sessionTimeoutMs ?? 3_000,
      holdsLease: (): boolean => this.active === active && this.holdsLease(),
      logger: this.opts.logger.child({ controllerEpoch: epoch }),
    });
    this.active = active;
    active.start();
  }

  private stopActing(): void {
    const active = this.active;
    this.active = null;
    if (active) this.stopping = this.stopping.then(() => active.stop());
  }
}
