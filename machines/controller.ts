// The controller lease as every broker runs it: standby → acquiring → active (renewing) → back to standby
// on loss, or resigning → stopped. One broker at a time is active: Kafka's controller election, with the
// `controller` key of the metadata bucket in the role of ZooKeeper's ephemeral /controller node, and the
// pattern NATS-NOTES.md measured: the holder renews by compare-and-set every TTL/4; a standby that has
// seen no change of the key for a full TTL (on its own clock) takes it over by compare-and-set; the
// winning revision is the controller epoch; a holder that has not renewed for 0.75·TTL stops acting, so
// it is out before any standby can be in.
//
// Pure: the lease writes (acquireLease, renewLease, resignLease) and what being active means
// (startActing, stopActing) are provided by actors/controller-actor.ts. Time comes from the actor's clock.
import { assign, setup, fromPromise } from 'xstate';

export interface ControllerContext {
  brokerId: number;
  leaseTtlMs: number;
  /** The lease key's revision as last observed (0: never written). */
  observedRevision: number;
  /** Who the observed value names; null when the key is empty (never written, deleted). */
  observedHolder: number | null;
  /** The revision of this broker's last successful lease write while active. */
  heldRevision: number;
  /** The controller epoch while active: the revision of the takeover. */
  epoch: number;
}

export type ControllerEvent =
  /** The lease key changed (or is seen for the first time): from the metadata watch. */
  | { type: 'LEASE_OBSERVED'; revision: number; holder: number | null }
  /** The holder seen at `revision` is certainly gone (its NATS connection closed): take over without waiting a TTL. */
  | { type: 'HOLDER_GONE'; revision: number; holder: number }
  /**
   * The bucket went back (KvRewound) and the store moved to it: the key's revisions were handed out again, so
   * what was observed and held before means nothing now. A standby watches the key afresh; an active controller
   * stops acting and competes again for a lease with a new epoch.
   */
  | { type: 'LEASE_REWOUND'; revision: number; holder: number | null }
  /** Give the lease up now (controlled shutdown of the holder's broker). */
  | { type: 'RESIGN' }
  /** Stop without touching the lease (the broker is going away uncleanly, or was never active). */
  | { type: 'STOP' };

export interface ControllerInput {
  brokerId: number;
  leaseTtlMs: number;
  /** The lease as the broker sees it when the actor starts. */
  observedRevision: number;
  observedHolder: number | null;
}

const errorCode = (error: unknown): unknown => (typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined);

