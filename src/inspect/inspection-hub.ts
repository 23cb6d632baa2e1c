// The live actors of one broker and the inspection of them, paid for only while someone looks.
//
// Inspection costs the data path (DESIGN.md: ~0.4M events/s per actor without an observer, ~0.13M with one),
// so the hub attaches `actor.system.inspect(observer)` to an actor's system only while at least one viewer
// is subscribed to that actor (or a permanent observer, the `--inspect` Stately inspector, is installed) and
// unsubscribes it when the last viewer leaves. `attachedObservers` counts the live system.inspect
// subscriptions so tests can see 1 → 0.
//
// Each partition replica, the broker and the controller are separate root actors (XState copies a parent's
// children map at every spawn), so every root has a system of its own: one observer per watched root. Actors
// appear and disappear as the metadata changes; while anything is watched, the sources are rescanned.
import type { AnyActorRef, InspectionEvent, Observer, Subscription } from 'xstate';

export interface LiveActor {
  /** Stable name: `broker-1`, `partition-orders-3@broker-2`, `controller@broker-1`, `group-g1@broker-1`, `transaction-t1@broker-3`. */
  systemId: string;
  kind: 'broker' | 'partition' | 'controller' | 'group' | 'transaction' | 'other';
  actor: AnyActorRef;
}

/** Lists the broker's live root actors; called at every rescan. */
export type ActorSource = () => Iterable<LiveActor>;

export interface ActorSummary {
  systemId: string;
  kind: LiveActor['kind'];
  machineId: string | null;
  status: string;
  /** The snapshot's state value (a string or a nested object), null for non-machine actors. */
  state: unknown;
  /** Ids of the active state nodes, as in the statechart (`partitionReplica.leader`). */
  active: string[];
  context: unknown;
}

export interface ActorEventRecord {
  at: number;
  systemId: string;
  /** The event the actor processed. */
  event: string;
  /** A short JSON rendering of the event's other fields. */
  detail: string;
  /** The state value after the event. */
  state: unknown;
  active: string[];
}

export type ActorListener = (record: ActorEventRecord, summary: ActorSummary) => void;

export interface InspectionHubOptions {
  sources: ActorSource;
  clock?: () => number;
  /** Recent events kept per actor while it is watched (default 50). */
  maxEvents?: number;
  /** How often new actors are looked for while something is watched (default 1000 ms). */
  rescanMs?: number;
}

interface Attached {
  actor: AnyActorRef;
  systemId: string;
  sub: Subscription;
}

export class InspectionHub {
  private readonly listeners = new Map<string, Set<ActorListener>>();
  private readonly recent = new Map<string, ActorEventRecord[]>();
  private readonly attached = new Map<AnyActorRef, Attached>();
  private readonly permanent: Array<{ observer: Observer<InspectionEvent>; announce: (actor: AnyActorRef) => void; skip: Set<AnyActorRef>; subs: Map<AnyActorRef, Subscription> }> = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly clock: () => number;
  private readonly maxEvents: number;

  constructor(private readonly opts: InspectionHubOptions) {
    this.clock = opts.clock ?? Date.now;
    this.maxEvents = opts.maxEvents ?? 50;
  }

  /** Number of system.inspect subscriptions currently attached by this hub (viewers and permanent ones). */
  get attachedObservers(): number {
    return this.attached.size + this.permanent.reduce((n, p) => n + p.subs.size, 0);
  }

