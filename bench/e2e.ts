// Produce-to-consume latency at a fixed offered rate (issue 21), Kastor against NATS JetStream R3 in the same run
// (STYLE.md point 8):
//
//   npx tsx bench/run.ts e2e [--seconds S] [--rounds R] [--warmup-rounds U] [--warmup-seconds W] [--max-seconds M]
//                            [--partitions P] [--record-bytes B] [--linger-ms L] [--max-wait-ms F]
//                            [--rate-base kastor|jetstream|both]
//
// Kastor: 3 broker processes on one private nats-server, one topic per run of P (default 1) partitions, RF=3,
// min.insync.replicas=2, producers acks=all with linger L (default 0). Peer: a 3-node NATS cluster with an R3
// file stream, recreated per run. Producer and consumer live in this process (kcat's two processes are fed and
// read through pipes from here), so a record's send stamp and its arrival are read from one monotonic clock; the
// latency is from the producer's send to the consumer's delivery of the record, which a Kafka consumer only gets
// once the high watermark (the ISR) has it and a JetStream consumer once the stream's quorum has it.
//
// 1. The maximum: a saturation run of --max-seconds (default 3) with Kastor's client (sends of 1,000 records, at
//    most 8,000 unacknowledged) while its consumer reads; the rate is records ÷ time to the last one consumed.
//    The same for JetStream (100-record bursts, at most 1,000 unacknowledged), printed for information.
// 2. 25% and 75% of Kastor's maximum are offered to every system and client alike (the same rates, printed):
//    Kastor's client on both ends, kcat on both ends (kcat -P fed lines "<seq> <ms> …" through its stdin,
//    kcat -C -u printing values as they come), and JetStream through the Node client (pipelined publish, an
//    ordered consumer). The sender is paced: every TICK_MS it sends what the schedule says is due (so a late
//    tick sends a larger burst, never an unbounded loop); W (default 1) seconds of warm-up are sent and consumed
//    but not measured, then S (default 5) measured seconds. Each run checks that every record was consumed once
//    and that the system stores exactly what was sent; a mismatch fails the bench.
//    --rate-base (default both) adds 25% and 75% of JetStream's own maximum (its Node client's saturation run):
//    Kastor's maximum is several times JetStream's, so at its rates JetStream works off a backlog of seconds and
//    the comparison says little about latency; at JetStream's rates both systems run within their capacity.
//    Lines say which with rate_of ("kastor" or "jetstream") beside rate_pct.
// 3. --rounds R (default 3): the rounds alternate Kastor client, kcat, JetStream at one rate, then the other rate,
//    so each comparison is seconds apart on this shared, drifting machine; figures are medians over the rounds.
//    --warmup-rounds U (default 1) whole rounds run first and are not counted: the first paced runs on fresh
//    brokers were 2-6 times slower at p50 than the next ones (the saturation run warms other code paths).
//
// Lines: case "max" (system, client, records_per_s and the saturation latency), and case "e2e" per (system,
// client, rate): offered and achieved records/s, p50/p99/p99.9/max in ms; Kastor's lines carry JetStream's figures
// at the same rate, vs_jetstream = JetStream p99 ÷ Kastor p99 (above 1, Kastor is ahead; median of the rounds'
// ratios) and target_met (vs_jetstream >= 1: Kastor's p99 at or below JetStream's, judged round by round as the
// ratios are, so the machine's drift between rounds does not decide it). The anchor is Kafka's 2014 figure on dedicated hardware:
// 2 ms p50, 3 ms p99 end to end. JetStream is also measured through NATS's own Go client (bench/jetstream-go, e2e
// mode: pipelined publishes paced the same way with up to JETSTREAM_WINDOW unacknowledged, skipped ones published
// again, as the Node peer's; an ordered consumer; the latency on the Go process's monotonic clock) after the Node peer in every round at the same rate: jetstream_go,
// vs_jetstream_go (Go peer p99 ÷ Kastor p99, median of the rounds) and target_met_go. Without Go those are null and
// jetstream_go_skipped says why.
import { performance } from 'node:perf_hooks';
import { NatsCluster } from '../src/testing/nats-cluster.ts';
import { goEndToEnd, goPeer, type GoE2eResult } from './jetstream-go-peer.ts';
import { DirectCluster, intFlag, print, round } from './cluster-kit.ts';
import { JETSTREAM_WINDOW, JetStreamLink, KastorClientLink, KcatLink, LatencyRecorder, type E2eLink, type KafkaLinkKind } from './e2e-load.ts';

