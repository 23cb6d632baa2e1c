// A partition replica's producer-state snapshot (Kafka's `<offset>.snapshot`, ProducerStateManager): the whole
// ProducerStateTable as it stood once every batch below an offset had been applied, so a restart (or a follower
// truncation) rebuilds the table from the snapshot and the batches after it instead of reading the whole log.
// The log keeps the file and its offset (PartitionLog.writeProducerSnapshot: never past the synced log, dropped
// by a truncation below it); this module turns a table into the file's lines and back, one line per item:
//
//   p <producerId> <epoch> <coordinatorEpoch> <lastTimestamp> [<firstSeq>,<lastSeq>,<firstOffset>,<lastOffset>,<timestamp> ...]
//   o <producerId> <firstOffset>                      an open transaction (earliest first)
//   u <firstOffset> <lastOffset>                      a transaction whose marker the high watermark has not passed
//   m <producerId> <count>                            markers applied for the producer
//   a <producerId> <firstOffset> <lastOffset> <lastStableOffset>   an aborted transaction
//
// An empty table is no lines at all: for a log of plain producers the snapshot is the offset alone. Pure.
import { CheckpointFormatError } from '../log/errors.ts';
import { ProducerStateTable, type BatchMetadata, type ProducerTableState } from './producer-state.ts';

/** The snapshot lines of a table. */
export function encodeProducerState(table: ProducerStateTable): string[] {
  const s = table.state();
  const lines: string[] = [];
  for (const e of s.producers) {
    const batches = e.batches.map((b) => `${b.firstSeq},${b.lastSeq},${b.firstOffset},${b.lastOffset},${b.timestamp}`);
    lines.push(['p', e.producerId, e.epoch, e.coordinatorEpoch, e.lastTimestamp, ...batches].join(' '));
  }
  for (const [producerId, firstOffset] of s.ongoing) lines.push(`o ${producerId} ${firstOffset}`);
  for (const t of s.unreplicated) lines.push(`u ${t.firstOffset} ${t.lastOffset}`);
  for (const [producerId, count] of s.markers) lines.push(`m ${producerId} ${count}`);
  for (const a of s.aborted) lines.push(`a ${a.producerId} ${a.firstOffset} ${a.lastOffset} ${a.lastStableOffset}`);
  return lines;
}

/**
 * The table the lines describe, with every batch below `nextOffset` counted as applied. Throws
 * CheckpointFormatError (naming `path`) on a line it cannot read: the caller rebuilds from the log instead.
 */
export function decodeProducerState(path: string, lines: readonly string[], nextOffset: number): ProducerStateTable {
  const s: ProducerTableState = { producers: [], ongoing: [], unreplicated: [], markers: [], aborted: [] };
  const bad = (line: string, why: string) => new CheckpointFormatError(path, `${why} in line ${JSON.stringify(line)}`);
  for (const line of lines) {
    const [tag, ...fields] = line.split(' ');
    const ints = (parts: readonly string[], n: number): number[] => {
      const v = parts.map(Number);
      if (v.length !== n || !v.every(Number.isSafeInteger)) throw bad(line, `${n} integers expected`);
      return v;
    };
    switch (tag) {
      case 'p': {
        const [producerId, epoch, coordinatorEpoch, lastTimestamp] = ints(fields.slice(0, 4), 4) as [number, number, number, number];
        const batches: BatchMetadata[] = fields.slice(4).map((b) => {
          const [firstSeq, lastSeq, firstOffset, lastOffset, timestamp] = ints(b.split(','), 5) as [number, number, number, number, number];
          return { firstSeq, lastSeq, firstOffset, lastOffset, timestamp };
        });
        s.producers.push({ producerId, epoch, coordinatorEpoch, lastTimestamp, batches });
        break;
      }
      case 'o':
        s.ongoing.push(ints(fields, 2) as [number, number]);
        break;
      case 'u': {
        const [firstOffset, lastOffset] = ints(fields, 2) as [number, number];
        s.unreplicated.push({ firstOffset, lastOffset });
        break;
      }
      case 'm':
        s.markers.push(ints(fields, 2) as [number, number]);
        break;
      case 'a': {
        const [producerId, firstOffset, lastOffset, lastStableOffset] = ints(fields, 4) as [number, number, number, number];
        s.aborted.push({ producerId, firstOffset, lastOffset, lastStableOffset });
        break;
      }
      default:
        throw bad(line, `unknown item ${JSON.stringify(tag)}`);
    }
  }
  try {
    return ProducerStateTable.fromState(s, nextOffset);
  } catch (e) {
    // The aborted transactions out of marker order.
    throw new CheckpointFormatError(path, (e as Error).message);
  }
}
