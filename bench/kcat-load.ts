// Load from a real Kafka client for Kastor's benchmarks: kcat (librdkafka 2.0) producing and consuming, so the
// figures are what a C client gets from the broker, not what Node can push through a pipe.
//
// Produce: the records are written once per (records, recordBytes) to a temporary file of lines (recordBytes-1
// characters and a newline, so each record's value is recordBytes-1 bytes) and sent with `kcat -P -l <file>`.
// kcat exits 1 when any delivery report failed ("Delivery failed for message", printed at its default verbosity,
// so -q is never passed to the producer) and prints "% ERROR:" for client errors: either fails the run.
// Consume: `kcat -C -o beginning -c <records> -e` printing only each value's size (`-f '%S\n'`), so Node reads ~4 bytes per
// record instead of every payload, and the run verifies both the count and the payload bytes.
//
// Time is measured from spawn to exit, so it includes librdkafka's start and metadata round trip (a few ms).
// MB = 10^6 bytes of record values, as in bench/jetstream-peer.ts.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, writeSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export interface KcatProduceOptions {
  /** Bootstrap brokers, "host:port[,host:port...]". */
  brokers: string;
  topic: string;
  records: number;
  /** Bytes per input line including its newline; each record's value is recordBytes-1 bytes. */
  recordBytes: number;
  acks: 1 | -1 | 0;
  /** 1 pins every record to partition 0 (-p 0); otherwise librdkafka's default (sticky) partitioner spreads them. */
  partitions?: number;
  /** librdkafka linger.ms (default 5, librdkafka's own default). */
  lingerMs?: number;
  /** librdkafka batch.num.messages (default 10,000). */
  batchMessages?: number;
  /** More kcat arguments, e.g. ['-X', 'compression.codec=lz4']; placed before the input file. */
  extra?: string[];
  /** Kill kcat and fail after this long (default 300 s). */
  timeoutMs?: number;
  /** kcat binary (default $KASTOR_KCAT or "kcat"). */
  binary?: string;
}

export interface KcatConsumeOptions {
  brokers: string;
  topic: string;
  /** Read only this partition (-p); all partitions when absent. */
  partition?: number;
  /** Records expected. */
  records: number;
  /**
   * When kcat stops:
   * 'count-or-eof' (default): -c records -e — at the records-th record, or (failing the run) at the end of every
   *   partition if fewer are there. Fastest: no trailing empty long-poll; records beyond `records` go unnoticed.
   * 'eof': -e only — at the end of every partition, requiring exactly `records`; the last empty fetch waits up to
   *   fetch.wait.max.ms (librdkafka default 500 ms), which counts in the time.
   * 'count': -c records only — waits for them (for a high watermark still catching up after acks=1).
   */
  until?: 'count-or-eof' | 'eof' | 'count';
  /** When given, every value must be this many bytes (recordBytes-1 of the producing run). */
  valueBytes?: number;
  extra?: string[];
  timeoutMs?: number;
  binary?: string;
}

export interface KcatResult {
  records_per_s: number;
  mb_per_s: number;
  seconds: number;
}

const defaultBinary = () => process.env.KASTOR_KCAT ?? 'kcat';
const round = (x: number, digits = 3) => Number(x.toFixed(digits));