const TICK_MS = 1;
const MAX_TOPIC = 'bench-e2e-max';
const STREAM = 'BENCH_E2E';
const SUBJECT = 'bench.e2e';
const STREAM_GO = 'BENCH_E2E_GO';
const SUBJECT_GO = 'bench.e2e.go';
const RATES = [0.25, 0.75] as const;
/** After the last send, how long acks and arrivals may take: a peer offered several times its maximum (JetStream
 * through the Node client, at 75% of Kastor's) works off a backlog of many seconds first. */
const drainMs = (runSeconds: number) => Math.max(60_000, 20 * runSeconds * 1000);
const SATURATION_CAP = 2_000_000;
const KAFKA_2014 = { p50_ms: 2, p99_ms: 3 };

const log = (msg: string) => process.stderr.write(`e2e: ${msg}\n`);
const median = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
};

/** A paced run's figures: the Go peer's, but kcat reports no acknowledgement latency (null). */
type RunResult = Omit<GoE2eResult, 'produce_ack_p50_ms' | 'produce_ack_p99_ms' | 'republished'> & {
  produce_ack_p50_ms: number | null;
  produce_ack_p99_ms: number | null;
};

/** Fails unless every record sent was consumed exactly once and the system stores exactly that many. */
async function verify(what: string, link: E2eLink, rec: LatencyRecorder, sent: number): Promise<void> {
  const stored = await link.stored();
  if (rec.consumed !== sent || rec.duplicates !== 0 || rec.strays !== 0 || stored !== sent) {
    throw new Error(`${what}: sent ${sent}, consumed ${rec.consumed} (duplicates ${rec.duplicates}, strays ${rec.strays}), stored ${stored}`);
  }
}

/** Sends at `rate` records/s for warmupS + seconds, then waits for every record to be acknowledged and consumed. */
export async function pacedRun(what: string, link: E2eLink, rate: number, warmupS: number, seconds: number): Promise<RunResult> {
  const warm = Math.round(rate * warmupS);
  const total = warm + Math.round(rate * seconds);
  const rec = new LatencyRecorder(total);
  try {
    await link.open(rec, total);
    const t0 = performance.now();
    let sent = 0;
    let measuredFrom = NaN;
    let lastTick = t0;
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        const err = link.failure();
        if (err) {
          clearInterval(timer);
          return reject(err);
        }
        const now = performance.now();
        const due = Math.min(total, Math.floor(((now - t0) / 1000) * rate));
        if (due > sent) {
          // The measured phase starts with the tick before the one that sends its first record.
          if (sent <= warm && due > warm) measuredFrom = lastTick;
          link.send(sent, due - sent);
          sent = due;
        }
        lastTick = now;
        if (sent === total) {
          clearInterval(timer);
          resolve();
        }
      }, TICK_MS);
    });
    const sendEnd = performance.now();
    await link.flush(drainMs(warmupS + seconds));
    await rec.waitFor(total, drainMs(warmupS + seconds), () => link.failure());
    await verify(what, link, rec, total);
    return {
      records: total - warm,
      offered_records_per_s: Math.round(rate),
      achieved_records_per_s: Math.round((total - warm) / ((sendEnd - (warm === 0 ? t0 : measuredFrom)) / 1000)),
      ...rec.stats(warm, total),
    };
  } finally {
    await link.close();
  }
}

