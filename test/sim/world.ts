// The simulated world the brokers live in: one simulated clock, the NATS side (a bus and the metadata
// bucket, "node 0"), and per broker a life (running, paused, or dead), a clock of its own, and views of the
// bus, the bucket and its disk that honour that life. Every delay and loss is drawn from the run's seed.
//
// - A paused broker (SIGSTOP: a zombie) runs nothing new: its timers and the messages and answers that reach
//   it wait until it resumes. A dead broker (a crash) never runs again: its timers are gone, what reaches it is
//   lost, and what it had in flight never completes; its restart is a new life on the same disk.
// - Messages between brokers pass through the NATS server, as they do in a deployment: a message from A to B
//   is lost when the link A→B is cut, or A is cut from NATS, or NATS from B. Latency is drawn per message
//   (so messages overtake one another), with rare long delays, drops and duplicates.
// - The bucket answers after a round trip; when a broker is cut from NATS, or the bucket is stalled, its
//   requests time out (a write may have been applied when its answer is lost, as a JetStream publish can).
//   Watches deliver every change once and in order, held while the broker is cut off (an ordered consumer
//   resumes where it stopped after a reconnect).
import { MemoryKv } from '../../src/metadata/memory-kv.ts';
import { AsyncQueue } from '../../src/metadata/async-queue.ts';
import { KvOperationError } from '../../src/metadata/kv-errors.ts';
import type { KvEntry, KvWatch, KvWatchEvent, MetadataKv } from '../../src/metadata/kv.ts';
import type { Clock, TimerHandle } from '../../src/runtime/clock.ts';
import { SimulatedClock } from '../../src/runtime/memory/simulated-clock.ts';
import { TransportError, type ServeOptions, type Transport, type TransportSubscription } from '../../src/runtime/transport.ts';
import type { Rng } from './rng.ts';
import type { Trace } from './trace.ts';

/** The NATS server (bus and bucket) as a network node. */
export const NATS = 0;

/** One incarnation of a broker process. */
export class Life {
  alive = true;
  paused = false;
  private held: Array<() => void> = [];

  constructor(readonly node: number) {}

  /** Runs `fn` now while running, when resumed while paused, never once dead. */
  run(fn: () => void): void {
    if (!this.alive) return;
    if (this.paused) this.held.push(fn);
    else fn();
  }

  resume(): void {
    this.paused = false;
    const held = this.held;
    this.held = [];
    for (const fn of held) if (this.alive && !this.paused) fn();
    else if (this.alive) this.held.push(fn);
  }

  kill(): void {
    this.alive = false;
    this.held = [];
  }
}

/** A broker's clock: the shared simulated time, its own wall-clock offset, and timers that die with its life. */
export class NodeClock implements Clock {
  private readonly handles = new Set<TimerHandle>();

  constructor(
    private readonly shared: SimulatedClock,
    private readonly life: Life,
    private readonly skew: { ms: number },
  ) {}

  wall(): number {
    return this.shared.wall() + this.skew.ms;
  }

  monotonic(): number {
    return this.shared.monotonic();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const h = this.shared.setTimeout(() => {
      this.handles.delete(h);
      this.life.run(fn);
    }, ms);
    this.handles.add(h);
    return h;
  }

  clearTimeout(handle: TimerHandle): void {
    this.shared.clearTimeout(handle);
    this.handles.delete(handle);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    // While paused, the ticks of an interval fold into one, run on resume (as a stopped process sees it).
    let waiting = false;
    const h = this.shared.setInterval(() => {
      if (waiting) return;
      waiting = true;
      this.life.run(() => {
        waiting = false;
        fn();
      });
    }, ms);
    this.handles.add(h);
    return h;
  }

  clearInterval(handle: TimerHandle): void {
    this.clearTimeout(handle);
  }

  /** Every timer of this life, gone (a crash). */
  killAll(): void {
    for (const h of this.handles) this.shared.clearTimeout(h);
    this.handles.clear();
  }
}

export interface NetFaults {
  /** Latency of one hop, drawn between these (ms). */
  minLatencyMs: number;
  maxLatencyMs: number;
  /** Chance of a long delay (up to slowMs) on a hop. */
  slowRate: number;
  slowMs: number;
  dropRate: number;
  duplicateRate: number;
}

export const CALM: NetFaults = { minLatencyMs: 0.05, maxLatencyMs: 0.4, slowRate: 0, slowMs: 0, dropRate: 0, duplicateRate: 0 };

interface Endpoint {
  node: number;
  life: Life;
}

interface Server extends Endpoint {
  handler: (payload: Buffer) => Promise<Uint8Array>;
}

interface Subscriber extends Endpoint {
  handler: (payload: Buffer) => void;
}

/** The network and the NATS server: who serves and hears what, which links are cut, and the delays. */
export class Network {
  faults: NetFaults = CALM;
  /** Directed cut links, `${from}>${to}` (NATS is node 0). */
  private readonly cut = new Set<string>();
  private readonly servers = new Map<string, Server[]>();
  private readonly subscribers = new Map<string, Subscriber[]>();
  private readonly reconnectListeners = new Map<number, Set<() => void>>();
  messages = 0;

