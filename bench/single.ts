// One Kastor broker against its peer, NATS JetStream R1, in the same run (STYLE.md point 8): kcat (librdkafka)
// produces `records` records of `--record-bytes` value bytes with acks=1 into a 1-partition topic and reads them
// all back; then the JetStream peer publishes and consumes the same count and size on a stream of the same
// private nats-server the broker uses for its metadata (the peer at its best: pipelined publish, ordered consumer).
//
//   npx tsx bench/run.ts single [--records N] [--record-bytes B] [--window W] [--warmup N] [--offset0]
//
// One JSON line per case on stdout: "produce-acks1" (vs JetStream publish) and "consume" (vs JetStream consume),
// with `vs_jetstream` = Kastor records/s ÷ JetStream records/s and the target ratio (4x produce, 8x
// consume). Progress and the broker's log on failure go to stderr.
//
// What the Kastor figures include: kcat's start and its metadata round trips (a few ms), so small runs understate
// the rate. Not included: the topic's creation (a `kcat -L -t` auto-creates it first) and a warm-up produce to
// `bench-warmup`, which makes the broker's code hot and its NATS paths connected.
// The count is verified twice: kcat must deliver exactly `records` values of the right size, and a second kcat
// reading from offset records-1 must find that record and then the end of the partition, so extra or lost records
// fail the run. --offset0 consumes from the absolute offset 0 instead of "beginning", which skips librdkafka's
// ListOffsets round trip (the same records, one request fewer).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsServer, freePort } from '../src/testing/nats-server.ts';
import { BrokerProcess } from '../src/testing/broker-process.ts';
import { kcatProduce, kcatConsume, kcatCleanup, type KcatResult } from './kcat-load.ts';
import { jetstreamPublish, jetstreamConsume, jetstreamDeleteStream } from './jetstream-peer.ts';

interface Args {
  records: number;
  /** Value bytes per record (kcat's input lines are one byte longer: the newline). */
  recordBytes: number;
  /** JetStream's publish window (unacknowledged publishes in flight). */
  window: number;
  /** Records produced to `bench-warmup` before measuring (0: none). */
  warmup: number;
  /** Consume from the absolute offset 0 instead of "beginning" (which librdkafka resolves with ListOffsets). */
  offset0: boolean;
}

/** The targets: Kastor's records/s as a multiple of JetStream's. */
const TARGETS = { 'produce-acks1': 4, consume: 8 } as const;
const TOPIC = 'bench-single';
const WARMUP_TOPIC = 'bench-warmup';
const STREAM = 'BENCH_SINGLE';
const SUBJECT = 'bench.single';
/** Bound on each kcat / JetStream step, so a stuck broker fails the run instead of hanging it. */
const STEP_TIMEOUT_MS = 300_000;

export function parseArgs(args: string[]): Args {
  const out: Args = { records: 1_000_000, recordBytes: 100, window: 1000, warmup: 1000, offset0: false };
  const int = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag} needs an integer >= ${min}, got ${v}`);
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--records') out.records = int(a, args[++i], 1);
    else if (a === '--record-bytes') out.recordBytes = int(a, args[++i], 1);
    else if (a === '--window') out.window = int(a, args[++i], 1);
    else if (a === '--warmup') out.warmup = int(a, args[++i], 0);
    else if (a === '--offset0') out.offset0 = true;
    else throw new Error(`unknown argument ${a} (use --records N, --record-bytes B, --window W, --warmup N, --offset0)`);
  }
  if (out.recordBytes > 999_999) throw new Error(`--record-bytes must be at most 999999 (kcat's line buffer), got ${out.recordBytes}`);
  return out;
}

function print(line: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(line) + '\n');
}

function log(msg: string): void {
  process.stderr.write(`single: ${msg}\n`);
}

/** Runs kcat to completion with a deadline, returning its stdout (the first 64 KB); fails on a non-zero exit or "ERROR". */
function kcatOutput(args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.env.KASTOR_KCAT ?? 'kcat', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      if (out.length < 1 << 16) out += d;
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      if (err.length < 1 << 16) err += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0 || /ERROR/.test(err)) reject(new Error(`kcat ${args.join(' ')} failed (exit ${code ?? signal}):\n${err.slice(0, 2000)}`));
      else resolve(out);
    });
  });
}