/** As fast as the link takes them: bursts of `chunk` with at most `window` unacknowledged, for `seconds`. */
async function saturationRun(what: string, link: E2eLink, seconds: number, chunk: number, window: number) {
  const rec = new LatencyRecorder(SATURATION_CAP);
  try {
    await link.open(rec, SATURATION_CAP);
    const t0 = performance.now();
    let sent = 0;
    while (performance.now() - t0 < seconds * 1000 && sent < SATURATION_CAP) {
      const err = link.failure();
      if (err) throw err;
      if (link.unacked() + chunk <= window) {
        const n = Math.min(chunk, SATURATION_CAP - sent);
        link.send(sent, n);
        sent += n;
      } else {
        await Promise.race([link.ackedSome(), new Promise((r) => setTimeout(r, 1000))]);
      }
    }
    await link.flush(drainMs(seconds));
    await rec.waitFor(sent, drainMs(seconds), () => link.failure());
    const elapsed = (performance.now() - t0) / 1000;
    await verify(what, link, rec, sent);
    return { records: sent, records_per_s: Math.round(sent / elapsed), seconds: round(elapsed, 3), ...rec.stats(0, sent) };
  } finally {
    await link.close();
  }
}

type RateBase = 'kastor' | 'jetstream' | 'both';

function rateBaseFlag(args: string[]): RateBase {
  const i = args.indexOf('--rate-base');
  if (i < 0) return 'both';
  const v = args[i + 1];
  if (v === 'kastor' || v === 'jetstream' || v === 'both') return v;
  throw new Error(`--rate-base takes kastor, jetstream or both, got ${JSON.stringify(v)}`);
}

