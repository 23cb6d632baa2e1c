// ListOffsets with timestamp -3 (KIP-734): the offset and timestamp of the record with the largest timestamp
// below the high watermark. Kafka keeps this in memory per segment; Kastor scans batch headers (the records of
// one batch only are decoded), which is fine for an admin query and costs nothing on the data path.
import type { PartitionLog } from '../log/partition-log.ts';
import { readBatchHeader, readRecords, BATCH_OVERHEAD } from '../protocol/record-batch.ts';

const CHUNK_BYTES = 1024 * 1024;

export async function maxTimestampOffset(log: PartitionLog, highWatermark: number): Promise<{ offset: number; timestamp: number } | null> {
  let best: { batch: Buffer; maxTimestamp: number } | null = null;
  let offset = log.logStartOffset;
  while (offset < highWatermark) {
    const { data, nextOffset } = await log.read(offset, CHUNK_BYTES, highWatermark);
    if (data.length === 0 || nextOffset <= offset) break;
    for (let pos = 0; pos + BATCH_OVERHEAD <= data.length; ) {
      const h = readBatchHeader(data, pos);
      const size = h.batchLength + BATCH_OVERHEAD;
      if (pos + size > data.length) break;
      if (!best || h.maxTimestamp > best.maxTimestamp) best = { batch: Buffer.from(data.subarray(pos, pos + size)), maxTimestamp: h.maxTimestamp };
      pos += size;
    }
    offset = nextOffset;
  }
  if (!best) return null;
  const record = readRecords(best.batch).find((r) => r.timestamp === best.maxTimestamp);
  return record ? { offset: record.offset, timestamp: record.timestamp } : null;
}
