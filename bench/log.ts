// Partition log throughput against the raw file system, measured in the same run so the ratio holds on a
// noisy machine:
//   append-interval  sequential appends of 16 KiB batches (100-byte records), flush 'interval', one final flush;
//                    raw = the same bytes in the same chunks written to a plain file, one final fsync.
//   append-always    flush 'always' with several concurrent appenders (group commit);
//                    raw = the same chunks written sequentially with an fsync after each.
//   read-sequential  the whole interval log read from offset 0 in 1 MiB fetches; raw = 1 MiB reads of the same
//                    segment file into one reused buffer (also reported: a fresh buffer per read, as a fetch needs).
//
//   npx tsx bench/run.ts log [--mb 200] [--always-mb 16] [--appenders 8] [--batch-kib 16] [--record-bytes 100] [--rounds 3]
//
// Data lives under os.tmpdir() and is removed afterwards. One JSON line per case on stdout.
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PartitionLog } from '../src/log/partition-log.ts';
import { NodeStorage } from '../src/runtime/node/node-storage.ts';
import { buildRecordBatch } from '../src/protocol/record-batch-builder.ts';
import { nodeClock } from '../src/runtime/node/node-clock.ts';

interface Args {
  mb: number;
  alwaysMb: number;
  appenders: number;
  batchKib: number;
  recordBytes: number;
  rounds: number;
}

function parseArgs(args: string[]): Args {
  return parseNumberFlags(args, { mb: 200, alwaysMb: 16, appenders: 8, batchKib: 16, recordBytes: 100, rounds: 3 }, {
    '--mb': 'mb', '--always-mb': 'alwaysMb', '--appenders': 'appenders', '--batch-kib': 'batchKib', '--record-bytes': 'recordBytes', '--rounds': 'rounds',
  });
}

/** `--flag N` pairs over defaults: every flag named in `flags`, every value a positive number. */
export function parseNumberFlags<T extends Record<string, number>>(args: string[], defaults: T, flags: Record<string, keyof T>): T {
  const out = { ...defaults };
  for (let i = 0; i < args.length; i++) {
    const key = flags[args[i]!];
    const v = Number(args[i + 1]);
    if (!key || !(v > 0)) throw new Error(`bad argument ${args[i]} ${args[i + 1]}`);
    out[key] = v as T[keyof T];
    i++;
  }
  return out;
}

/** Distinct 16 KiB-ish batches of 100-byte records, built once (the bench measures the log, not the builder). */
function makeBatches(a: Args, count: number): { batches: Buffer[]; recordsPerBatch: number } {
  const perRecord = a.recordBytes + 10; // value + record framing (length, attributes, deltas, key, headers)
  const recordsPerBatch = Math.max(1, Math.floor((a.batchKib * 1024 - 61) / perRecord));
  const batches = Array.from({ length: count }, (_, b) =>
    buildRecordBatch({
      timestamp: 1_700_000_000_000 + b,
      records: Array.from({ length: recordsPerBatch }, (_, i) => ({ value: Buffer.alloc(a.recordBytes, (b + i) & 0xff) })),
    }),
  );
  return { batches, recordsPerBatch };
}

const MB = 1024 * 1024;
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

async function rawWrite(path: string, chunks: Buffer[], total: number, syncEach: boolean): Promise<number> {
  const fh = await open(path, 'w');
  const t0 = performance.now();
  let pos = 0;
  for (let i = 0; pos < total; i++) {
    const c = chunks[i % chunks.length]!;
    await fh.write(c, 0, c.length, pos);
    pos += c.length;
    if (syncEach) await fh.sync();
  }
  await fh.sync();
  const ms = performance.now() - t0;
  await fh.close();
  return ms;
}

