// One consumer group as a running actor: machines/group.ts given its effects. A request becomes one event
// with a fresh request id and resolves when the machine's `reply` action names that id — at once for most
// requests, after the rebalance for a JoinGroup, after the leader's assignment for a follower's SyncGroup.
// `persist` hands the group metadata record to the coordinator, which appends it to __consumer_offsets.
//
// Each group is a root actor (systemId `group-<id>`) kept in its coordinator shard's registry, not a child of
// one parent: XState copies a parent's children map on every spawn (DESIGN.md).
import { createActor, type Actor } from 'xstate';
import type { Clock } from '../runtime/clock.ts';
import { groupMachine } from '../../machines/group.ts';
import type { GroupContext, GroupEvent, GroupReply, GroupStateName, PersistedGroup } from './group-types.ts';

type RequestEvent = Extract<GroupEvent, { requestId: string }>;
type WithoutRequestId<E> = E extends unknown ? Omit<E, 'requestId'> : never;

export interface GroupActorOptions {
  groupId: string;
  initialDelayMs: number;
  loaded?: PersistedGroup | null;
  /** The clock of the machine's delays (session, rebalance): the runtime's. */
  clock: Clock;
  onPersist: (group: PersistedGroup) => void;
  onDead: () => void;
  /** Called each time the group enters PreparingRebalance (the broker counts rebalances). */
  onRebalance?: () => void;
}

export class GroupActor {
  readonly actor: Actor<typeof groupMachine>;
  private readonly waiting = new Map<string, (reply: GroupReply | null) => void>();
  private nextRequest = 1;

  constructor(readonly opts: GroupActorOptions) {
    const machine = groupMachine.provide({
      actions: {
        reply: (_, p) => {
          const resolve = this.waiting.get(p.requestId);
          this.waiting.delete(p.requestId);
          resolve?.(p.reply);
        },
        persist: (_, p) => opts.onPersist(p.group),
      },
    });
    this.actor = createActor(machine, {
      systemId: `group-${opts.groupId}`,
      input: { groupId: opts.groupId, initialDelayMs: opts.initialDelayMs, loaded: opts.loaded ?? null },
      clock: opts.clock,
    });
    let previous: unknown = null;
    this.actor.subscribe({
      next: (snap) => {
        if (snap.value === 'PreparingRebalance' && previous !== 'PreparingRebalance') opts.onRebalance?.();
        previous = snap.value;
      },
      complete: () => this.onDone(),
    });
    this.actor.start();
  }

  get groupId(): string {
    return this.opts.groupId;
  }

  get state(): GroupStateName {
    const s = this.actor.getSnapshot();
    return s.status === 'done' ? 'Dead' : (s.value as GroupStateName);
  }

  get context(): GroupContext {
    return this.actor.getSnapshot().context;
  }

  /** Null when the group is already Dead (deleted or unloaded): the caller answers NOT_COORDINATOR. */
  request(event: WithoutRequestId<RequestEvent>): Promise<GroupReply | null> {
    if (this.actor.getSnapshot().status === 'done') return Promise.resolve(null);
    const requestId = String(this.nextRequest++);
    return new Promise((resolve) => {
      this.waiting.set(requestId, resolve);
      this.actor.send({ ...event, requestId } as RequestEvent);
      // A request the machine did not answer before stopping is answered as "no coordinator here".
      if (this.actor.getSnapshot().status === 'done' && this.waiting.delete(requestId)) resolve(null);
    });
  }

  unload(): void {
    if (this.actor.getSnapshot().status !== 'done') this.actor.send({ type: 'UNLOAD' });
  }

  private onDone(): void {
    for (const resolve of this.waiting.values()) resolve(null);
    this.waiting.clear();
    this.opts.onDead();
  }
}
