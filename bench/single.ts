// One Kastor broker against its peer, NATS JetStream R1, in the same run (STYLE.md point 8): kcat (librdkafka)
// produces `records` records of `--record-bytes` value bytes with acks=1 into a 1-partition topic and reads them
// all back; then the JetStream peer publishes and consumes the same count and size on a stream of the same
// private nats-server the broker uses for its metadata (the peer at its best: pipelined publish, ordered consumer).
//
//   npx tsx bench/run.ts single [--records N] [--record-bytes B] [--window W] [--warmup N] [--rounds R] [--offset0]
//                               [--tls] [--sasl]
//
// --tls / --sasl also measure kcat over an SSL / SASL_SSL (SCRAM-SHA-512) listener of the same broker in each
// round, printing "produce-acks1-ssl", "consume-sasl_ssl", ... lines with `vs_plaintext` (bench/single-secure.ts).
//
// One JSON line per case on stdout: "produce-acks1" (vs JetStream publish) and "consume" (vs JetStream consume),
// with `vs_jetstream` = Kastor records/s ÷ JetStream records/s and the target ratio (4x produce, 8x
// consume). Progress and the broker's log on failure go to stderr.
// The peer is measured twice in each round: through the Node client (the `jetstream_*` figures and `vs_jetstream`)
// and through NATS's own Go client (bench/jetstream-go-peer.ts: nats.go's async publish with the same window and
// its ordered consumer; `jetstream_go_*` and `vs_jetstream_go`, Kastor's records/s ÷ the Go peer's). Without Go
// installed the Go figures are null and one stderr line says how to install it.
// --rounds R repeats the measurement R times, Kastor then JetStream each time, on fresh topics and streams; the
// figures are medians and `vs_jetstream` is the median of the per-round ratios (listed in `vs_jetstream_rounds`),
// since on a shared machine the load changes between rounds more than within one.
//
// What the Kastor figures include: kcat's start and its metadata round trips, so small runs understate the rate;
// `kcat_start_s` on the consume line is that fixed cost (a `kcat -L` from spawn to exit). Not included: the topic's creation (a `kcat -L -t` auto-creates it first) and a warm-up produce to
// `bench-warmup`, which makes the broker's code hot and its NATS paths connected.
// The count is verified twice: kcat must deliver exactly `records` values of the right size, and a second kcat
// reading from offset records-1 must find that record and then the end of the partition, so extra or lost records
// fail the run. --offset0 consumes from the absolute offset 0 instead of "beginning", which skips librdkafka's
// ListOffsets round trip (the same records, one request fewer).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NatsServer, freePort } from '../src/testing/nats-server.ts';
import { BrokerProcess } from '../src/testing/broker-process.ts';
import { kcatProduce, kcatConsume, kcatCleanup, type KcatResult } from './kcat-load.ts';
import {
  jetstreamPublish,
  jetstreamConsume,
  jetstreamDeleteStream,
  type JetStreamPublishResult,
  type JetStreamConsumeResult,
} from './jetstream-peer.ts';
import { goPeer, goPublish, goConsume } from './jetstream-go-peer.ts';
import { createBenchUser, measureSecure, secureSetup, SECURE_TARGET, type SecureProtocol, type SecureSetup } from './single-secure.ts';

