// ListTransactions' filters (KIP-664), as Kafka's TransactionStateManager.listTransactionStates applies them: a
// transaction is listed when it is not Dead, its producer id is among producerIdFilters (if any), its state among
// stateFilters (if any; names match exactly, as Kafka's TransactionState.fromName, and a name it does not know
// is returned in unknownStateFilters and matches nothing), and, with v1's durationFilter >= 0, it has been
// running longer than that many milliseconds. Kafka compares against the start timestamp whatever the state,
// so its -1 (no transaction open) counts as running since 1970; here only an open transaction is running.
// The dashboard's list (txnSummaries) is the same view of a coordinator's transactions, shaped for the status a
// broker publishes. Pure: the caller passes the clock's now.
import { TXN_STATES, type TxnMetadata, type TxnState } from './txn-metadata.ts';

export interface TxnListingFilters {
  stateFilters: string[];
  producerIdFilters: Array<bigint | number>;
  /** Milliseconds; < 0 (or absent): no duration filter. */
  durationFilter?: bigint | number;
}

export interface TxnListingFilter {
  unknownStateFilters: string[];
  includes(m: TxnMetadata): boolean;
}

export function txnListingFilter(f: TxnListingFilters, now: number): TxnListingFilter {
  const known = new Set<string>(TXN_STATES);
  const states = new Set<TxnState>();
  const unknownStateFilters: string[] = [];
  for (const name of f.stateFilters) {
    if (known.has(name)) states.add(name as TxnState);
    else unknownStateFilters.push(name);
  }
  const producerIds = new Set(f.producerIdFilters.map((id) => Number(id)));
  const duration = f.durationFilter === undefined ? -1 : Number(f.durationFilter);
  return {
    unknownStateFilters,
    includes(m) {
      if (m.state === 'Dead') return false;
      if (producerIds.size > 0 && !producerIds.has(m.producerId)) return false;
      if (f.stateFilters.length > 0 && !states.has(m.state)) return false;
      if (duration >= 0 && (m.startTimestamp < 0 || now - m.startTimestamp <= duration)) return false;
      return true;
    },
  };
}

/** States in which a transaction is open: its partitions' last stable offsets wait for its markers. */
export const OPEN_TXN_STATES: readonly TxnState[] = ['Ongoing', 'PrepareCommit', 'PrepareAbort', 'PrepareEpochFence'];

/** One transactional id as a broker's status tells the dashboard (src/dashboard/broker-status.ts). */
export interface TxnSummary {
  transactionalId: string;
  state: TxnState;
  producerId: number;
  producerEpoch: number;
  timeoutMs: number;
  partitions: Array<{ topic: string; partition: number }>;
  /** How long the open transaction has been running at `now` (its timeout counts from its start); null when none is open. */
  runningMs: number | null;
}

/**
 * The transactions a coordinator holds, for the dashboard: Dead ones left out, open ones first (longest running
 * first), then the others by id, at most `limit` of them (a status is published every second); `omitted` counts
 * the rest.
 */
export function txnSummaries(txns: Iterable<TxnMetadata>, now: number, limit: number): { transactions: TxnSummary[]; omitted: number } {
  const all: TxnSummary[] = [];
  for (const m of txns) {
    if (m.state === 'Dead') continue;
    const open = OPEN_TXN_STATES.includes(m.state) && m.startTimestamp >= 0;
    all.push({
      transactionalId: m.transactionalId,
      state: m.state,
      producerId: m.producerId,
      producerEpoch: m.producerEpoch,
      timeoutMs: m.timeoutMs,
      partitions: Object.entries(m.partitions).flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition }))),
      runningMs: open ? Math.max(0, now - m.startTimestamp) : null,
    });
  }
  all.sort((a, b) => (b.runningMs ?? -1) - (a.runningMs ?? -1) || a.transactionalId.localeCompare(b.transactionalId));
  return { transactions: all.slice(0, limit), omitted: Math.max(0, all.length - limit) };
}
