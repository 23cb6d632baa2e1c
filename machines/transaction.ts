// One transactional id at its coordinator: Kafka's transaction states (TransactionState.scala) as a statechart.
// The machine holds the metadata the coordinator last *wrote*: a request is decided by the pure rules of
// src/txn/txn-metadata.ts, the next metadata written to __transaction_state with acks=all by the shard
// (src/txn/txn-shard.ts), and only then handed to the machine as WRITTEN — so its state is always what a new
// coordinator rebuilds from the log. WRITTEN is accepted only along Kafka's validPreviousStates: the shard asks
// the snapshot's `can` before it writes, so an illegal transition never reaches the log.
//
// The machine's effects, provided by the shard: entering PrepareCommit or PrepareAbort has the markers written
// (`writeMarkers`, which ends in WRITTEN Complete*); an Ongoing transaction still open transaction.timeout.ms
// after it began is aborted and its producer fenced (`abortTimedOut`); an id left in Empty, CompleteCommit or
// CompleteAbort for transactional.id.expiration.ms is removed (`expireId`, a tombstone, then Dead). Delays run on
// the actor's clock (the runtime's; a SimulatedClock in tests) from the wall time of the last write, so a
// transaction loaded by a new coordinator keeps the deadline it had.
//
// Kafka's PrepareEpochFence is here for its place in the table; Kastor writes a fence as PrepareAbort at the
// bumped epoch in one record (txn-metadata.ts), so no write enters it.
import { setup, assign } from 'xstate';
import type { TxnMetadata, TxnState } from '../src/txn/txn-metadata.ts';

export interface TxnMachineInput {
  txn: TxnMetadata;
  /** The wall time `txn` was written or loaded at: the base of the delays. */
  now: number;
  /** transactional.id.expiration.ms */
  idExpirationMs: number;
}

export interface TxnMachineContext extends TxnMachineInput {}

export type TxnMachineEvent = { type: 'WRITTEN'; txn: TxnMetadata; now: number };

const txnSetup = setup({
  types: {
    context: {} as TxnMachineContext,
    events: {} as TxnMachineEvent,
    input: {} as TxnMachineInput,
  },
  actions: {
    adopt: assign(({ event }) => ({ txn: event.txn, now: event.now })),
    writeMarkers: (_, _params: { txn: TxnMetadata }) => {},
    abortTimedOut: (_, _params: { txn: TxnMetadata }) => {},
    expireId: (_, _params: { txn: TxnMetadata }) => {},
  },
  guards: {
    loadedIn: ({ context }, params: { state: TxnState }) => context.txn.state === params.state,
    writes: ({ event }, params: { state: TxnState }) => event.txn.state === params.state,
  },
  delays: {
    transactionTimeout: ({ context }) => Math.max(0, context.txn.startTimestamp + context.txn.timeoutMs - context.now),
    idExpiration: ({ context }) => Math.max(0, context.txn.updateTimestamp + context.idExpirationMs - context.now),
  },
});

const current = ({ context }: { context: TxnMachineContext }) => ({ txn: context.txn });

/** WRITTEN moving to each of `targets`; a write that keeps the state re-enters it when `reenter` (its timers restart). */
function written(from: TxnState, targets: TxnState[], reenter: boolean) {
  return targets.map((state) => ({ guard: { type: 'writes' as const, params: { state } }, target: state, reenter: state === from ? reenter : true, actions: 'adopt' as const }));
}

/** A finished state: the id may start again (Empty by InitProducerId, Ongoing by AddPartitions) or expire. */
const finished = (state: TxnState) => ({
  after: { idExpiration: { actions: { type: 'expireId' as const, params: current } } },
  on: { WRITTEN: written(state, ['Empty', 'Ongoing', 'Dead'], true) },
});

export const transactionMachine = txnSetup.createMachine({
  id: 'transaction',
  context: ({ input }) => ({ ...input }),
  initial: 'Loading',
  states: {
    // A new id, or one read back from __transaction_state: it resumes where its last record left it (a
    // prepared transaction's markers are written again: they are idempotent at the partitions).
    Loading: {
      always: (['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'PrepareEpochFence', 'Dead'] as const).map((state) => ({
        guard: { type: 'loadedIn' as const, params: { state } },
        target: state,
      })),
    },
    Empty: finished('Empty'),
    Ongoing: {
      // Adding partitions keeps the transaction's start, so its timer is not restarted.
      after: { transactionTimeout: { actions: { type: 'abortTimedOut', params: current } } },
      on: { WRITTEN: written('Ongoing', ['Ongoing', 'PrepareCommit', 'PrepareAbort', 'PrepareEpochFence'], false) },
    },
    PrepareCommit: {
      entry: { type: 'writeMarkers', params: current },
      on: { WRITTEN: written('PrepareCommit', ['CompleteCommit'], false) },
    },
    PrepareAbort: {
      entry: { type: 'writeMarkers', params: current },
      on: { WRITTEN: written('PrepareAbort', ['CompleteAbort'], false) },
    },
    CompleteCommit: finished('CompleteCommit'),
    CompleteAbort: finished('CompleteAbort'),
    PrepareEpochFence: {
      on: { WRITTEN: written('PrepareEpochFence', ['PrepareAbort'], false) },
    },
    Dead: { type: 'final' },
  },
});

export type TransactionMachine = typeof transactionMachine;