interface Args {
  records: number;
  /** Value bytes per record (kcat's input lines are one byte longer: the newline). */
  recordBytes: number;
  /** JetStream's publish window (unacknowledged publishes in flight). */
  window: number;
  /** Records produced to `bench-warmup` before measuring (0: none). */
  warmup: number;
  /** Measuring rounds (each: Kastor then JetStream); the figures are medians. */
  rounds: number;
  /** Consume from the absolute offset 0 instead of "beginning" (which librdkafka resolves with ListOffsets). */
  offset0: boolean;
  /** Also over these listeners (--tls: SSL, --sasl: SASL_SSL). */
  secure: SecureProtocol[];
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
  const out: Args = { records: 1_000_000, recordBytes: 100, window: 1000, warmup: 1000, rounds: 1, offset0: false, secure: [] };
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
    else if (a === '--rounds') out.rounds = int(a, args[++i], 1);
    else if (a === '--offset0') out.offset0 = true;
    else if (a === '--tls') out.secure.push('SSL');
    else if (a === '--sasl') out.secure.push('SASL_SSL');
    else throw new Error(`unknown argument ${a} (use --records N, --record-bytes B, --window W, --warmup N, --rounds R, --offset0)`);
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

/** The pids of a process's children (Linux /proc; empty elsewhere). */
function childPids(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Everything the run started, torn down in reverse whatever happened. */
class Resources {
  nats: NatsServer | null = null;
  broker: BrokerProcess | null = null;
  /** The broker's own process: bin/kastor.js's child (BrokerProcess only knows the wrapper). */
  brokerChildPids: number[] = [];
  dataDir: string | null = null;
  /** The run's certificates (--tls, --sasl). */
  certs: { remove(): void } | null = null;
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
      // When the stop timed out, the wrapper was SIGKILLed and its child lives on: kill that child by pid.
      for (const pid of this.brokerChildPids) {
        await step(() => {
          if (alive(pid)) process.kill(pid, 'SIGKILL');
        });
      }
    }
    if (this.nats) await step(() => this.nats!.dispose());
    if (this.dataDir) await step(() => rmSync(this.dataDir!, { recursive: true, force: true }));
    if (this.certs) await step(() => this.certs!.remove());
    await step(() => kcatCleanup());
    for (const err of errors) log(`cleanup: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function lastLogs(broker: BrokerProcess | null, n = 40): string {
  if (!broker || broker.logs.length === 0) return '';
  return `\nlast broker log lines:\n${broker.logs.slice(-n).join('\n')}`;
}

const round2 = (x: number) => Number(x.toFixed(2));

/** The median (the mean of the middle two for an even count). */
function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Round {
  produce: KcatResult;
  consume: KcatResult;
  /** A `kcat -L` from spawn to exit: the fixed cost inside every kcat figure (start, connect, metadata). */
  kcatStartS: number;
  publish: JetStreamPublishResult;
  jsConsume: JetStreamConsumeResult;
  /** The Go peer's figures (bench/jetstream-go-peer.ts), null when Go or nats.go is not installed. */
  goPublish: JetStreamPublishResult | null;
  goConsume: JetStreamConsumeResult | null;
  /** The same produce and consume over each secured listener. */
  secure: Partial<Record<SecureProtocol, { produce: KcatResult; consume: KcatResult }>>;
}

/** One round: Kastor produce and consume of a fresh topic, then JetStream publish and consume of a fresh stream. */
async function measureRound(a: Args, r: number, brokers: string, url: string, broker: BrokerProcess, secure: SecureSetup | null): Promise<Round> {
  const topic = a.rounds > 1 ? `${TOPIC}-${r}` : TOPIC;
  const tag = a.rounds > 1 ? `round ${r}: ` : '';
  let produce: KcatResult;
  let consume: KcatResult;
  let kcatStartS: number;
  try {
    await createTopic(brokers, topic);
    produce = await kcatProduce({
      brokers,
      topic,
      records: a.records,
      recordBytes: a.recordBytes + 1,
      acks: 1,
      partitions: 1,
      timeoutMs: STEP_TIMEOUT_MS,
    });
    log(`${tag}kastor produce: ${produce.records_per_s} records/s (${produce.seconds} s)`);
    consume = await kcatConsume({
      brokers,
      topic,
      partition: 0,
      records: a.records,
      valueBytes: a.recordBytes,
      // A later -o overrides kcatConsume's "-o beginning" (kcat keeps the last one).
      extra: a.offset0 ? ['-o', '0'] : [],
      timeoutMs: STEP_TIMEOUT_MS,
    });
    log(`${tag}kastor consume: ${consume.records_per_s} records/s (${consume.seconds} s)`);
    await checkPartitionEnd(brokers, topic, a.records);
    const t0 = performance.now();
    await kcatOutput(['-L', '-b', brokers, '-t', topic]);
    kcatStartS = (performance.now() - t0) / 1000;
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}${lastLogs(broker)}`, { cause: err });
  }
  const secured: Round['secure'] = {};
  for (const protocol of a.secure) {
    try {
      secured[protocol] = await measureSecure(secure!, protocol, { topic: `${topic}-${protocol.toLowerCase()}`, records: a.records, recordBytes: a.recordBytes, timeoutMs: STEP_TIMEOUT_MS, createTopic: (t) => createTopic(brokers, t) });
    } catch (err) {
      throw new Error(`${err instanceof Error ? err.message : String(err)}${lastLogs(broker)}`, { cause: err });
    }
    log(`${tag}kastor over ${protocol}: produce ${secured[protocol]!.produce.records_per_s} records/s, consume ${secured[protocol]!.consume.records_per_s} records/s`);
  }

