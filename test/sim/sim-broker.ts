// One simulated broker machine: its disk (which outlives its processes), its wall-clock offset, and the
// process running on it now (a Life, a NodeClock and createBroker on views of the world). Crash, restart,
// pause and resume are what an operator, the kernel or the power supply would do to it.
import { createBroker, type Broker } from '../../actors/broker-actor.ts';
import { defaultBrokerConfig } from '../../src/broker/broker-config.ts';
import { MemoryStorage } from '../../src/log/memory-storage.ts';
import type { Storage, StorageFile } from '../../src/log/storage.ts';
import { StorageError } from '../../src/log/errors.ts';
import type { Runtime } from '../../src/runtime/runtime.ts';
import { seededIds } from '../../src/runtime/memory/seeded-ids.ts';
import type { SimulatedClock } from '../../src/runtime/memory/simulated-clock.ts';
import { silentLogger, type Logger } from '../../src/util/logger.ts';
import { Life, NodeClock, type Network, type SimBucket } from './world.ts';
import type { Rng } from './rng.ts';
import type { Trace } from './trace.ts';

/** Disk faults of one machine, set by the nemesis. */
export interface DiskFaults {
  /** Extra latency of each write and sync (ms); 0 for none. */
  slowMs: number;
  /** Chance that an fsync fails (EIO). */
  failSyncRate: number;
  /** The disk is full: every write that extends a file fails (ENOSPC), nothing of it written. */
  full: boolean;
}

export class SimBroker {
  readonly disk = new MemoryStorage();
  readonly skew = { ms: 0 };
  readonly diskFaults: DiskFaults = { slowMs: 0, failSyncRate: 0, full: false };
  life: Life;
  clock: NodeClock;
  broker: Broker | null = null;
  /** Processes started on this machine (the first is 1). */
  incarnations = 0;
  /** Set while start() has not resolved or failed. */
  starting = false;
  /**
   * Whether this machine's process, since it last started, has been seen unfenced and in the ISR of every
   * partition it hosts (the first process counts as whole): until then the controller treats it as a replica
   * that may have lost its log's tail (it cannot tell a process crash from a power loss), and so may the nemesis.
   */
  whole = true;
  private readonly dataDir: string;

  constructor(
    readonly id: number,
    private readonly world: { clock: SimulatedClock; net: Network; bucket: SimBucket; rng: Rng; trace: Trace; logger?: Logger; brokerOverrides?: Record<string, unknown> },
  ) {
    this.dataDir = `/data/broker-${id}`;
    this.life = new Life(id);
    this.life.alive = false;
    this.clock = new NodeClock(world.clock, this.life, this.skew);
  }

  get running(): boolean {
    return this.life.alive && !this.life.paused && this.broker !== null && this.broker.actor.getSnapshot().matches('running');
  }

  /** Starts a new process on this machine (after a crash, on what its disk kept). */
  start(): Promise<void> {
    const { world } = this;
    this.life = new Life(this.id);
    this.clock = new NodeClock(world.clock, this.life, this.skew);
    this.incarnations++;
    this.whole = this.incarnations === 1;
    const runtime: Runtime = {
      clock: this.clock,
      transport: world.net.transportFor(this.id, this.life, this.clock),
      kv: world.bucket.viewFor(this.id, this.life, this.clock),
      storage: this.storageView(this.life, this.clock),
      ids: seededIds(world.rng.int(1, 2 ** 31), this.clock),
    };
    const config = defaultBrokerConfig({
      brokerId: this.id,
      dataDir: this.dataDir,
      natsServers: [],
      port: 9090 + this.id,
      numPartitions: 1,
      defaultReplicationFactor: 3,
      ...(world.brokerOverrides ?? {}),
    });
    const broker = createBroker(runtime, config, { logger: world.logger ?? silentLogger });
    this.broker = broker;
    let last = '';
    broker.actor.subscribe((s) => {
      // The registration's state only: the flush and retention regions change every pass.
      const v = s.value;
      const state = typeof v === 'string' ? v : JSON.stringify(Object.entries(v).map(([k, sub]) => [k, typeof sub === 'object' && sub !== null && 'registration' in sub ? sub.registration : sub]));
      if (state !== last) world.trace.add('broker', this.id, state);
      last = state;
    });
    this.starting = true;
    world.trace.add('start', this.id, this.incarnations);
    const life = this.life;
    return broker.start().finally(() => {
      if (this.life === life) this.starting = false;
    });
  }