/**
 * Creates `topic` before the timed produce with a metadata request (kcat -L uses a producer handle, whose
 * Metadata requests allow auto-creation), so the produce time holds no topic creation; checks 1 partition.
 */
async function createTopic(brokers: string, topic: string): Promise<void> {
  const out = await kcatOutput(['-L', '-b', brokers, '-t', topic]);
  if (!out.includes(`topic "${topic}" with 1 partitions`)) {
    throw new Error(`kcat -L -t ${topic} did not show a 1-partition topic (auto-creation off or another partition count?):\n${out}`);
  }
}

/**
 * Checks that `topic`/0 ends exactly at `records`: reading from the absolute offset records-1 to the end of the
 * partition (-e) must print that one offset. Absolute offsets need no ListOffsets round trip, so this check does
 * not depend on the path the measured consume took.
 */
async function checkPartitionEnd(brokers: string, topic: string, records: number): Promise<void> {
  const out = await kcatOutput(['-C', '-b', brokers, '-t', topic, '-p', '0', '-o', String(records - 1), '-e', '-q', '-f', '%o\\n']);
  const offsets = out.split('\n').filter((l) => l !== '');
  if (offsets.length !== 1 || offsets[0] !== String(records - 1)) {
    const seen = offsets.length === 0 ? 'nothing' : `offsets ${offsets.slice(0, 5).join(', ')}${offsets.length > 5 ? ', ...' : ''}`;
    throw new Error(`${topic}/0 should end with offset ${records - 1} (${records} records); from there kcat read ${seen}`);
  }
}