  const publish = await jetstreamPublish({
    url,
    stream: STREAM,
    subject: SUBJECT,
    replicas: 1,
    records: a.records,
    recordBytes: a.recordBytes,
    window: a.window,
    timeoutMs: STEP_TIMEOUT_MS,
  });
  log(`${tag}jetstream publish: ${publish.records_per_s} records/s (${publish.seconds} s)`);
  const jsConsume = await jetstreamConsume({ url, stream: STREAM, records: a.records, timeoutMs: STEP_TIMEOUT_MS });
  log(`${tag}jetstream consume: ${jsConsume.records_per_s} records/s (${jsConsume.seconds} s)`);
  await jetstreamDeleteStream(url, STREAM);

  const goOpts = { url, stream: STREAM, subject: SUBJECT, replicas: 1 as const, records: a.records, recordBytes: a.recordBytes, window: a.window, timeoutMs: STEP_TIMEOUT_MS };
  const goPub = await goPublish(goOpts);
  const goCon = goPub && (await goConsume(goOpts));
  if (goPub && goCon) log(`${tag}jetstream (go) publish: ${goPub.records_per_s} records/s, consume: ${goCon.records_per_s} records/s`);
  await jetstreamDeleteStream(url, STREAM);
  return { produce, consume, kcatStartS, publish, jsConsume, goPublish: goPub, goConsume: goCon, secure: secured };
}

/**
 * One JSON line for a case: medians over the rounds; `vs_jetstream` is the median of the per-round ratios (each
 * round's two sides ran back to back, so their ratio is the figure that survives a noisy machine).
 */
