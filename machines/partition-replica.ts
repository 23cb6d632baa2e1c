// The partition replica's life: recovering its log, then leader or follower as the cluster metadata says,
// until it is stopped or deleted. Pure: the log, the fetcher and the clock are supplied by
// src/broker/partition-replica.ts through .provide() — startFollowing/stopFollowing register the replica
// with the broker's replica fetcher for its leader (src/replication/), startLeading/stopLeading start and
// end the leader's follower bookkeeping and fail acks=all waiters when leadership moves.
//
// Leadership follows Kafka's leader epochs: every assignment carries the partition's leader epoch, and an
// assignment older than the one the replica already acts on is ignored, whatever state it is in, so a
// delayed or replayed metadata update can never demote a newer leader (fencing).
// A log that fails on I/O while the replica leads or follows (LOG_FAILED: a write or fsync failed, so what
// is on disk is unknown) takes the replica offline, as Kafka takes a log dir offline: it stops leading or
// following, answers KAFKA_STORAGE_ERROR, and `reportOffline` asks the controller to hand its leadership to
// another ISR member and drop it from the ISR. It stays offline until a restart reopens and recovers the log.
// Records never pass through this machine: it sees batch-level facts only (the high watermark moved).
import { assign, setup, fromPromise } from 'xstate';

export interface Assignment {
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
}

export interface PartitionReplicaContext {
  topic: string;
  partition: number;
  brokerId: number;
  leader: number;
  leaderEpoch: number;
  isr: number[];
  replicas: number[];
  highWatermark: number;
  logEndOffset: number;
  error: string | null;
}

export type PartitionReplicaEvent =
  | ({ type: 'ASSIGNMENT' } & Assignment)
  | { type: 'HIGH_WATERMARK'; highWatermark: number; logEndOffset: number }
  | { type: 'LOG_FAILED'; error: string }
  | { type: 'STOP' }
  | { type: 'DELETE' };

export interface RecoveredLog {
  logEndOffset: number;
  highWatermark: number;
}

export interface PartitionReplicaInput {
  topic: string;
  partition: number;
  brokerId: number;
  assignment: Assignment;
}