  constructor(
    readonly clock: SimulatedClock,
    readonly rng: Rng,
    private readonly trace: Trace,
    readonly maxPayload = 1024 * 1024,
  ) {}

  cutLink(from: number, to: number): void {
    this.cut.add(`${from}>${to}`);
  }

  healLink(from: number, to: number): void {
    const wasCutFromNats = from === NATS || to === NATS ? !this.reachesNats(from === NATS ? to : from) : false;
    this.cut.delete(`${from}>${to}`);
    const node = from === NATS ? to : from;
    // A broker whose connection to NATS came back hears about it (requests in flight then were lost).
    if (wasCutFromNats && this.reachesNats(node)) for (const fn of [...(this.reconnectListeners.get(node) ?? [])]) fn();
  }

  healAll(): void {
    for (const link of [...this.cut]) {
      const [from, to] = link.split('>').map(Number) as [number, number];
      this.healLink(from, to);
    }
  }

  get cutLinks(): string[] {
    return [...this.cut].sort();
  }

  /** Both ways between a broker and NATS. */
  reachesNats(node: number): boolean {
    return !this.cut.has(`${node}>${NATS}`) && !this.cut.has(`${NATS}>${node}`);
  }

  /** Whether a message from one node reaches another (through the NATS server). */
  passes(from: number, to: number): boolean {
    if (this.cut.has(`${from}>${to}`)) return false;
    if (from !== NATS && this.cut.has(`${from}>${NATS}`)) return false;
    if (to !== NATS && this.cut.has(`${NATS}>${to}`)) return false;
    return true;
  }

  /** The delay of a message from one node to another (through NATS), or null when it is lost. */
  hop(from: number, to: number): number | null {
    this.messages++;
    if (!this.passes(from, to)) return null;
    const f = this.faults;
    if (this.rng.chance(f.dropRate)) return null;
    let ms = f.minLatencyMs + this.rng.next() * (f.maxLatencyMs - f.minLatencyMs);
    if (this.rng.chance(f.slowRate)) ms += this.rng.next() * f.slowMs;
    return ms;
  }

  /** Carries `deliver` from one endpoint to another's life after a drawn delay (maybe twice, maybe never). */
  send(from: number, to: Endpoint | typeof NATS, deliver: () => void, allowDuplicate: boolean): void {
    const toNode = to === NATS ? NATS : to.node;
    const copies = allowDuplicate && this.rng.chance(this.faults.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const ms = this.hop(from, toNode);
      if (ms === null) continue;
      this.clock.setTimeout(() => (to === NATS ? deliver() : to.life.run(deliver)), ms);
    }
  }

  transportFor(node: number, life: Life, clock: NodeClock): Transport {
    const net = this;
    const me: Endpoint = { node, life };
    const tr = this.trace;
    return {
      request(subject, payload, timeoutMs) {
        return new Promise<Buffer>((resolve, reject) => {
          if (!life.alive) return;
          if (payload.length > net.maxPayload) return reject(new TransportError('FAILED', subject));
          let settled = false;
          const timer = clock.setTimeout(() => {
            if (settled) return;
            settled = true;
            reject(new TransportError('TIMEOUT', subject));
          }, timeoutMs);
          const answer = (fn: () => void) => {
            if (settled) return;
            settled = true;
            clock.clearTimeout(timer);
            fn();
          };
          const copy = Buffer.from(payload);
          tr.add('req', node, subject, copy.length);
          // Through the NATS server, which picks a live server of the subject or answers "no responders" (one
          // timer for the two hops: the server is picked as the request leaves, its life checked as it arrives).
          const servers = (net.servers.get(subject) ?? []).filter((s) => s.life.alive);
          if (servers.length === 0) {
            const there = net.hop(node, NATS);
            const back = there === null ? null : net.hop(NATS, node);
            if (there !== null && back !== null) net.clock.setTimeout(() => life.run(() => answer(() => reject(new TransportError('NO_RESPONDERS', subject)))), there + back);
            return;
          }
          const server = servers.length === 1 ? servers[0]! : net.rng.pick(servers);
          net.send(node, server, () => {
            tr.add('serve', server.node, subject);
            server.handler(Buffer.from(copy)).then(
              (reply) => {
                if (!server.life.alive || reply.length > net.maxPayload) return;
                const r = Buffer.from(reply);
                net.send(server.node, me, () => answer(() => resolve(r)), false);
              },
              () => {},
            );
          }, true);
        });
      },
      serve(subject, handler, _options?: ServeOptions): TransportSubscription {
        return enlist(net.servers, subject, { node, life, handler });
      },
      publish(subject, payload) {
        if (!life.alive) return;
        const copy = Buffer.from(payload);
        tr.add('pub', node, subject, copy.length);
        for (const s of [...(net.subscribers.get(subject) ?? [])]) if (s.life.alive) net.send(node, s, () => s.handler(Buffer.from(copy)), true);
      },
      subscribe(subject, handler): TransportSubscription {
        return enlist(net.subscribers, subject, { node, life, handler });
      },
      onReconnect(fn) {
        let set = net.reconnectListeners.get(node);
        if (!set) net.reconnectListeners.set(node, (set = new Set()));
        const wrapped = () => life.run(fn);
        set.add(wrapped);
        return () => void set.delete(wrapped);
      },
      maxPayload: () => net.maxPayload,
    };
  }

