// A broker's life: starting (NATS, cluster metadata, local logs; a failed start is abandoned: what it had
// started is shut down before it ends as failed) → registering (its id and incarnation in
// the metadata bucket) → running (serving Kafka clients) → shutting down → stopped. A broker whose
// registration is taken over by another incarnation with the same id is fenced: it stops serving at
// once, as a Kafka broker whose ZooKeeper session was lost. A running broker whose registration the
// controller deleted (it was frozen or cut off past its session timeout: a zombie that is alive after all)
// registers again with the same incarnation, and keeps trying every REREGISTER_RETRY_MS until it is back:
// a broker left unregistered would serve on, never to rejoin an in-sync replica set.
//
// While running, two more regions keep the logs: `flush` (with flush=interval, every flushIntervalMs a pass
// fsyncs the logs that grew and writes the checkpoints that are due) and `retention` (every
// retentionCheckIntervalMs a pass deletes segments past retention.ms/retention.bytes), and `cleaner` (log
// compaction: a pass cleans the local compacted log most in need, the next follows at once when it cleaned one,
// else after log.cleaner.backoff.ms, which CLEANER_BACKOFF changes for the waits to come). Each pass is an
// invoked actor and the next wait starts when it ends, so two passes never overlap and a slow disk slows
// the passes instead of stacking them.
//
// Pure: actors/broker-actor.ts provides the effects.
import { assign, setup, fromPromise } from 'xstate';

export interface BrokerInput {
  brokerId: number;
  incarnation: string;
  /** The periodic flush's interval; null when appends flush themselves (flush=always) or the OS does (never). */
  flushIntervalMs: number | null;
  retentionCheckIntervalMs: number;
  /** log.cleaner.backoff.ms: the wait after a cleaner pass that found nothing to clean; null: no cleaner (log.cleaner.enable=false). */
  cleanerBackoffMs?: number | null;
}

export interface BrokerContext extends BrokerInput {
  error: string | null;
}

export type BrokerEvent =
  | { type: 'SHUTDOWN' }
  | { type: 'FENCED'; by: string }
  | { type: 'FAILED'; error: string }
  | { type: 'DEREGISTERED' }
  /** log.cleaner.backoff.ms changed at runtime (a dynamic broker config): the next wait is this long. */
  | { type: 'CLEANER_BACKOFF'; ms: number };

/** How long a broker waits between attempts to register again after a failed one. */
export const REREGISTER_RETRY_MS = 1_000;

export const brokerMachine = setup({
  types: {
    context: {} as BrokerContext,
    events: {} as BrokerEvent,
    input: {} as BrokerInput,
  },
  actors: {
    start: fromPromise<void, void>(async () => {}),
    register: fromPromise<void, void>(async () => {}),
    reregister: fromPromise<void, void>(async () => {}),
    shutdown: fromPromise<void, void>(async () => {}),
    flushPass: fromPromise<void, void>(async () => {}),
    retentionPass: fromPromise<void, void>(async () => {}),
    /** Resolves true when it cleaned a log (the next pass starts at once), false when none needed it. */
    cleanerPass: fromPromise<boolean, void>(async () => false),
  },
  delays: {
    flushInterval: ({ context }) => context.flushIntervalMs ?? 0,
    retentionCheckInterval: ({ context }) => context.retentionCheckIntervalMs,
    cleanerBackoff: ({ context }) => context.cleanerBackoffMs ?? 0,
  },
  guards: {
    flushesOnInterval: ({ context }) => context.flushIntervalMs !== null,
    cleanerEnabled: ({ context }) => context.cleanerBackoffMs !== null && context.cleanerBackoffMs !== undefined,
  },
  actions: {
    startServing: () => {},
    stopServing: () => {},
  },
}).createMachine({
  id: 'broker',
  context: ({ input }) => ({ ...input, error: null }),
  initial: 'starting',
  states: {
    starting: {
      invoke: {
        src: 'start',
        onDone: 'registering',
        onError: { target: 'abandoning', actions: assign({ error: ({ event }) => String((event.error as Error)?.message ?? event.error) }) },
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
      type: 'parallel',
      states: {
        registration: {
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
        },
        flush: {
          initial: 'choosing',
          states: {
            choosing: { always: [{ guard: 'flushesOnInterval', target: 'waiting' }, { target: 'off' }] },
            off: {},
            waiting: { after: { flushInterval: 'flushing' } },
            // A failed pass was logged by it; the next one tries again.
            flushing: { invoke: { src: 'flushPass', onDone: 'waiting', onError: 'waiting' } },
          },
        },
        retention: {
          initial: 'waiting',
          states: {
            waiting: { after: { retentionCheckInterval: 'applying' } },
            applying: { invoke: { src: 'retentionPass', onDone: 'waiting', onError: 'waiting' } },
          },
        },
        cleaner: {
          initial: 'choosing',
          states: {
            choosing: { always: [{ guard: 'cleanerEnabled', target: 'waiting' }, { target: 'off' }] },
            off: {},
            waiting: { after: { cleanerBackoff: 'cleaning' } },
            // Like Kafka's cleaner thread: after a log was cleaned the next pass starts at once, else after the backoff.
            cleaning: {
              invoke: {
                src: 'cleanerPass',
                onDone: [{ guard: ({ event }) => event.output === true, target: 'cleaning', reenter: true }, { target: 'waiting' }],
                onError: 'waiting',
              },
            },
          },
        },
      },
      on: {
        // Ignored with the cleaner off: log.cleaner.enable is not dynamic, in Kafka either.
        CLEANER_BACKOFF: { guard: 'cleanerEnabled', actions: assign({ cleanerBackoffMs: ({ event }) => event.ms }) },
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
    // A start that failed half-way releases what it had started (the metadata store, replicas, the listener)
    // through the same shutdown, which skips what never started, then ends as failed.
    abandoning: {
      invoke: { src: 'shutdown', onDone: 'failed', onError: 'failed' },
    },
    stopped: { type: 'final' },
    failed: { type: 'final' },
  },
});