export async function run(args: string[]): Promise<void> {
  const seconds = intFlag(args, 'seconds', 5);
  const rounds = intFlag(args, 'rounds', 3);
  const warmupS = intFlag(args, 'warmup-seconds', 1, 0);
  const warmupRounds = intFlag(args, 'warmup-rounds', 1, 0);
  const maxSeconds = intFlag(args, 'max-seconds', 3);
  const partitions = intFlag(args, 'partitions', 1);
  const recordBytes = intFlag(args, 'record-bytes', 100, 32);
  const lingerMs = intFlag(args, 'linger-ms', 0, 0);
  const maxWaitMs = intFlag(args, 'max-wait-ms', 500, 0);
  const kinds: KafkaLinkKind[] = ['kastor', 'kcat'];
  const rateBase = rateBaseFlag(args);
  // One offered rate per (base, fraction): 25% and 75% of Kastor's maximum, of JetStream's, or both.
  const plan = (rateBase === 'both' ? (['kastor', 'jetstream'] as const) : [rateBase]).flatMap((base) => RATES.map((f) => ({ base, pct: Math.round(f * 100), f })));
  const topicOf = (kind: KafkaLinkKind, i: number, r: number) => `bench-e2e-${kind}-${plan[i]!.base}-${plan[i]!.pct}-${r}`;
  const started = Date.now();

  const go = goPeer();
  const goSkipped = go.available ? null : go.reason;
  let kastor: DirectCluster | null = null;
  let nats: NatsCluster | null = null;
  try {
    kastor = await DirectCluster.start({ brokers: 3, prefix: 'kastor-bench-e2e-' });
    const topics = [MAX_TOPIC, ...kinds.flatMap((k) => plan.flatMap((_, i) => Array.from({ length: warmupRounds + rounds }, (_, r) => topicOf(k, i, r + 1 - warmupRounds))))];
    const config = { 'min.insync.replicas': '2' };
    await kastor.createTopics(topics.map((name) => ({ name, partitions, replicationFactor: 3, config })));
    await kastor.waitReady(topics, topics.length * partitions, { inSync: true, timeoutMs: 60_000 });
    log(`kastor: 3 brokers at ${kastor.bootstrap}, ${topics.length} topics of ${partitions} partition(s) RF=3 in sync`);
    nats = await NatsCluster.start({ size: 3 });
    const bootstrap = kastor.bootstrap;
    const natsUrls = nats.urls;
    const kafkaLink = (kind: KafkaLinkKind, topic: string): E2eLink =>
      kind === 'kastor'
        ? new KastorClientLink(bootstrap, topic, partitions, recordBytes, lingerMs, maxWaitMs)
        : new KcatLink(bootstrap, topic, partitions, recordBytes, lingerMs);
    const jsLink = () => new JetStreamLink(natsUrls, STREAM, SUBJECT, recordBytes);

    // ---- 1. the maximum ----
    const kmax = await saturationRun('kastor max', kafkaLink('kastor', MAX_TOPIC), maxSeconds, 1000, 8000);
    log(`kastor max (client, with its consumer): ${kmax.records_per_s} records/s`);
    const jmax = await saturationRun('jetstream max', jsLink(), maxSeconds, 100, 1000);
    log(`jetstream R3 max (nats.js, with its consumer): ${jmax.records_per_s} records/s`);
    const common = { record_bytes: recordBytes, partitions, replication_factor: 3, min_insync_replicas: 2, acks: 'all', linger_ms: lingerMs };
    print({ bench: 'e2e', case: 'max', system: 'kastor', client: 'kastor', ...common, ...kmax });
    print({ bench: 'e2e', case: 'max', system: 'jetstream', client: 'nats.js', replicas: 3, record_bytes: recordBytes, ...jmax });

    // ---- 2. the offered rates, rounds alternating ----
    const maxOf = { kastor: kmax.records_per_s, jetstream: jmax.records_per_s };
    const rates = plan.map((x) => Math.max(1, Math.round(x.f * maxOf[x.base])));
    log(`offered rates: ${rates.map((r, i) => `${plan[i]!.pct}% of ${plan[i]!.base}'s maximum = ${r} records/s`).join(', ')} to every system`);
    const results = new Map<string, RunResult[]>();
    /** Per rate, the peers' publishes sent again in counted rounds (JetStream skipped them). */
    const jsRepublished = new Map<number, number>();
    const goRepublished = new Map<number, number>();
    for (let r = 1 - warmupRounds; r <= rounds; r++) {
      // Rounds up to 0 warm up: run and checked like the others, not counted.
      const keep = (key: string, res: RunResult) => r > 0 && results.set(key, [...(results.get(key) ?? []), res]);
      for (let i = 0; i < rates.length; i++) {
        for (const kind of kinds) {
          const what = `round ${r > 0 ? r : `${r} (warm-up)`}: kastor (${kind}) at ${rates[i]}/s`;
          const res = await pacedRun(what, kafkaLink(kind, topicOf(kind, i, r)), rates[i]!, warmupS, seconds).catch((err: Error) => {
            throw new Error(`${what}: ${err.message}\n${kastor!.lastLogs()}`, { cause: err });
          });
          keep(`kastor/${kind}/${i}`, res);
          log(`${what}: p50 ${res.p50_ms} p99 ${res.p99_ms} p99.9 ${res.p999_ms} ms, produce ack p50 ${res.produce_ack_p50_ms} p99 ${res.produce_ack_p99_ms} ms (achieved ${res.achieved_records_per_s}/s)`);
        }
        const what = `round ${r > 0 ? r : `${r} (warm-up)`}: jetstream at ${rates[i]}/s`;
        const jl = jsLink();
        const res = await pacedRun(what, jl, rates[i]!, warmupS, seconds);
        keep(`jetstream/${i}`, res);
        if (r > 0) jsRepublished.set(i, (jsRepublished.get(i) ?? 0) + jl.republished);
        log(`${what}: p50 ${res.p50_ms} p99 ${res.p99_ms} p99.9 ${res.p999_ms} ms, publish ack p50 ${res.produce_ack_p50_ms} p99 ${res.produce_ack_p99_ms} ms (achieved ${res.achieved_records_per_s}/s)`);
        if (go.available) {
          const goWhat = what.replace('jetstream', 'jetstream (Go)');
          const timeoutMs = drainMs(warmupS + seconds) + (warmupS + seconds) * 1000 + 60_000;
          const goRes = await goEndToEnd({ url: natsUrls, stream: STREAM_GO, subject: SUBJECT_GO, replicas: 3, records: 1, recordBytes, window: JETSTREAM_WINDOW, rate: rates[i]!, seconds, warmupSeconds: warmupS, timeoutMs });
          keep(`jetstream-go/${i}`, goRes!);
          goRepublished.set(i, (goRepublished.get(i) ?? 0) + (r > 0 ? goRes!.republished : 0));
          log(`${goWhat}: p50 ${goRes!.p50_ms} p99 ${goRes!.p99_ms} p99.9 ${goRes!.p999_ms} ms, publish ack p50 ${goRes!.produce_ack_p50_ms} p99 ${goRes!.produce_ack_p99_ms} ms (achieved ${goRes!.achieved_records_per_s}/s)`);
        }
      }
    }

    // ---- 3. the lines ----
    const summary = (rs: RunResult[]) => ({
      records: rs[0]!.records,
      offered_records_per_s: rs[0]!.offered_records_per_s,
      achieved_records_per_s: Math.round(median(rs.map((x) => x.achieved_records_per_s))),
      p50_ms: round(median(rs.map((x) => x.p50_ms)), 3),
      p99_ms: round(median(rs.map((x) => x.p99_ms)), 3),
      p999_ms: round(median(rs.map((x) => x.p999_ms)), 3),
      max_ms: round(Math.max(...rs.map((x) => x.max_ms)), 3),
      produce_ack_p50_ms: rs[0]!.produce_ack_p50_ms === null ? null : round(median(rs.map((x) => x.produce_ack_p50_ms!)), 3),
      produce_ack_p99_ms: rs[0]!.produce_ack_p99_ms === null ? null : round(median(rs.map((x) => x.produce_ack_p99_ms!)), 3),
      rounds: rs.length,
      p99_ms_rounds: rs.map((x) => x.p99_ms),
    });
    for (let i = 0; i < rates.length; i++) {
      const jsRuns = results.get(`jetstream/${i}`)!;
      const js = summary(jsRuns);
      const rate = { case: 'e2e', rate_pct: plan[i]!.pct, rate_of: plan[i]!.base, seconds, warmup_seconds: warmupS };
      // Above 1, the rate is more than JetStream's own saturation run reached: its latency is then a backlog's.
      const jsLoad = round(rates[i]! / jmax.records_per_s);
      const goRuns = results.get(`jetstream-go/${i}`) ?? null;
      const jsGo = goRuns && summary(goRuns);
      for (const kind of kinds) {
        const runs = results.get(`kastor/${kind}/${i}`)!;
        const k = summary(runs);
        const ratios = runs.map((x, j) => round(jsRuns[j]!.p99_ms / x.p99_ms));
        const goRatios = goRuns && runs.map((x, j) => round(goRuns[j]!.p99_ms / x.p99_ms));
        print({
          bench: 'e2e',
          ...rate,
          system: 'kastor',
          client: kind,
          ...common,
          ...k,
          jetstream: { client: 'nats.js', replicas: 3, p50_ms: js.p50_ms, p99_ms: js.p99_ms, p999_ms: js.p999_ms, achieved_records_per_s: js.achieved_records_per_s, offered_over_its_max: jsLoad },
          jetstream_go: jsGo && { client: 'nats.go', replicas: 3, p50_ms: jsGo.p50_ms, p99_ms: jsGo.p99_ms, p999_ms: jsGo.p999_ms, achieved_records_per_s: jsGo.achieved_records_per_s },
          ...(goSkipped ? { jetstream_go_skipped: goSkipped } : {}),
          vs_jetstream: round(median(ratios)),
          vs_jetstream_rounds: ratios,
          vs_jetstream_go: goRatios && round(median(goRatios)),
          vs_jetstream_go_rounds: goRatios,
          target: 'p99_ms <= jetstream.p99_ms (vs_jetstream >= 1; target_met_go: against the Go peer)',
          target_met: median(ratios) >= 1,
          target_met_go: goRatios && median(goRatios) >= 1,
          kafka_2014: KAFKA_2014,
        });
      }
      print({ bench: 'e2e', ...rate, system: 'jetstream', client: 'nats.js', replicas: 3, record_bytes: recordBytes, ...js, offered_over_its_max: jsLoad, republished: jsRepublished.get(i) ?? 0 });
      if (jsGo) print({ bench: 'e2e', ...rate, system: 'jetstream', client: 'nats.go', replicas: 3, record_bytes: recordBytes, window: JETSTREAM_WINDOW, ...jsGo, republished: goRepublished.get(i) ?? 0 });
    }
    log(`done in ${round((Date.now() - started) / 1000, 1)} s (a shared machine: figures are noisy)`);
  } finally {
    await kastor?.close().catch((e) => log(`cleanup: ${String(e)}`));
    await nats?.dispose().catch((e) => log(`cleanup: ${String(e)}`));
  }
}
