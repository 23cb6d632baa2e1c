// The nemesis: every few simulated seconds it picks a fault and, after a drawn while, heals it. Crashes of a
// process (the page cache survives) and of a machine (unsynced bytes are lost, a torn tail may remain), pauses
// (a zombie that wakes up believing it still leads), cuts between brokers and between a broker and NATS (both
// ways or one way), bucket stalls, a wall clock stepped by seconds, slow disks, and turbulent networks
// (drops, duplicates, long delays), a NATS crash that loses the metadata bucket's latest writes, and failing disks: fsyncs fail (EIO) or the disk is full (ENOSPC) for a while, the logs they hit go
// offline and hand their leadership away, and the operator then restarts the machine, which loses what was not
// synced (fsyncgate: after a failed fsync the kernel may have dropped the dirty pages).
//
// Kafka's acks=all promise holds while at most RF-1 replicas lose unsynced data (DESIGN.md "acks"), so a power
// loss (or a failing disk) is drawn only when no other broker lost power in the last 20 s, every other broker
// runs, and every other broker that restarted has been seen back in the ISR of all its partitions since: the
// controller cannot tell a process crash from a power loss, so a restarted broker counts as one that may have
// lost its tail until it caught up, as in Kafka. (With one restarted broker not yet back and the last ISR
// member losing power, Kafka 3.9 loses acknowledged records too, electing the last ISR member; KIP-966's
// unclean recovery, which elects the longest log, would not. Kastor does not have it yet.)
import type { SimulatedClock } from '../../src/runtime/memory/simulated-clock.ts';
import type { Rng } from './rng.ts';
import type { SimBroker } from './sim-broker.ts';
import type { Trace } from './trace.ts';
import { CALM, NATS, type Network, type SimBucket } from './world.ts';

type Kind = 'crash' | 'power' | 'pause' | 'isolate' | 'one-way' | 'split' | 'stall' | 'clock' | 'slow-disk' | 'turbulence' | 'disk-fail' | 'nats-loss';
const KINDS: Kind[] = ['crash', 'power', 'pause', 'isolate', 'one-way', 'split', 'stall', 'clock', 'slow-disk', 'turbulence', 'disk-fail'];

export class Nemesis {
  readonly applied: string[] = [];
  private readonly kinds: Kind[];
  private natsLosses = 0;
  private readonly heals = new Map<number, () => void>();
  private nextHeal = 1;
  private timer: unknown = null;
  private lastPowerLoss = -Infinity;
  private stopped = false;

  constructor(
    private readonly clock: SimulatedClock,
    private readonly rng: Rng,
    private readonly brokers: SimBroker[],
    private readonly net: Network,
    private readonly bucket: SimBucket,
    private readonly trace: Trace,
    private readonly restart: (b: SimBroker) => void,
    natsLoss: boolean,
  ) {
    this.kinds = natsLoss ? [...KINDS, 'nats-loss'] : KINDS;
  }

  /** Injects faults from now until `until` (monotonic ms). */
  start(until: number): void {
    const tick = () => {
      if (this.stopped || this.clock.monotonic() >= until) return;
      if (this.heals.size < 2) this.inject(until);
      this.timer = this.clock.setTimeout(tick, this.rng.int(500, 4_000));
    };
    this.timer = this.clock.setTimeout(tick, this.rng.int(1_000, 3_000));
  }

  stop(): void {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
  }

  /** Ends every fault: restarts what is down, resumes what is paused, heals every link, calms the network. */
  healAll(): void {
    this.stop();
    for (const heal of [...this.heals.values()]) heal();
    this.heals.clear();
    this.net.healAll();
    this.net.faults = CALM;
    this.bucket.stalledUntil = 0;
    for (const b of this.brokers) {
      b.diskFaults.slowMs = 0;
      b.diskFaults.failSyncRate = 0;
      b.diskFaults.full = false;
      if (b.life.paused) b.resume();
      if (!b.life.alive && !b.starting) this.restart(b);
    }
  }

  /** Whether `b` may lose its unsynced data now without taking Kafka's promise past what it covers (see the top). */
  private mayLoseData(b: SimBroker): boolean {
    return this.clock.monotonic() - this.lastPowerLoss > 20_000 && this.brokers.every((x) => x === b || (x.running && x.checkWhole())) && !this.soleInSyncReplica(b);
  }

  /**
   * Whether `b` is the only in-sync replica of a partition, as any running broker's metadata shows it: its data
   * loss would then be every in-sync replica's (an ISR shrinks to one when the others miss their session), which
   * is past Kafka's promise without KIP-966's eligible leader replicas (seed 356: ISR [1] after broker 2 missed
   * its session, broker 1's fsyncs failing, broker 2 holding the acknowledged records and truncating to 1's log).
   */
  private soleInSyncReplica(b: SimBroker): boolean {
    for (const x of this.brokers) {
      if (!x.running) continue;
      for (const t of Object.values(x.broker!.services!.metadata.snapshot().topics)) {
        if (t.partitions.some((p) => p.isr.length === 1 && p.isr[0] === b.id)) return true;
      }
    }
    return false;
  }