  /** Drops every server, subscriber and reconnect listener of a dead node (NATS notices the closed connection). */
  forget(node: number): void {
    for (const list of this.servers.values()) for (let i = list.length - 1; i >= 0; i--) if (list[i]!.node === node && !list[i]!.life.alive) list.splice(i, 1);
    for (const list of this.subscribers.values()) for (let i = list.length - 1; i >= 0; i--) if (list[i]!.node === node && !list[i]!.life.alive) list.splice(i, 1);
    this.reconnectListeners.delete(node);
  }
}

/** Adds `entry` to the subject's list (a server or a subscriber); stop() takes it out again. */
function enlist<T>(lists: Map<string, T[]>, subject: string, entry: T): TransportSubscription {
  let list = lists.get(subject);
  if (!list) lists.set(subject, (list = []));
  list.push(entry);
  return {
    stop: () => {
      const i = list.indexOf(entry);
      if (i >= 0) list.splice(i, 1);
    },
  };
}

/** How long a bucket request waits for its answer (the JetStream API timeout). */
const KV_TIMEOUT_MS = 5_000;

/** The metadata bucket on the NATS server, and what a broker sees of it. */
export class SimBucket {
  readonly kv = new MemoryKv();
  /** Until when (monotonic ms) the bucket answers nothing (a stalled JetStream). */
  stalledUntil = 0;
  /** How many times the NATS side crashed: a request it had received but not carried out is lost with it. */
  crashes = 0;

  constructor(
    private readonly net: Network,
    private readonly trace: Trace,
  ) {}

  viewFor(node: number, life: Life, clock: NodeClock): MetadataKv {
    const net = this.net;
    const bucket = this;
    const me: Endpoint = { node, life };
    const call = <T>(op: string, key: string, fn: () => Promise<T>): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        if (!life.alive) return;
        let settled = false;
        const timer = clock.setTimeout(() => {
          if (settled) return;
          settled = true;
          reject(new KvOperationError(op, key, new Error('timed out')));
        }, KV_TIMEOUT_MS);
        const answer = (fn: () => void) => {
          if (settled) return;
          settled = true;
          clock.clearTimeout(timer);
          fn();
        };
        net.send(node, NATS, () => {
          const received = bucket.crashes;
          const apply = () => {
            if (bucket.crashes !== received) return; // lost in a crash: the caller times out
            if (op !== 'get' && op !== 'keys') bucket.trace.add('kv', node, op, key);
            fn().then(
              (v) => net.send(NATS, me, () => answer(() => resolve(v)), false),
              (e: unknown) => net.send(NATS, me, () => answer(() => reject(e)), false),
            );
          };
          const wait = bucket.stalledUntil - net.clock.monotonic();
          if (wait > 0) net.clock.setTimeout(apply, wait);
          else apply();
        }, false);
      });
    const kv = this.kv;
    return {
      get: (key) => call<KvEntry | null>('get', key, () => kv.get(key)),
      lastWrite: (key) => call('get', key, () => kv.lastWrite(key)),
      create: (key, value) => call('create', key, () => kv.create(key, value)),
      put: (key, value) => call('put', key, () => kv.put(key, value)),
      update: (key, value, rev) => call('update', key, () => kv.update(key, value, rev)),
      delete: (key, rev) => call('delete', key, () => kv.delete(key, rev)),
      keys: (prefix) => call('keys', prefix ?? '', () => kv.keys(prefix)),
      watch: (prefix) => this.watchFor(me, prefix),
    };
  }

  /** A watch whose events reach the broker in order, after a delay, held while it is cut from NATS. */
  private watchFor(me: Endpoint, prefix: string | undefined): KvWatch {
    const inner = this.kv.watch(prefix);
    const queue = new AsyncQueue<KvWatchEvent>(() => inner.stop());
    const net = this.net;
    const pending: KvWatchEvent[] = [];
    let draining = false;
    // Delivery in order: what has arrived goes over in one delivery after a delay; a cut link holds it.
    const pump = () => {
      if (draining || pending.length === 0) return;
      if (!me.life.alive) return (inner.stop(), queue.end());
      draining = true;
      const retry = () => {
        if (!me.life.alive) return (inner.stop(), queue.end());
        if (!net.passes(NATS, me.node)) return void net.clock.setTimeout(retry, 50);
        net.clock.setTimeout(() => me.life.run(() => {
          for (const ev of pending.splice(0)) queue.push(ev);
          draining = false;
          pump();
        }), 0.05 + 0.2 * (net.messages % 7) / 7);
      };
      retry();
    };
    void (async () => {
      for await (const ev of inner) {
        pending.push(ev);
        pump();
      }
    })();
    return {
      stop: () => {
        inner.stop();
        queue.end();
      },
      [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
    };
  }
}