/** The kcat argument list for a produce run reading lines from `inputFile` (pure: tested in test/unit). */
export function kcatProduceArgs(opts: KcatProduceOptions, inputFile: string): string[] {
  if (![1, -1, 0].includes(opts.acks)) throw new Error(`kcatProduce: acks must be 1, -1 or 0, got ${opts.acks}`);
  if (!(Number.isInteger(opts.records) && opts.records > 0)) throw new Error(`kcatProduce: records must be a positive integer, got ${opts.records}`);
  // An empty line is skipped by kcat, and its line buffer is 1 MB.
  if (!(Number.isInteger(opts.recordBytes) && opts.recordBytes >= 2 && opts.recordBytes <= 1_000_000)) {
    throw new Error(`kcatProduce: recordBytes must be an integer in 2..1000000, got ${opts.recordBytes}`);
  }
  const args = ['-P', '-b', opts.brokers, '-t', opts.topic];
  if (opts.partitions === 1) args.push('-p', '0');
  args.push(
    '-X', `acks=${opts.acks}`,
    '-X', `linger.ms=${opts.lingerMs ?? 5}`,
    '-X', `batch.num.messages=${opts.batchMessages ?? 10_000}`,
    // Room for the whole run in librdkafka's queue, so kcat never sleeps on QUEUE_FULL (capped: it is memory).
    '-X', `queue.buffering.max.messages=${Math.min(Math.max(opts.records, 100_000), 10_000_000)}`,
    // Fail a record that cannot be delivered within the run's deadline instead of librdkafka's 5 minutes.
    '-X', `message.timeout.ms=${Math.max(1_000, (opts.timeoutMs ?? 300_000) - 1_000)}`,
  );
  args.push(...(opts.extra ?? []), '-l', inputFile);
  return args;
}

/** The kcat argument list for a consume run (pure). */
export function kcatConsumeArgs(opts: KcatConsumeOptions): string[] {
  const args = ['-C', '-b', opts.brokers, '-t', opts.topic];
  if (opts.partition !== undefined) args.push('-p', String(opts.partition));
  args.push('-o', 'beginning');
  const until = opts.until ?? 'count-or-eof';
  if (until !== 'eof') args.push('-c', String(opts.records));
  if (until !== 'count') args.push('-e');
  args.push('-q', '-f', '%S\\n', ...(opts.extra ?? []));
  return args;
}

/** Lines of kcat's stderr that mean the run failed: failed deliveries and client errors. */
export function kcatErrorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /Delivery failed|^% ERROR|^%\s*ERROR/.test(l));
}

// Input files are made once per shape for the life of the process and removed on exit (or by kcatCleanup).
let inputDir: string | null = null;
const inputFiles = new Map<string, string>();

/** Writes (once) a file of `records` distinct lines of recordBytes-1 printable bytes plus '\n'; returns its path. */
export function kcatInputFile(records: number, recordBytes: number): string {
  const key = `${records}x${recordBytes}`;
  const known = inputFiles.get(key);
  if (known) return known;
  if (!inputDir) {
    inputDir = mkdtempSync(join(tmpdir(), 'kastor-kcat-'));
    process.once('exit', kcatCleanup);
  }
  const path = join(inputDir, `${key}.txt`);
  const valueBytes = recordBytes - 1;
  const template = Buffer.alloc(recordBytes);
  for (let i = 0; i < valueBytes; i++) template[i] = 0x61 + ((i * 7 + 3) % 26); // a-z, no newline
  template[valueBytes] = 0x0a;
  const perChunk = Math.max(1, Math.floor((4 << 20) / recordBytes));
  const chunk = Buffer.alloc(perChunk * recordBytes);
  const fd = openSync(path, 'w');
  try {
    for (let first = 0; first < records; first += perChunk) {
      const n = Math.min(perChunk, records - first);
      for (let j = 0; j < n; j++) {
        const at = j * recordBytes;
        template.copy(chunk, at);
        // The record number in front makes every value distinct (truncated for tiny records).
        const id = String(first + j).padStart(10, '0');
        chunk.write(id.slice(-Math.min(10, valueBytes)), at, 'latin1');
      }
      writeSync(fd, chunk, 0, n * recordBytes);
    }
  } finally {
    closeSync(fd);
  }
  inputFiles.set(key, path);
  return path;
}

/** Removes the temporary input files. */
export function kcatCleanup(): void {
  if (inputDir) rmSync(inputDir, { recursive: true, force: true });
  inputDir = null;
  inputFiles.clear();
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  seconds: number;
}