  /** Number of viewers subscribed to actors. */
  get viewers(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  list(): ActorSummary[] {
    return [...this.opts.sources()].map((a) => summarize(a));
  }

  get(systemId: string): LiveActor | undefined {
    for (const a of this.opts.sources()) if (a.systemId === systemId) return a;
    return undefined;
  }

  /** Events seen while the actor was watched, oldest first. */
  recentEvents(systemId: string): ActorEventRecord[] {
    return [...(this.recent.get(systemId) ?? [])];
  }

  /**
   * Watches one actor: `listener` gets every event it processes with the state after it. The observer is
   * attached now (if the actor exists) and detached when the last watcher of the actor unsubscribes.
   */
  watch(systemId: string, listener: ActorListener): () => void {
    let set = this.listeners.get(systemId);
    if (!set) this.listeners.set(systemId, (set = new Set()));
    set.add(listener);
    this.sync();
    return () => {
      const s = this.listeners.get(systemId);
      if (!s?.delete(listener)) return;
      if (s.size === 0) {
        this.listeners.delete(systemId);
        this.recent.delete(systemId);
      }
      this.sync();
    };
  }

  /**
   * Installs an observer on every actor for as long as the hub lives (the `--inspect` WebSocket inspector).
   * `announce` is called for each actor found after it was created, so the receiver learns of it; actors in
   * `skip` already carry the observer (given as their `inspect` option at creation).
   */
  addPermanent(observer: Observer<InspectionEvent>, announce: (actor: AnyActorRef) => void, skip: AnyActorRef[] = []): void {
    this.permanent.push({ observer, announce, skip: new Set(skip), subs: new Map() });
    this.sync();
  }

  /** Looks for new and gone actors now (after a metadata change created replicas) instead of at the next rescan. */
  refresh(): void {
    if (this.listeners.size > 0 || this.permanent.length > 0) this.sync();
  }

  /** Detaches everything. */
  close(): void {
    this.listeners.clear();
    this.recent.clear();
    for (const p of this.permanent) for (const s of p.subs.values()) s.unsubscribe();
    this.permanent.length = 0;
    this.sync();
  }

  /** Brings the attached observers in line with the watchers and the live actors. */
  private sync(): void {
    const live = [...this.opts.sources()];
    const liveSet = new Set(live.map((a) => a.actor));
    const wanted = new Map<AnyActorRef, LiveActor>();
    for (const a of live) if (this.listeners.has(a.systemId) && a.actor.getSnapshot().status === 'active') wanted.set(a.actor, a);
    for (const [actor, at] of this.attached) {
      if (!wanted.has(actor)) {
        at.sub.unsubscribe();
        this.attached.delete(actor);
      }
    }
    for (const [actor, a] of wanted) {
      if (this.attached.has(actor)) continue;
      const sub = actor.system.inspect({ next: (ev: InspectionEvent) => this.onInspection(a, ev) });
      this.attached.set(actor, { actor, systemId: a.systemId, sub });
    }
    for (const p of this.permanent) {
      for (const [actor, sub] of p.subs) {
        if (!liveSet.has(actor)) {
          sub.unsubscribe();
          p.subs.delete(actor);
        }
      }
      for (const a of live) {
        if (p.skip.has(a.actor) || p.subs.has(a.actor) || a.actor.getSnapshot().status !== 'active') continue;
        p.announce(a.actor);
        p.subs.set(a.actor, a.actor.system.inspect(p.observer));
      }
    }
    const needed = this.listeners.size > 0 || this.permanent.length > 0;
    if (needed && !this.timer) {
      this.timer = setInterval(() => this.sync(), this.opts.rescanMs ?? 1000);
      this.timer.unref();
    } else if (!needed && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private onInspection(a: LiveActor, ev: InspectionEvent): void {
    // The root actor's transitions only; invoked promises inside it show up as the done/error events they send.
    if (ev.type !== '@xstate.snapshot' || ev.actorRef !== a.actor) return;
    const snapshot = ev.snapshot as { value?: unknown };
    const summary = summarize(a);
    const { type, ...rest } = ev.event as { type: string };
    const record: ActorEventRecord = {
      at: this.clock(),
      systemId: a.systemId,
      event: type,
      detail: brief(rest),
      state: snapshot.value ?? null,
      active: activeIds(a.actor, snapshot.value),
    };
    let list = this.recent.get(a.systemId);
    if (!list) this.recent.set(a.systemId, (list = []));
    list.push(record);
    if (list.length > this.maxEvents) list.shift();
    for (const l of this.listeners.get(a.systemId) ?? []) {
      try {
        l(record, summary);
      } catch {
        // A failing viewer must not disturb the actor.
      }
    }
  }
}

export function summarize(a: LiveActor): ActorSummary {
  const s = a.actor.getSnapshot() as { status?: string; value?: unknown; context?: unknown };
  const machineId = machineIdOf(a.actor);
  return {
    systemId: a.systemId,
    kind: a.kind,
    machineId,
    status: s.status ?? 'active',
    state: s.value ?? null,
    active: activeIds(a.actor, s.value),
    context: s.context === undefined ? null : JSON.parse(brief(s.context, 2000) || 'null'),
  };
}

function machineIdOf(actor: AnyActorRef): string | null {
  const logic = (actor as { logic?: { id?: unknown; root?: unknown } }).logic;
  return logic && logic.root && typeof logic.id === 'string' ? logic.id : null;
}

/** The ids of the active state nodes for a state value: `{running: 'a'}` in machine `m` → m, m.running, m.running.a. */
export function activeIds(actor: AnyActorRef, value: unknown): string[] {
  const id = machineIdOf(actor);
  if (!id) return [];
  const out = [id];
  const walk = (prefix: string, v: unknown) => {
    if (typeof v === 'string') out.push(`${prefix}.${v}`);
    else if (v && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        out.push(`${prefix}.${k}`);
        walk(`${prefix}.${k}`, child);
      }
    }
  };
  walk(id, value);
  return out;
}

/** JSON of a value, bigint-safe, depth- and length-limited (events may carry buffers or large arrays). */
export function brief(value: unknown, max = 300): string {
  const seen = new WeakSet<object>();
  const limit = (v: unknown, depth: number): unknown => {
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'function') return undefined;
    if (Buffer.isBuffer(v)) return `<${v.length} bytes>`;
    if (v && typeof v === 'object') {
      if (seen.has(v)) return '[circular]';
      seen.add(v);
      if (depth > 3) return Array.isArray(v) ? `[${v.length} items]` : '{…}';
      if (Array.isArray(v)) return v.slice(0, 20).map((x) => limit(x, depth + 1));
      if (typeof (v as { getSnapshot?: unknown }).getSnapshot === 'function') return `<actor ${(v as { id?: string }).id ?? ''}>`;
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v).slice(0, 30)) out[k] = limit(x, depth + 1);
      return out;
    }
    return v;
  };
  const text = JSON.stringify(limit(value, 0)) ?? '';
  if (text === '{}') return '';
  return text.length > max ? JSON.stringify(text.slice(0, max - 1) + '…') : text;
}