/** Reads a file in 1 MiB chunks into one reused buffer, or (fresh) a new buffer per read as a fetch needs. */
async function rawRead(path: string, total: number, fresh: boolean): Promise<number> {
  const fh = await open(path, 'r');
  const reused = Buffer.allocUnsafe(MB);
  const t0 = performance.now();
  let pos = 0;
  while (pos < total) {
    const buf = fresh ? Buffer.allocUnsafe(MB) : reused;
    const { bytesRead } = await fh.read(buf, 0, MB, pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
  }
  const ms = performance.now() - t0;
  await fh.close();
  return ms;
}

function line(o: object): void {
  process.stdout.write(JSON.stringify({ bench: 'log', ...o }) + '\n');
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

export async function run(args: string[]): Promise<void> {
  const a = parseArgs(args);
  const root = await mkdtemp(join(tmpdir(), 'kastor-bench-log-'));
  const storage = new NodeStorage();
  try {
    const { batches, recordsPerBatch } = makeBatches(a, 64);
    const batchBytes = batches[0]!.length;

    // append-interval and read-sequential: raw and log alternate over `rounds` so drift hits both alike.
    const n = Math.ceil((a.mb * MB) / batchBytes);
    const total = n * batchBytes;
    const rawW: number[] = [];
    const logW: number[] = [];
    const rawR: number[] = [];
    const rawFreshR: number[] = [];
    const logR: number[] = [];
    for (let round = 0; round < a.rounds; round++) {
      rawW.push(await rawWrite(join(root, 'raw-interval'), batches, total, false));
      await rm(join(root, 'raw-interval'), { force: true });
      const dir = join(root, `interval-${round}`);
      const log = await PartitionLog.open({ clock: nodeClock, dir, storage, config: { flush: 'interval' } });
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await log.append(batches[i % batches.length]!, 0);
      await log.flush();
      logW.push(performance.now() - t0);

      // Reads of the same segment file, page cache warm for all three.
      const segmentFile = join(dir, '00000000000000000000.log');
      rawR.push(await rawRead(segmentFile, total, false));
      rawFreshR.push(await rawRead(segmentFile, total, true));
      const r0 = performance.now();
      let offset = log.logStartOffset;
      let readBytes = 0;
      while (offset < log.logEndOffset) {
        const r = await log.read(offset, MB);
        readBytes += r.data.length;
        offset = r.nextOffset;
      }
      logR.push(performance.now() - r0);
      if (readBytes !== total) throw new Error(`read ${readBytes} of ${total} bytes`);
      await log.delete();
    }
    const mbps = (ms: number, bytes = total) => bytes / MB / (ms / 1000);
    line({
      case: 'append-interval', rounds: a.rounds, batches: n, batch_bytes: batchBytes,
      records_per_s: Math.round((n * recordsPerBatch) / (median(logW) / 1000)),
      mb_per_s: round(mbps(median(logW))), raw_mb_per_s: round(mbps(median(rawW))), vs_raw: round(median(rawW) / median(logW), 3),
    });
    line({
      case: 'read-sequential', rounds: a.rounds, fetch_bytes: MB,
      records_per_s: Math.round((n * recordsPerBatch) / (median(logR) / 1000)),
      mb_per_s: round(mbps(median(logR))), raw_mb_per_s: round(mbps(median(rawR))), vs_raw: round(median(rawR) / median(logR), 3),
      raw_fresh_buffer_mb_per_s: round(mbps(median(rawFreshR))), vs_raw_fresh_buffer: round(median(rawFreshR) / median(logR), 3),
    });

    // append-always with concurrent appenders (group commit) vs fsync after every raw write
    const m = Math.ceil((a.alwaysMb * MB) / batchBytes);
    const totalAlways = m * batchBytes;
    const rawAlwaysMs = await rawWrite(join(root, 'raw-always'), batches, totalAlways, true);
    const strict = await PartitionLog.open({ clock: nodeClock, dir: join(root, 'always-0'), storage, config: { flush: 'always' } });
    // Each appender owns its buffers: a batch is rewritten in place while its append is in flight.
    const own = Array.from({ length: a.appenders }, (_, w) => batches.slice((w * 4) % 64, ((w * 4) % 64) + 4).map((b) => Buffer.from(b)));
    let next = 0;
    const latencies: number[] = [];
    const s0 = performance.now();
    await Promise.all(
      own.map(async (mine) => {
        for (let k = 0; next < m; k++) {
          next++;
          const t = performance.now();
          await strict.append(mine[k % mine.length]!, 0);
          latencies.push(performance.now() - t);
        }
      }),
    );
    const alwaysMs = performance.now() - s0;
    latencies.sort((x, y) => x - y);
    line({
      case: 'append-always', appenders: a.appenders, batches: m, records_per_s: Math.round((m * recordsPerBatch) / (alwaysMs / 1000)),
      mb_per_s: round(mbps(alwaysMs, totalAlways)), raw_mb_per_s: round(mbps(rawAlwaysMs, totalAlways)), vs_raw: round(rawAlwaysMs / alwaysMs, 3),
      raw_note: 'raw = sequential write + fsync per chunk', p50_ms: round(latencies[Math.floor(latencies.length * 0.5)]!, 3),
      p99_ms: round(latencies[Math.floor(latencies.length * 0.99)]!, 3),
    });
    await strict.delete();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
