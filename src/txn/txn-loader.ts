// Loading a __transaction_state partition when this broker becomes its leader (Kafka's
// TransactionStateManager.loadTransactionsForTxnTopicPartition): the whole log, the latest record per
// transactional id, a tombstone removing it. Whole batches through the partition log, never actor events.
import type { PartitionLog } from '../log/partition-log.ts';
import { forEachBatch, readRecords } from '../protocol/record-batch.ts';
import { decodeTxn, decodeTxnKey } from './txn-log-format.ts';
import type { TxnMetadata } from './txn-metadata.ts';

const READ_BYTES = 1 << 20;

export interface LoadedTxns {
  txns: Map<string, TxnMetadata>;
  /** Records that could not be decoded (skipped, reported by the caller). */
  skipped: number;
}

export async function loadTxnPartition(log: PartitionLog, upTo: number = log.logEndOffset): Promise<LoadedTxns> {
  const out: LoadedTxns = { txns: new Map(), skipped: 0 };
  let offset = log.logStartOffset;
  while (offset < upTo) {
    const { data, nextOffset } = await log.read(offset, READ_BYTES, upTo);
    if (data.length === 0 || nextOffset <= offset) break;
    forEachBatch(data, (pos) => {
      for (const r of readRecords(data, pos)) {
        if (r.offset < offset || r.offset >= upTo || !r.key) continue;
        try {
          const id = decodeTxnKey(r.key);
          if (id === null) out.skipped++;
          else if (r.value === null) out.txns.delete(id);
          else {
            const m = decodeTxn(id, r.value);
            if (m) out.txns.set(id, m);
            else out.skipped++;
          }
        } catch {
          out.skipped++;
        }
      }
    });
    offset = nextOffset;
  }
  return out;
}