function caseLine(
  a: Args,
  name: keyof typeof TARGETS,
  kastor: KcatResult[],
  peer: { records_per_s: number; mb_per_s: number }[],
  goPeer: ({ records_per_s: number; mb_per_s: number } | null)[],
  extra: Record<string, unknown>,
): Record<string, unknown> {
  const ratios = kastor.map((k, i) => k.records_per_s / peer[i]!.records_per_s);
  const vs = round2(median(ratios));
  // The Go peer ran in every round or in none (it is built once, before the first).
  const go = goPeer.every((g) => g !== null) ? goPeer : null;
  const goRatios = go?.map((g, i) => kastor[i]!.records_per_s / g.records_per_s);
  return {
    bench: 'single',
    case: name,
    records: a.records,
    record_bytes: a.recordBytes,
    partitions: 1,
    ...(a.rounds > 1 ? { rounds: a.rounds } : {}),
    records_per_s: Math.round(median(kastor.map((k) => k.records_per_s))),
    mb_per_s: round2(median(kastor.map((k) => k.mb_per_s))),
    seconds: Number(median(kastor.map((k) => k.seconds)).toFixed(3)),
    jetstream_records_per_s: Math.round(median(peer.map((p) => p.records_per_s))),
    jetstream_mb_per_s: round2(median(peer.map((p) => p.mb_per_s))),
    jetstream_go_records_per_s: go && Math.round(median(go.map((g) => g.records_per_s))),
    jetstream_go_mb_per_s: go && round2(median(go.map((g) => g.mb_per_s))),
    ...extra,
    vs_jetstream: vs,
    ...(a.rounds > 1 ? { vs_jetstream_rounds: ratios.map(round2) } : {}),
    vs_jetstream_go: goRatios ? round2(median(goRatios)) : null,
    ...(a.rounds > 1 && goRatios ? { vs_jetstream_go_rounds: goRatios.map(round2) } : {}),
    target_vs_jetstream: TARGETS[name],
    meets_target: vs >= TARGETS[name],
  };
}

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
    log(
      `${a.records} records of ${a.recordBytes} B, kcat acks=1 into 1 partition; JetStream R1 window ${a.window}` +
        (a.rounds > 1 ? `; ${a.rounds} rounds` : ''),
    );
    goPeer();
    res.nats = await NatsServer.start();
    res.dataDir = mkdtempSync(join(tmpdir(), 'kastor-bench-single-'));
    // --advertise is given explicitly although it equals the listen address: without it the broker registers
    // with an undefined host (defaultBrokerConfig spreads `advertisedHost: undefined` over its default).
    const port = await freePort();
    const secure = a.secure.length > 0 ? await secureSetup(a.secure, port) : null;
    res.certs = secure?.certs ?? null;
    res.broker = await BrokerProcess.start({
      id: 1,
      natsUrl: res.nats.url,
      dataDir: res.dataDir,
      port,
      extraArgs: secure ? secure.brokerArgs : ['--advertise', `127.0.0.1:${port}`],
    });
    if (a.secure.includes('SASL_SSL')) await createBenchUser(`127.0.0.1:${port}`);
    res.brokerChildPids = childPids(res.broker.pid);
    const brokers = res.broker.bootstrap;
    log(`nats ${res.nats.url}, broker 1 at ${brokers}, data ${res.dataDir}`);
    if (a.warmup > 0) {
      const w = await kcatProduce({ brokers, topic: WARMUP_TOPIC, records: a.warmup, recordBytes: a.recordBytes + 1, acks: 1, partitions: 1, timeoutMs: 60_000 });
      log(`warm-up: ${a.warmup} records to ${WARMUP_TOPIC} in ${w.seconds} s`);
    }

    const rounds: Round[] = [];
    for (let r = 1; r <= a.rounds; r++) rounds.push(await measureRound(a, r, brokers, res.nats.url, res.broker, secure));

    const pubs = rounds.map((x) => x.publish);
    const goPubs = rounds.flatMap((x) => (x.goPublish ? [x.goPublish] : []));
    const ms = (xs: number[]) => (xs.length ? Number(median(xs).toFixed(3)) : null);
    print(
      caseLine(a, 'produce-acks1', rounds.map((x) => x.produce), pubs, rounds.map((x) => x.goPublish), {
        jetstream_p50_ms: ms(pubs.map((p) => p.p50_ms)),
        jetstream_p99_ms: ms(pubs.map((p) => p.p99_ms)),
        jetstream_go_p50_ms: ms(goPubs.map((p) => p.p50_ms)),
        jetstream_go_p99_ms: ms(goPubs.map((p) => p.p99_ms)),
        jetstream_window: a.window,
      }),
    );
    print(
      caseLine(a, 'consume', rounds.map((x) => x.consume), rounds.map((x) => x.jsConsume), rounds.map((x) => x.goConsume), {
        consume_from: a.offset0 ? '0' : 'beginning',
        kcat_start_s: Number(median(rounds.map((x) => x.kcatStartS)).toFixed(3)),
      }),
    );
    for (const protocol of a.secure) {
      for (const step of ['produce', 'consume'] as const) {
        const secured = rounds.map((x) => x.secure[protocol]![step]);
        const ratios = secured.map((s, i) => s.records_per_s / rounds[i]![step].records_per_s);
        const vs = round2(median(ratios));
        print({
          bench: 'single',
          case: `${step === 'produce' ? 'produce-acks1' : 'consume'}-${protocol.toLowerCase()}`,
          records: a.records,
          record_bytes: a.recordBytes,
          partitions: 1,
          ...(a.rounds > 1 ? { rounds: a.rounds, vs_plaintext_rounds: ratios.map(round2) } : {}),
          records_per_s: Math.round(median(secured.map((s) => s.records_per_s))),
          mb_per_s: round2(median(secured.map((s) => s.mb_per_s))),
          plaintext_records_per_s: Math.round(median(rounds.map((x) => x[step].records_per_s))),
          vs_plaintext: vs,
          target_vs_plaintext: SECURE_TARGET,
          meets_target: vs >= SECURE_TARGET,
        });
      }
    }
  } finally {
    await res.close();
    if (!signalled) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}
