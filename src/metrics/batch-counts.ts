// Counting records and bytes of a RecordBatch v2 buffer from the batch headers alone: one read of the
// records-count field per batch, never a walk over the records, so metrics cost the data path nothing that
// grows with the number of records (DESIGN.md "Actors and machines": batches, not records).
import { BATCH_LENGTH_OFFSET, BATCH_OVERHEAD, RECORDS_COUNT_OFFSET, BATCH_HEADER_SIZE } from '../protocol/record-batch-layout.ts';

/** Records in the whole batches of `buf` (a trailing partial batch is not counted). */
export function countRecords(buf: Buffer | null | undefined): number {
  if (!buf) return 0;
  let records = 0;
  let pos = 0;
  while (pos + BATCH_HEADER_SIZE <= buf.length) {
    const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
    const end = pos + BATCH_OVERHEAD + batchLength;
    if (batchLength <= 0 || end > buf.length) break;
    records += Math.max(0, buf.readInt32BE(pos + RECORDS_COUNT_OFFSET));
    pos = end;
  }
  return records;
}
