// Reading a sealed segment's batches for the log cleaner: every batch in order, in 1 MiB chunks with the next
// read in flight (forEachSegmentBatch), and the headers of a segment's batches kept as a few numbers each
// (BatchRefs), so a later pass can read only the batches it needs.

import type { Segment } from './segment.ts';
import { isControlBatch, isFilterable } from './batch-filter.ts';
import { BATCH_HEADER_SIZE, BATCH_LENGTH_OFFSET, BATCH_OVERHEAD, readBatchHeader, type BatchHeader } from '../protocol/record-batch-layout.ts';

export const READ_CHUNK = 1 << 20;

/**
 * Every whole batch of a segment, read in chunks; fn gets the chunk and the batch's position in it, and
 * afterChunk (awaited) runs once a chunk's batches are done. Returns the bytes read.
 */
export async function forEachSegmentBatch(
  seg: Segment,
  fn: (chunk: Buffer, pos: number, header: BatchHeader, filePos: number) => void,
  afterChunk?: () => Promise<void>,
): Promise<number> {
  // The next chunk is read while this one is processed. A batch cut at a chunk's end is carried over and
  // completed from the head of the next chunk (only its own bytes are copied).
  const size = seg.size;
  let filePos = 0;
  let next: Promise<Buffer> | null = size > 0 ? seg.log.read(0, Math.min(READ_CHUNK, size)) : null;
  let carry: Buffer | null = null;
  while (next) {
    let data = await next;
    if (data.length === 0) break;
    let dataPos = filePos;
    filePos += data.length;
    next = filePos < size ? seg.log.read(filePos, Math.min(READ_CHUNK, size - filePos)) : null;
    while (carry && data.length > 0) {
      const whole = carry.length >= BATCH_HEADER_SIZE;
      const need = (whole ? carry.readInt32BE(BATCH_LENGTH_OFFSET) + BATCH_OVERHEAD : BATCH_HEADER_SIZE) - carry.length;
      const take = Math.min(need, data.length);
      carry = Buffer.concat([carry, data.subarray(0, take)]);
      data = data.subarray(take);
      dataPos += take;
      if (whole && take === need) {
        fn(carry, 0, readBatchHeader(carry, 0), dataPos - carry.length);
        carry = null;
      }
    }
    let p = 0;
    while (data.length - p >= BATCH_HEADER_SIZE) {
      const batchSize = data.readInt32BE(p + BATCH_LENGTH_OFFSET) + BATCH_OVERHEAD;
      if (batchSize > data.length - p) break;
      fn(data, p, readBatchHeader(data, p), dataPos + p);
      p += batchSize;
    }
    if (p < data.length) carry = carry ? Buffer.concat([carry, data.subarray(p)]) : data.subarray(p);
    await afterChunk?.();
  }
  await next?.catch(() => {});
  return filePos;
}

/**
 * The headers of a segment's batches, as struct-of-arrays (a few numbers per batch): what the rewrite needs to
 * decide which batches to read at all.
 */
export class BatchRefs {
  readonly pos: number[] = [];
  readonly size: number[] = [];
  readonly base: number[] = [];
  readonly last: number[] = [];
  readonly count: number[] = [];
  readonly producerId: number[] = [];
  /** Control batches, batches naming no codec and empty ones are always read (the filter decides). */
  private readonly always: boolean[] = [];

  get length(): number {
    return this.pos.length;
  }

  add(filePos: number, h: BatchHeader): void {
    this.pos.push(filePos);
    this.size.push(h.batchLength + BATCH_OVERHEAD);
    this.base.push(h.baseOffset);
    this.last.push(h.baseOffset + h.lastOffsetDelta);
    this.count.push(h.recordsCount);
    this.producerId.push(h.producerId);
    this.always.push(isControlBatch(h.attributes) || !isFilterable(h.attributes) || h.recordsCount === 0);
  }

  mustRead(i: number): boolean {
    return this.always[i]!;
  }
}