  /**
   * The process dies at once (SIGKILL): nothing it had in flight completes, nobody is told. With `power`, the
   * machine loses what its disk had not synced, keeping a drawn prefix of each file's unsynced tail (a torn write).
   */
  crash(power: boolean): void {
    this.life.kill();
    this.clock.killAll();
    this.world.net.forget(this.id);
    this.broker = null;
    this.starting = false;
    if (power) {
      const rng = this.world.rng;
      this.disk.crash({ keepUnsynced: (_path, unsynced) => (rng.chance(0.5) ? 0 : rng.int(0, unsynced)) });
    }
    this.world.trace.add('crash', this.id, power ? 'power' : 'process');
  }

  /** Whether this broker is `whole` (checked now if it was not yet): see the field. */
  checkWhole(): boolean {
    if (this.whole || !this.running) return this.whole;
    const snapshot = this.broker!.services!.metadata.snapshot();
    const me = snapshot.brokers[this.id];
    if (!me || me.incarnation !== this.broker!.incarnation || me.fenced !== false) return false;
    for (const t of Object.values(snapshot.topics)) {
      for (const p of t.partitions) if (p.replicas.includes(this.id) && !p.isr.includes(this.id)) return false;
    }
    return (this.whole = true);
  }

  /** Whether any partition replica of this broker went offline (its log failed): a restart recovers it. */
  get hasOfflineReplica(): boolean {
    return this.broker?.services?.registry.all().some((r) => r.role === 'offline') ?? false;
  }

  pause(): void {
    this.life.paused = true;
    this.world.trace.add('pause', this.id);
  }

  resume(): void {
    this.world.trace.add('resume', this.id);
    this.life.resume();
  }

  /** The disk as this process sees it: nothing completes once it is dead, slow and failing I/O as set. */
  private storageView(life: Life, clock: NodeClock): Storage {
    const disk = this.disk;
    const faults = this.diskFaults;
    const rng = this.world.rng;
    const never = new Promise<never>(() => {});
    const guard = <T>(fn: () => Promise<T>): Promise<T> => (life.alive ? fn() : never);
    const slow = (): Promise<void> | null => (faults.slowMs > 0 ? new Promise((resolve) => clock.setTimeout(resolve, rng.next() * faults.slowMs)) : null);
    const wrapFile = (file: StorageFile, path: string): StorageFile => ({
      read: (pos, len) => guard(() => file.read(pos, len)),
      write: (data, pos) =>
        guard(async () => {
          await slow();
          if (!life.alive) return never;
          if (faults.full && pos + data.length > (await file.size())) throw new StorageError('injected ENOSPC: no space left on device', { path, op: 'write', code: 'ENOSPC' });
          return file.write(data, pos);
        }),
      sync: () =>
        guard(async () => {
          await slow();
          if (!life.alive) return never;
          if (rng.chance(faults.failSyncRate)) throw new StorageError('injected fsync failure', { path, op: 'sync', code: 'EIO' });
          return file.sync();
        }),
      truncate: (size) => guard(() => file.truncate(size)),
      size: () => guard(() => file.size()),
      close: () => guard(() => file.close()),
    });
    return {
      open: (path, options) => guard(async () => wrapFile(await disk.open(path, options), path)),
      exists: (path) => guard(() => disk.exists(path)),
      size: (path) => guard(() => disk.size(path)),
      list: (dir) => guard(() => disk.list(dir)),
      mkdir: (dir) => guard(() => disk.mkdir(dir)),
      unlink: (path) => guard(() => disk.unlink(path)),
      rename: (from, to) => guard(() => disk.rename(from, to)),
      removeDir: (dir) => guard(() => disk.removeDir(dir)),
    };
  }
}
