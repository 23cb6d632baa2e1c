// A broker's life: starting (NATS, cluster metadata, local logs) → registering (its id and incarnation in
// the metadata bucket) → running (serving Kafka clients) → shutting down → stopped. A broker whose
// registration is taken over by another incarnation with the same id is fenced: it stops serving at
// once, as a Kafka broker whose ZooKeeper session was lost. A running broker whose registration the
// controller deleted (it was frozen or cut off past its session timeout: a zombie that is alive after all)
// registers again with the same incarnation, and keeps trying every REREGISTER_RETRY_MS until it is back:
// a broker left unregistered would serve on, never to rejoin an in-sync replica set.
//
// Pure: actors/broker-actor.ts provides the effects.
import { assign, setup, fromPromise } from 'xstate';

export interface BrokerContext {
  brokerId: number;
  incarnation: string;
  error: string | null;
}

export type BrokerEvent = { type: 'SHUTDOWN' } | { type: 'FENCED'; by: string } | { type: 'FAILED'; error: string } | { type: 'DEREGISTERED' };

/** How long a broker waits between attempts to register again after a failed one. */
export const REREGISTER_RETRY_MS = 1_000;

export const brokerMachine = setup({
  types: {
    context: {} as BrokerContext,
    events: {} as BrokerEvent,
    input: {} as { brokerId: number; incarnation: string },
  },
  actors: {
    start: fromPromise<void, void>(async () => {}),
    register: fromPromise<void, void>(async () => {}),
    reregister: fromPromise<void, void>(async () => {}),
    shutdown: fromPromise<void, void>(async () => {}),
  },
  actions: {
    startServing: () => {},
    stopServing: () => {},
  },
}).createMachine({
  id: 'broker',
  context: ({ input }) => ({ brokerId: input.brokerId, incarnation: input.incarnation, error: null }),
  initial: 'starting',
  states: {
    starting: {
      invoke: {
        src: 'start',
        onDone: 'registering',
        onError: { target: 'failed', actions: assign({ error: ({ event }) => String((event.error as Error)?.message ?? event.error) }) },
      },
      on: { SHUTDOWN: 'shuttingDown' },
    },
    registering: {
      invoke: {
        src: 'register',
        onDone: 'running',
        onError: { target: 'shuttingDown', actions: assign({ error: ({ event }) => String((event.error as Error)?.message ?? event.error) }) },
      },
      on: { SHUTDOWN: 'shuttingDown' },
    },
    running: {
      entry: 'startServing',
      initial: 'registered',
      states: {
        registered: {
          on: { DEREGISTERED: 'reregistering' },
        },
        reregistering: {
          invoke: { src: 'reregister', onDone: 'registered', onError: 'waitingToReregister' },
        },
        waitingToReregister: {
          after: { [REREGISTER_RETRY_MS]: 'reregistering' },
        },
      },
      on: {
        SHUTDOWN: 'shuttingDown',
        FENCED: { target: 'fenced', actions: assign({ error: ({ event }) => `fenced by incarnation ${event.by}` }) },
        FAILED: { target: 'shuttingDown', actions: assign({ error: ({ event }) => event.error }) },
      },
    },
    fenced: {
      entry: 'stopServing',
      on: { SHUTDOWN: 'shuttingDown' },
    },
    shuttingDown: {
      invoke: { src: 'shutdown', onDone: 'stopped', onError: 'stopped' },
    },
    stopped: { type: 'final' },
    failed: { type: 'final' },
  },
});
