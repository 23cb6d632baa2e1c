// ListTransactions' filters (KIP-664), as Kafka's TransactionStateManager.listTransactionStates applies them: a
// transaction is listed when it is not Dead, its producer id is among producerIdFilters (if any), its state among
// stateFilters (if any; names match exactly, as Kafka's TransactionState.fromName, and a name it does not know
// is returned in unknownStateFilters and matches nothing), and, with v1's durationFilter >= 0, it has been
// running longer than that many milliseconds. Kafka compares against the start timestamp whatever the state,
// so its -1 (no transaction open) counts as running since 1970; here only an open transaction is running.
// Pure: the caller passes the clock's now.
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