  /**
   * After failing fsyncs, the operator restarts a machine whose logs went offline: a restart recovers them,
   * losing what the failed syncs did not make durable (a power loss's effect on the disk).
   */
  private replaceFailedDisk(b: SimBroker): void {
    if (!b.life.alive || !b.hasOfflineReplica) return;
    // Its failed syncs lose data only where another in-sync replica holds it (see soleInSyncReplica).
    const power = !this.soleInSyncReplica(b);
    this.trace.add('fault', `restart broker ${b.id}, whose logs went offline${power ? '' : ' (keeping its page cache: it is the last in-sync replica of a partition)'}`);
    b.crash(power);
    this.restart(b);
  }

  private inject(until: number): void {
    const kind = this.rng.pick(this.kinds);
    const b = this.rng.pick(this.brokers);
    const lasting = Math.min(this.rng.int(500, 8_000), Math.max(0, until - this.clock.monotonic()));
    const note = (what: string) => {
      this.applied.push(what);
      this.trace.add('fault', what);
    };
    const later = (fn: () => void, ms = lasting) => {
      const id = this.nextHeal++;
      const heal = () => {
        if (!this.heals.delete(id)) return;
        fn();
      };
      this.heals.set(id, heal);
      this.clock.setTimeout(heal, ms);
    };
    switch (kind) {
      case 'crash':
      case 'power': {
        if (!b.life.alive) return;
        const power = kind === 'power' && this.mayLoseData(b);
        if (power) this.lastPowerLoss = this.clock.monotonic();
        note(`${power ? 'power loss' : 'crash'} broker ${b.id} for ${lasting} ms`);
        b.crash(power);
        later(() => this.restart(b));
        return;
      }
      case 'pause':
        if (!b.life.alive || b.life.paused) return;
        note(`pause broker ${b.id} for ${lasting} ms`);
        b.pause();
        later(() => b.resume());
        return;
      case 'isolate':
        note(`cut broker ${b.id} from NATS both ways for ${lasting} ms`);
        this.net.cutLink(b.id, NATS);
        this.net.cutLink(NATS, b.id);
        later(() => {
          this.net.healLink(b.id, NATS);
          this.net.healLink(NATS, b.id);
        });
        return;
      case 'one-way': {
        const out = this.rng.chance(0.5);
        note(`cut broker ${b.id} ${out ? 'to' : 'from'} NATS one way for ${lasting} ms`);
        const [from, to] = out ? [b.id, NATS] : [NATS, b.id];
        this.net.cutLink(from, to);
        later(() => this.net.healLink(from, to));
        return;
      }
      case 'split': {
        const other = this.rng.pick(this.brokers.filter((x) => x !== b));
        note(`split brokers ${b.id} and ${other.id} for ${lasting} ms`);
        this.net.cutLink(b.id, other.id);
        this.net.cutLink(other.id, b.id);
        later(() => {
          this.net.healLink(b.id, other.id);
          this.net.healLink(other.id, b.id);
        });
        return;
      }
      case 'stall':
        note(`stall the metadata bucket for ${Math.min(lasting, 6_000)} ms`);
        this.bucket.stalledUntil = this.clock.monotonic() + Math.min(lasting, 6_000);
        return;
      case 'clock': {
        const step = this.rng.int(-30_000, 30_000);
        note(`step broker ${b.id}'s wall clock by ${step} ms`);
        b.skew.ms += step;
        return;
      }
      case 'slow-disk':
        note(`slow disk on broker ${b.id} (up to 200 ms per write) for ${lasting} ms`);
        b.diskFaults.slowMs = 200;
        later(() => (b.diskFaults.slowMs = 0));
        return;
      case 'disk-fail': {
        if (!b.running || !this.mayLoseData(b)) return;
        this.lastPowerLoss = this.clock.monotonic();
        // Half the time fsyncs fail (EIO), half the time the disk is full (ENOSPC on every write that grows a file).
        const full = this.rng.chance(0.5);
        note(`${full ? 'full disk' : 'failing fsyncs'} on broker ${b.id} for ${lasting} ms`);
        if (full) b.diskFaults.full = true;
        else b.diskFaults.failSyncRate = 0.3;
        later(() => {
          b.diskFaults.failSyncRate = 0;
          b.diskFaults.full = false;
          this.replaceFailedDisk(b);
        });
        return;
      }
      case 'nats-loss': {
        // The NATS side crashes and restarts (its bucket answers nothing for a while) having lost its latest
        // writes: nats-server 2.9 syncs JetStream to disk only every two minutes. Once per run: a second loss
        // reaching back past the first one's repairs (seed 101 with two) can still resurrect a deleted topic.
        if (this.natsLosses++ > 0) return;
        const kv = this.bucket.kv;
        const to = Math.max(0, kv.revision - this.rng.int(1, 30));
        const down = this.rng.int(300, 3_000);
        note(`NATS crashes for ${down} ms and loses the bucket's writes after revision ${to} (of ${kv.revision})`);
        this.bucket.stalledUntil = Math.max(this.bucket.stalledUntil, this.clock.monotonic() + down);
        this.bucket.crashes++;
        kv.rewind(to);
        return;
      }
      case 'turbulence':
        note(`turbulent network for ${lasting} ms`);
        this.net.faults = { minLatencyMs: 0.05, maxLatencyMs: 3, slowRate: 0.01, slowMs: 300, dropRate: 0.01, duplicateRate: 0.01 };
        later(() => (this.net.faults = CALM));
        return;
    }
  }
}