export const controllerMachine = setup({
  types: {
    context: {} as ControllerContext,
    events: {} as ControllerEvent,
    input: {} as ControllerInput,
  },
  actors: {
    /** Resolves with the new revision (the epoch); rejects with code LEASE_LOST when another writer won. */
    acquireLease: fromPromise<{ revision: number }, { expectedRevision: number | null }>(async () => {
      throw new Error('acquireLease must be provided');
    }),
    /** Resolves with the new revision; rejects with code LEASE_LOST when the lease was taken. */
    renewLease: fromPromise<{ revision: number }, { revision: number; epoch: number }>(async () => {
      throw new Error('renewLease must be provided');
    }),
    resignLease: fromPromise<void, { revision: number }>(async () => {}),
  },
  actions: {
    startActing: (_, _params: { epoch: number }) => {},
    stopActing: () => {},
    observeRewound: assign(({ event }) => (event.type === 'LEASE_REWOUND' ? { observedRevision: event.revision, observedHolder: event.holder } : {})),
  },
  delays: {
    leaseTtl: ({ context }) => context.leaseTtlMs,
    renewInterval: ({ context }) => context.leaseTtlMs / 4,
    holdLimit: ({ context }) => context.leaseTtlMs * 0.75,
  },
  guards: {
    isNewObservation: ({ context, event }) => event.type === 'LEASE_OBSERVED' && event.revision > context.observedRevision,
    leaseIsEmpty: ({ context }) => context.observedHolder === null,
    /** About the lease as last observed (not a report on an older holder or revision). */
    isObservedHolderGone: ({ context, event }) =>
      event.type === 'HOLDER_GONE' && event.revision === context.observedRevision && event.holder === context.observedHolder,
    /** A newer write of the key that is not this holder's own renewal: someone took it over or deleted it. */
    takenFromUs: ({ context, event }) =>
      event.type === 'LEASE_OBSERVED' && event.revision > context.heldRevision && event.holder !== context.brokerId,
    isLeaseLost: ({ event }) => errorCode((event as { error?: unknown }).error) === 'LEASE_LOST',
  },
}).createMachine({
  id: 'controller',
  context: ({ input }) => ({
    brokerId: input.brokerId,
    leaseTtlMs: input.leaseTtlMs,
    observedRevision: input.observedRevision,
    observedHolder: input.observedHolder,
    heldRevision: 0,
    epoch: 0,
  }),
  initial: 'standby',
  states: {
    standby: {
      initial: 'deciding',
      on: {
        // Every change of the key restarts the wait: the holder is alive as long as the key keeps changing.
        LEASE_OBSERVED: {
          guard: 'isNewObservation',
          target: 'standby',
          reenter: true,
          actions: assign({ observedRevision: ({ event }) => event.revision, observedHolder: ({ event }) => event.holder }),
        },
        LEASE_REWOUND: { target: 'standby', reenter: true, actions: 'observeRewound' },
        STOP: 'stopped',
        RESIGN: 'stopped',
      },
      states: {
        deciding: {
          always: [{ guard: 'leaseIsEmpty', target: '#controller.acquiring' }, { target: 'watching' }],
        },
        watching: {
          after: { leaseTtl: '#controller.acquiring' },
          on: { HOLDER_GONE: { guard: 'isObservedHolderGone', target: '#controller.acquiring' } },
        },
        backoff: {
          after: { renewInterval: 'deciding' },
        },
      },
    },
    acquiring: {
      invoke: {
        src: 'acquireLease',
        input: ({ context }) => ({ expectedRevision: context.observedHolder === null ? null : context.observedRevision }),
        onDone: {
          target: 'active',
          actions: assign({
            heldRevision: ({ event }) => event.output.revision,
            epoch: ({ event }) => event.output.revision,
            observedRevision: ({ event }) => event.output.revision,
            observedHolder: ({ context }) => context.brokerId,
          }),
        },
        // Lost or failed: pause, then decide again (a lost race shows up as a new observation meanwhile);
        // the pause keeps a broker cut off from NATS from retrying in a tight loop.
        onError: '#controller.standby.backoff',
      },
      on: {
        LEASE_OBSERVED: {
          guard: 'isNewObservation',
          actions: assign({ observedRevision: ({ event }) => event.revision, observedHolder: ({ event }) => event.holder }),
        },
        LEASE_REWOUND: { actions: 'observeRewound' },
        STOP: 'stopped',
        RESIGN: 'stopped',
      },
    },
    active: {
      entry: { type: 'startActing', params: ({ context }) => ({ epoch: context.epoch }) },
      exit: 'stopActing',
      on: {
        LEASE_OBSERVED: [
          {
            guard: 'takenFromUs',
            target: 'standby',
            actions: assign({ observedRevision: ({ event }) => event.revision, observedHolder: ({ event }) => event.holder }),
          },
          {
            guard: 'isNewObservation',
            actions: assign({ observedRevision: ({ event }) => event.revision, observedHolder: ({ event }) => event.holder }),
          },
        ],
        LEASE_REWOUND: { target: 'standby', actions: 'observeRewound' },
        RESIGN: 'resigning',
        STOP: 'stopped',
      },
      initial: 'held',
      states: {
        held: {
          // Re-entered at every successful renewal, which restarts this limit: 0.75·TTL without a renewal
          // and the holder stops acting, a quarter TTL before any standby may take over.
          after: { holdLimit: '#controller.standby' },
          initial: 'waiting',
          states: {
            waiting: {
              after: { renewInterval: 'renewing' },
            },
            renewing: {
              invoke: {
                src: 'renewLease',
                input: ({ context }) => ({ revision: context.heldRevision, epoch: context.epoch }),
                onDone: {
                  target: '#controller.active.held',
                  reenter: true,
                  actions: assign({
                    heldRevision: ({ event }) => event.output.revision,
                    observedRevision: ({ context, event }) => Math.max(context.observedRevision, event.output.revision),
                  }),
                },
                onError: [
                  { guard: 'isLeaseLost', target: '#controller.standby' },
                  // NATS hiccup: try again on the next interval; the hold limit still runs.
                  { target: 'waiting' },
                ],
              },
            },
          },
        },
      },
    },
    resigning: {
      invoke: { src: 'resignLease', input: ({ context }) => ({ revision: context.heldRevision }), onDone: 'stopped', onError: 'stopped' },
    },
    stopped: { type: 'final' },
  },
});
