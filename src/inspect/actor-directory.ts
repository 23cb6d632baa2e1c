// Where the dashboard finds a broker's live actors: the built-in ones (the broker, its controller, its
// partition replicas, listed fresh each time from the broker's own objects) and those other parts register
// (`services.actors.register({ systemId: 'group-g1@broker-1', kind: 'group', actor })` from the group
// coordinator). `system.get` does not cross separate root actors (DESIGN.md), hence this directory.
//
// Names carry the broker (`…@broker-N`) because the same machine runs on every broker: `controller@broker-2`,
// `partition-orders-0@broker-3`; the broker actor itself is `broker-N`.
import type { LiveActor } from './inspection-hub.ts';

/** What the dashboard shows of a consumer group (from the coordinator, when it provides one). */
export interface GroupSummary {
  groupId: string;
  state: string;
  generation: number;
  members: number;
  /** Committed offsets, for lag (high watermark − committed). */
  offsets: Array<{ topic: string; partition: number; committed: number }>;
}

export class ActorDirectory {
  private readonly registered = new Map<string, LiveActor>();
  private readonly sources: Array<() => Iterable<LiveActor>> = [];
  private groupsProvider: (() => GroupSummary[]) | null = null;

  constructor(private readonly builtIn: () => Iterable<LiveActor>) {}

  /** Adds a whole source of actors that come and go (the group coordinator's groups), listed at each call. */
  addSource(source: () => Iterable<LiveActor>): void {
    this.sources.push(source);
  }

  /** Adds an actor; returns the function that removes it again. */
  register(actor: LiveActor): () => void {
    this.registered.set(actor.systemId, actor);
    return () => {
      if (this.registered.get(actor.systemId) === actor) this.registered.delete(actor.systemId);
    };
  }

  list(): LiveActor[] {
    const out = [...this.builtIn(), ...this.registered.values()];
    for (const source of this.sources) out.push(...source());
    return out;
  }

  /** The group coordinator's view of its groups (state, generation, members, committed offsets). */
  provideGroups(fn: () => GroupSummary[]): void {
    this.groupsProvider = fn;
  }

  /** Groups from the provider, else what registered group actors' snapshots say. */
  groups(): GroupSummary[] {
    if (this.groupsProvider) return this.groupsProvider();
    return this.list()
      .filter((a) => a.kind === 'group')
      .map((a) => {
        const s = a.actor.getSnapshot() as { value?: unknown; context?: Record<string, unknown> };
        const ctx = s.context ?? {};
        const members = ctx.members && typeof ctx.members === 'object' ? Object.keys(ctx.members).length : 0;
        return {
          groupId: String(ctx.groupId ?? a.systemId.replace(/^group-/, '').replace(/@broker-\d+$/, '')),
          state: typeof s.value === 'string' ? s.value : JSON.stringify(s.value),
          generation: Number(ctx.generationId ?? ctx.generation ?? -1),
          members,
          offsets: [],
        };
      });
  }
}

/** The broker id an actor name belongs to (`broker-3`, `partition-t-0@broker-3`), or null. */
export function brokerOfActor(systemId: string): number | null {
  const m = /@broker-(\d+)$/.exec(systemId) ?? /^broker-(\d+)$/.exec(systemId);
  return m ? Number(m[1]) : null;
}