export const partitionReplicaMachine = setup({
  types: {
    context: {} as PartitionReplicaContext,
    events: {} as PartitionReplicaEvent,
    input: {} as PartitionReplicaInput,
  },
  actors: {
    recoverLog: fromPromise<RecoveredLog, { topic: string; partition: number }>(async () => {
      throw new Error('recoverLog must be provided');
    }),
    closeLog: fromPromise<void, { topic: string; partition: number }>(async () => {}),
    deleteLog: fromPromise<void, { topic: string; partition: number }>(async () => {}),
  },
  actions: {
    startLeading: () => {},
    stopLeading: () => {},
    startFollowing: () => {},
    stopFollowing: () => {},
    reportFailure: (_, _params: { error: string; when: 'recovery' | 'run' }) => {},
    reportOffline: () => {},
  },
  guards: {
    isCurrentOrNewer: ({ context, event }) => event.type === 'ASSIGNMENT' && event.leaderEpoch >= context.leaderEpoch,
    leadsNewEpoch: ({ context, event }) =>
      event.type === 'ASSIGNMENT' && event.leaderEpoch > context.leaderEpoch && event.leader === context.brokerId,
    followsNewEpoch: ({ context, event }) =>
      event.type === 'ASSIGNMENT' && event.leaderEpoch > context.leaderEpoch && event.leader !== context.brokerId,
    isLeaderSelf: ({ context }) => context.leader === context.brokerId,
  },
}).createMachine({
  id: 'partitionReplica',
  context: ({ input }) => ({
    topic: input.topic,
    partition: input.partition,
    brokerId: input.brokerId,
    leader: input.assignment.leader,
    leaderEpoch: input.assignment.leaderEpoch,
    isr: input.assignment.isr,
    replicas: input.assignment.replicas,
    highWatermark: 0,
    logEndOffset: 0,
    error: null,
  }),
  on: {
    STOP: '.stopping',
    DELETE: '.deleting',
  },
  initial: 'recovering',
  states: {
    recovering: {
      invoke: {
        src: 'recoverLog',
        input: ({ context }) => ({ topic: context.topic, partition: context.partition }),
        onDone: {
          target: 'deciding',
          actions: assign({
            logEndOffset: ({ event }) => event.output.logEndOffset,
            highWatermark: ({ event }) => event.output.highWatermark,
          }),
        },
        onError: {
          target: 'offline',
          actions: [
            assign({ error: ({ event }) => String((event.error as Error)?.message ?? event.error) }),
            { type: 'reportFailure', params: ({ event }) => ({ error: String((event.error as Error)?.message ?? event.error), when: 'recovery' as const }) },
          ],
        },
      },
      on: {
        // Remember the newest assignment while the log is still being recovered.
        ASSIGNMENT: {
          guard: 'isCurrentOrNewer',
          actions: assign(({ event }) => ({ leader: event.leader, leaderEpoch: event.leaderEpoch, isr: event.isr, replicas: event.replicas })),
        },
      },
    },
    deciding: {
      always: [{ guard: 'isLeaderSelf', target: 'leader' }, { target: 'follower' }],
    },
    leader: {
      entry: 'startLeading',
      exit: 'stopLeading',
      on: {
        ASSIGNMENT: [
          {
            guard: 'followsNewEpoch',
            target: 'follower',
            actions: assign(({ event }) => ({ leader: event.leader, leaderEpoch: event.leaderEpoch, isr: event.isr, replicas: event.replicas })),
          },
          {
            // A new epoch for this leader (re-election) restarts leadership so the epoch cache records it.
            guard: 'leadsNewEpoch',
            target: 'leader',
            reenter: true,
            actions: assign(({ event }) => ({ leaderEpoch: event.leaderEpoch, isr: event.isr, replicas: event.replicas })),
          },
          {
            guard: 'isCurrentOrNewer',
            actions: assign(({ event }) => ({ isr: event.isr, replicas: event.replicas })),
          },
        ],
        LOG_FAILED: {
          target: 'offline',
          actions: [assign({ error: ({ event }) => event.error }), { type: 'reportFailure', params: ({ event }) => ({ error: event.error, when: 'run' as const }) }],
        },
        HIGH_WATERMARK: {
          actions: assign(({ event }) => ({ highWatermark: event.highWatermark, logEndOffset: event.logEndOffset })),
        },
      },
    },
    follower: {
      entry: 'startFollowing',
      exit: 'stopFollowing',
      on: {
        ASSIGNMENT: [
          {
            guard: 'leadsNewEpoch',
            target: 'leader',
            actions: assign(({ event }) => ({ leader: event.leader, leaderEpoch: event.leaderEpoch, isr: event.isr, replicas: event.replicas })),
          },
          {
            guard: 'followsNewEpoch',
            target: 'follower',
            reenter: true,
            actions: assign(({ event }) => ({ leader: event.leader, leaderEpoch: event.leaderEpoch, isr: event.isr, replicas: event.replicas })),
          },
          {
            guard: 'isCurrentOrNewer',
            actions: assign(({ event }) => ({ isr: event.isr, replicas: event.replicas })),
          },
        ],
        LOG_FAILED: {
          target: 'offline',
          actions: [assign({ error: ({ event }) => event.error }), { type: 'reportFailure', params: ({ event }) => ({ error: event.error, when: 'run' as const }) }],
        },
        HIGH_WATERMARK: {
          actions: assign(({ event }) => ({ highWatermark: event.highWatermark, logEndOffset: event.logEndOffset })),
        },
      },
    },
    offline: {
      // A log that cannot be recovered, or failed at run time, stays offline (Kafka marks the log dir
      // offline); the data is kept for the restart that recovers it. Assignments are still followed in the
      // context, for the dashboard and for what a restart finds.
      entry: 'reportOffline',
      on: {
        ASSIGNMENT: {
          guard: 'isCurrentOrNewer',
          actions: assign(({ event }) => ({ leader: event.leader, leaderEpoch: event.leaderEpoch, isr: event.isr, replicas: event.replicas })),
        },
      },
    },
    stopping: {
      invoke: {
        src: 'closeLog',
        input: ({ context }) => ({ topic: context.topic, partition: context.partition }),
        onDone: 'stopped',
        onError: 'stopped',
      },
      on: { STOP: {}, DELETE: {} },
    },
    stopped: { type: 'final' },
    deleting: {
      invoke: {
        src: 'deleteLog',
        input: ({ context }) => ({ topic: context.topic, partition: context.partition }),
        onDone: 'deleted',
        onError: 'deleted',
      },
      on: { STOP: {}, DELETE: {} },
    },
    deleted: { type: 'final' },
  },
});