function runKcat(binary: string, args: string[], timeoutMs: number, onStdout?: (chunk: Buffer) => void): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(binary, args, { stdio: ['ignore', onStdout ? 'pipe' : 'ignore', 'pipe'] });
    let stderr = '';
    let timedOut = false;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      if (stderr.length < 1 << 20) stderr += d;
    });
    if (onStdout) child.stdout!.on('data', onStdout);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`kcat could not be started (${binary}): ${err.message}. Install it with "apt-get install kcat".`, { cause: err }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const seconds = (performance.now() - t0) / 1000;
      if (timedOut) reject(new Error(`kcat ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stderr}`));
      else resolve({ code, signal, stderr, seconds });
    });
  });
}

function failIfBad(what: string, args: string[], exit: Exit): void {
  const errors = kcatErrorLines(exit.stderr);
  if (exit.code !== 0 || errors.length > 0) {
    throw new Error(
      `${what} failed (exit ${exit.code ?? exit.signal}): kcat ${args.join(' ')}\n` +
        (errors.length ? errors.slice(0, 20).join('\n') : exit.stderr.slice(0, 4000)),
    );
  }
  const rest = exit.stderr.trimEnd();
  if (rest) process.stderr.write(rest.replace(/^/gm, 'kcat: ') + '\n');
}

export async function kcatProduce(opts: KcatProduceOptions): Promise<KcatResult> {
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const file = kcatInputFile(opts.records, opts.recordBytes);
  const args = kcatProduceArgs(opts, file);
  const exit = await runKcat(opts.binary ?? defaultBinary(), args, timeoutMs);
  failIfBad('kcatProduce', args, exit);
  return {
    records_per_s: Math.round(opts.records / exit.seconds),
    mb_per_s: round((opts.records * (opts.recordBytes - 1)) / exit.seconds / 1e6, 2),
    seconds: round(exit.seconds),
  };
}

/** Parses kcat's `%S\n` output incrementally: one decimal size (or -1 for a null value) per line. */
export class SizeLineCounter {
  lines = 0;
  bytes = 0;
  wrongSize = 0;
  private current = 0;
  private negative = false;
  private inLine = false;

  constructor(private readonly expectedSize?: number) {}

  push(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (c === 0x0a) {
        const size = this.negative ? -this.current : this.current;
        this.lines++;
        if (size > 0) this.bytes += size;
        if (this.expectedSize !== undefined && size !== this.expectedSize) this.wrongSize++;
        this.current = 0;
        this.negative = false;
        this.inLine = false;
      } else if (c >= 0x30 && c <= 0x39) {
        this.current = this.current * 10 + (c - 0x30);
        this.inLine = true;
      } else if (c === 0x2d && !this.inLine) {
        this.negative = true;
        this.inLine = true;
      } else {
        throw new Error(`unexpected byte 0x${c.toString(16)} in kcat's size output`);
      }
    }
  }

  /** True when the output ended in the middle of a line. */
  get partial(): boolean {
    return this.inLine;
  }
}

export async function kcatConsume(opts: KcatConsumeOptions): Promise<KcatResult> {
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const args = kcatConsumeArgs(opts);
  const counter = new SizeLineCounter(opts.valueBytes);
  let parseError: unknown;
  const exit = await runKcat(opts.binary ?? defaultBinary(), args, timeoutMs, (chunk) => {
    try {
      counter.push(chunk);
    } catch (err) {
      parseError ??= err;
    }
  });
  failIfBad('kcatConsume', args, exit);
  if (parseError) throw parseError;
  if (counter.partial) throw new Error('kcatConsume: kcat output ended in the middle of a line');
  if (counter.lines !== opts.records) {
    throw new Error(`kcatConsume: read ${counter.lines} records from ${opts.topic}, expected ${opts.records}`);
  }
  if (counter.wrongSize > 0) {
    throw new Error(`kcatConsume: ${counter.wrongSize} records of ${opts.topic} were not ${opts.valueBytes} bytes`);
  }
  return {
    records_per_s: Math.round(counter.lines / exit.seconds),
    mb_per_s: round(counter.bytes / exit.seconds / 1e6, 2),
    seconds: round(exit.seconds),
  };
}