/** Everything the run started, torn down in reverse whatever happened. */
class Resources {
  nats: NatsServer | null = null;
  broker: BrokerProcess | null = null;
  dataDir: string | null = null;
  private closing: Promise<void> | null = null;

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const errors: unknown[] = [];
    const step = async (f: () => unknown) => {
      try {
        await f();
      } catch (err) {
        errors.push(err);
      }
    };
    if (this.broker) {
      const broker = this.broker;
      // SIGTERM first: bin/kastor.js forwards it to the tsx child that is the broker, whereas a SIGKILL of the
      // wrapper alone would leave that child running. SIGKILL only when it does not stop in time.
      await step(async () => {
        await broker.stop(10_000);
        await broker.kill();
      });
    }
    if (this.nats) await step(() => this.nats!.dispose());
    if (this.dataDir) await step(() => rmSync(this.dataDir!, { recursive: true, force: true }));
    await step(() => kcatCleanup());
    for (const err of errors) log(`cleanup: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function lastLogs(broker: BrokerProcess | null, n = 40): string {
  if (!broker || broker.logs.length === 0) return '';
  return `\nlast broker log lines:\n${broker.logs.slice(-n).join('\n')}`;
}

const ratio = (kastor: number, peer: number) => (peer > 0 ? Number((kastor / peer).toFixed(2)) : null);

export async function run(args: string[]): Promise<void> {
  const a = parseArgs(args);
  const res = new Resources();
  // Ctrl-C or a kill while measuring still stops the broker and nats-server and removes the temporary data. The
  // handler stays installed until the cleanup is done: under npx the signal comes twice (from the terminal and
  // relayed by tsx), and a second one without a handler would kill the process halfway. The cleanup is bounded.
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    log(`${signal}: cleaning up`);
    void res.close().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    log(`${a.records} records of ${a.recordBytes} B, kcat acks=1 into 1 partition; JetStream R1 window ${a.window}`);
    res.nats = await NatsServer.start();
    res.dataDir = mkdtempSync(join(tmpdir(), 'kastor-bench-single-'));
    // --advertise is given explicitly although it equals the listen address: without it the broker registers
    // with an undefined host (defaultBrokerConfig spreads `advertisedHost: undefined` over its default).
    const port = await freePort();
    res.broker = await BrokerProcess.start({
      id: 1,
      natsUrl: res.nats.url,
      dataDir: res.dataDir,
      port,
      extraArgs: ['--advertise', `127.0.0.1:${port}`],
    });
    const brokers = res.broker.bootstrap;
    log(`nats ${res.nats.url}, broker 1 at ${brokers}, data ${res.dataDir}`);

    let produce: KcatResult;
    let consume: KcatResult;
    try {
      if (a.warmup > 0) {
        const w = await kcatProduce({ brokers, topic: WARMUP_TOPIC, records: a.warmup, recordBytes: a.recordBytes + 1, acks: 1, partitions: 1, timeoutMs: 60_000 });
        log(`warm-up: ${a.warmup} records to ${WARMUP_TOPIC} in ${w.seconds} s`);
      }
      await createTopic(brokers, TOPIC);
      produce = await kcatProduce({
        brokers,
        topic: TOPIC,
        records: a.records,
        recordBytes: a.recordBytes + 1,
        acks: 1,
        partitions: 1,
        timeoutMs: STEP_TIMEOUT_MS,
      });
      log(`kastor produce: ${produce.records_per_s} records/s (${produce.seconds} s)`);
      consume = await kcatConsume({
        brokers,
        topic: TOPIC,
        partition: 0,
        records: a.records,
        valueBytes: a.recordBytes,
        // A later -o overrides kcatConsume's "-o beginning" (kcat keeps the last one).
        extra: a.offset0 ? ['-o', '0'] : [],
        timeoutMs: STEP_TIMEOUT_MS,
      });
      log(`kastor consume: ${consume.records_per_s} records/s (${consume.seconds} s)`);
      await checkPartitionEnd(brokers, TOPIC, a.records);
    } catch (err) {
      throw new Error(`${err instanceof Error ? err.message : String(err)}${lastLogs(res.broker)}`, { cause: err });
    }

    const url = res.nats.url;
    const pub = await jetstreamPublish({
      url,
      stream: STREAM,
      subject: SUBJECT,
      replicas: 1,
      records: a.records,
      recordBytes: a.recordBytes,
      window: a.window,
      timeoutMs: STEP_TIMEOUT_MS,
    });
    log(`jetstream publish: ${pub.records_per_s} records/s (${pub.seconds} s)`);
    const con = await jetstreamConsume({ url, stream: STREAM, records: a.records, timeoutMs: STEP_TIMEOUT_MS });
    log(`jetstream consume: ${con.records_per_s} records/s (${con.seconds} s)`);
    await jetstreamDeleteStream(url, STREAM);

    const common = { bench: 'single', records: a.records, record_bytes: a.recordBytes, partitions: 1 };
    const consumeFrom = a.offset0 ? '0' : 'beginning';
    const produceRatio = ratio(produce.records_per_s, pub.records_per_s);
    print({
      ...common,
      case: 'produce-acks1',
      records_per_s: produce.records_per_s,
      mb_per_s: produce.mb_per_s,
      seconds: produce.seconds,
      jetstream_records_per_s: pub.records_per_s,
      jetstream_mb_per_s: pub.mb_per_s,
      jetstream_p50_ms: pub.p50_ms,
      jetstream_p99_ms: pub.p99_ms,
      jetstream_window: a.window,
      vs_jetstream: produceRatio,
      target_vs_jetstream: TARGETS['produce-acks1'],
      meets_target: produceRatio !== null && produceRatio >= TARGETS['produce-acks1'],
    });
    const consumeRatio = ratio(consume.records_per_s, con.records_per_s);
    print({
      ...common,
      case: 'consume',
      consume_from: consumeFrom,
      records_per_s: consume.records_per_s,
      mb_per_s: consume.mb_per_s,
      seconds: consume.seconds,
      jetstream_records_per_s: con.records_per_s,
      jetstream_mb_per_s: con.mb_per_s,
      vs_jetstream: consumeRatio,
      target_vs_jetstream: TARGETS.consume,
      meets_target: consumeRatio !== null && consumeRatio >= TARGETS.consume,
    });
  } finally {
    await res.close();
    if (!signalled) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}
