// A replicated Kastor cluster against its peer, NATS JetStream R3, in the same run (STYLE.md point 8).
//
//   npx tsx bench/run.ts cluster [--records N] [--record-bytes B] [--partitions P] [--linger-ms L] [--window W]
//                                [--probe N] [--probe-warmup N] [--warmup N] [--rounds R] [--probe-only]
//                                [--flush always]
//
// --probe-only: only the latency probe (below) on both sides, without the throughput rounds and their warmup (a
// minute instead of several, for latency work); prints only the "ack-latency-probe" line.
//
// Kastor side: 3 broker processes on one private nats-server, a topic of P (default 6) partitions, RF=3,
// min.insync.replicas=2; kcat (librdkafka) produces N (default 1,000,000) records of B (default 100) bytes with
// acks=all and linger L ms, its default partitioner spreading them; the time runs from kcat's spawn to its exit
// (every delivery report in). The count is then checked: the partitions' high watermarks must add up to N.
// Peer: a 3-node NATS cluster (NatsCluster) with an R3 file stream, the same count and size published pipelined
// with W (default 1000) unacknowledged publishes (jetstreamPublish), from a client connected to the stream leader.
//
// Latency: kcat reports no per-record latency, so each side gets the same separate probe, run on an idle
// cluster after the throughput rounds: --probe (default 500) single records sent one at a time, each waiting for
// its acknowledgement before the next (Kastor: its own client's producer, acks=all, linger 0, partitions in
// turn, send() to resolved promise; JetStream: jetstreamPublish with a window of 1, publish to PubAck), after
// --probe-warmup (default 3,000) unmeasured ones: the first few thousand sends of a fresh Node client run
// through unoptimized code and take twice as long (p50 2.4-2.6 ms falling to 1.0-1.2 ms here), which would
// measure V8's JIT, not the broker. It is the unloaded round trip of one replicated write, not the latency under
// the throughput load; the JetStream throughput line also carries jetstreamPublish's publish→ack latency under
// its own load (window W).
//
// --rounds R (default 5): both clusters run side by side and the rounds alternate — Kastor round i, then JetStream
// round i — so the two sides of a round are measured seconds apart, not minutes: this shared 2-core machine's
// speed drifts by ±30% over a minute (the same kcat run costs the brokers 114-197 CPU ticks from one round to
// the next), and a ratio of figures taken far apart measures the drift. The idle side costs about 1% of a core per
// process meanwhile. The throughput figures are medians, and vs_jetstream is the median of the rounds' ratios.
// --flush always (durable mode, Redpanda's default): a second Kastor cluster beside the first whose brokers run
// with --flush always (an fsync before every acknowledgement, appends sharing fsyncs through group commit) gets
// the same kcat load in every round, right after the interval cluster's, and the same probe; the line case
// "produce-acks-all-rf3-flush-always" carries its median, the interval cluster's, vs_interval (the median of the
// rounds' always/interval ratios; target 0.5) and its probe's p50/p99. The peer cannot be made durable in the
// same way here (nats-server 2.9 has no per-write sync), so this line has no JetStream figure.
// Lines: case "produce-acks-all-rf3" (kcat vs JetStream R3 publish, with vs_jetstream and target 8) and case
// "ack-latency-probe" (both probes' p50/p99, vs_jetstream = JetStream p50 ÷ Kastor p50, so >1 means Kastor is
// faster).
// The peer is measured twice: through the Node client (`jetstream`, `vs_jetstream`) and through NATS's own Go
// client (bench/jetstream-go-peer.ts: nats.go's async publish with the same window right after the Node publish in
// each round, and a one-js.Publish-at-a-time probe after --probe-warmup unmeasured ones; `jetstream_go` and
// `vs_jetstream_go`, in the same direction as `vs_jetstream`), on the same R3 cluster. Without Go installed the Go
// figures are null and one stderr line says how to install it.
import { performance } from 'node:perf_hooks';
import { NatsCluster } from '../src/testing/nats-cluster.ts';
import { listLatestOffsets, fetchMetadata } from '../src/testing/kafka-request.ts';
import { Kafka } from '../src/client/index.ts';
import { kcatProduce, kcatCleanup, type KcatResult } from './kcat-load.ts';
import { jetstreamPublish, jetstreamDeleteStream, type JetStreamPublishResult } from './jetstream-peer.ts';
import { goPeer, goPublish, goSyncProbe } from './jetstream-go-peer.ts';
import { DirectCluster, print, round, percentile, intFlag, rssMiB } from './cluster-kit.ts';

const TOPIC = 'bench-cluster';
const WARMUP_TOPIC = 'bench-cluster-warmup';
const PROBE_TOPIC = 'bench-cluster-probe';
const STREAM = 'BENCH_CLUSTER';
const SUBJECT = 'bench.cluster';
const TARGET = 8;
const STEP_TIMEOUT_MS = 300_000;

function log(msg: string): void {
  process.stderr.write(`cluster: ${msg}\n`);
}

/** Sum of the high watermarks of `topic`'s partitions, each asked of its leader. */
async function totalRecords(c: DirectCluster, topic: string): Promise<number> {
  const md = await fetchMetadata(c.address(0), [topic]);
  const byLeader = new Map<number, number[]>();
  for (const p of md.topics[0]!.partitions) byLeader.set(p.leaderId, [...(byLeader.get(p.leaderId) ?? []), p.partitionIndex]);
  let total = 0;
  for (const [leader, parts] of byLeader) {
    const b = md.brokers.find((x) => x.nodeId === leader);
    if (!b) throw new Error(`${topic}: leader ${leader} is not in the broker list`);
    for (const [p, r] of await listLatestOffsets({ host: b.host, port: b.port }, topic, parts)) {
      if (r.errorCode !== 0) throw new Error(`${topic}-${p}: ListOffsets error ${r.errorCode}`);
      total += r.offset;
    }
  }
  return total;
}

/** Kastor's own producer, one acks=all record at a time; the latency of each send() in ms, ascending. */
async function kastorProbe(bootstrap: string, samples: number, warmup: number, partitions: number, valueBytes: number): Promise<number[]> {
  const producer = new Kafka({ bootstrap }).producer({ acks: 'all', lingerMs: 0 });
  const value = Buffer.alloc(valueBytes, 0x61);
  const out: number[] = [];
  try {
    await producer.connect();
    // Unmeasured sends open the connection to every leader and let V8 optimize the send path.
    for (let i = 0; i < Math.max(warmup, partitions); i++) await producer.send({ topic: PROBE_TOPIC, messages: [{ value, partition: i % partitions }] });
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      await producer.send({ topic: PROBE_TOPIC, messages: [{ value, partition: i % partitions }] });
      out.push(performance.now() - t0);
    }
  } finally {
    await producer.close();
  }
  return out.sort((a, b) => a - b);
}

export async function run(args: string[]): Promise<void> {
  const records = intFlag(args, 'records', 1_000_000);
  const recordBytes = intFlag(args, 'record-bytes', 100);
  const partitions = intFlag(args, 'partitions', 6);
  const lingerMs = intFlag(args, 'linger-ms', 10, 0);
  const window = intFlag(args, 'window', 1000);
  const probe = intFlag(args, 'probe', 500);
  const warmup = intFlag(args, 'warmup', 20_000, 0);
  const rounds = intFlag(args, 'rounds', 5);
  const probeWarmup = intFlag(args, 'probe-warmup', 3000, 0);
  const probeOnly = args.includes('--probe-only');
  const flushAt = args.indexOf('--flush');
  const flush = flushAt < 0 ? 'interval' : args[flushAt + 1];
  if (flush !== 'interval' && flush !== 'always') throw new Error(`--flush takes "always" (or "interval", the default), got ${flush ?? 'nothing'}`);
  const durable = flush === 'always';
  if (durable && probeOnly) throw new Error('--flush always measures throughput rounds: leave out --probe-only');
  const throughputRounds = probeOnly ? 0 : rounds;
  const topicOf = (r: number) => `${TOPIC}-${r}`;
  const median = (xs: number[]) => {
    const v = [...xs].sort((a, b) => a - b);
    const m = v.length >> 1;
    return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
  };
  const started = Date.now();

  let kastor: DirectCluster | null = null;
  let durableKastor: DirectCluster | null = null;
  let natsCluster: NatsCluster | null = null;
  try {
    goPeer();
    // ---- both clusters, side by side ----
    const config = { 'min.insync.replicas': '2' };
    const startKastor = async (prefix: string, brokerArgs: string[]) => {
      const c = await DirectCluster.start({ brokers: 3, prefix, brokerArgs });
      await c.createTopics([
        ...Array.from({ length: throughputRounds }, (_, r) => ({ name: topicOf(r + 1), partitions, replicationFactor: 3, config })),
        { name: WARMUP_TOPIC, partitions, replicationFactor: 3, config },
        { name: PROBE_TOPIC, partitions, replicationFactor: 3, config },
      ]);
      await c.waitReady([...Array.from({ length: throughputRounds }, (_, r) => topicOf(r + 1)), WARMUP_TOPIC, PROBE_TOPIC], (throughputRounds + 2) * partitions, { inSync: true, timeoutMs: 60_000 });
      return c;
    };
    kastor = await startKastor('kastor-bench-cluster-', []);
    log(`kastor: 3 brokers at ${kastor.bootstrap}, topics of ${partitions} partitions RF=3 in sync`);
    if (durable) {
      durableKastor = await startKastor('kastor-bench-cluster-always-', ['--flush', 'always']);
      log(`kastor --flush always: 3 brokers at ${durableKastor.bootstrap}, topics in sync`);
    }
    natsCluster = await NatsCluster.start({ size: 3 });
    const produceOpts = { brokers: kastor.bootstrap, recordBytes: recordBytes + 1, acks: -1 as const, partitions, lingerMs, timeoutMs: STEP_TIMEOUT_MS };
    const jsOpts = { url: natsCluster.urls, stream: STREAM, subject: SUBJECT, replicas: 3 as const, recordBytes, timeoutMs: STEP_TIMEOUT_MS };
    const durableOpts = durableKastor && { ...produceOpts, brokers: durableKastor.bootstrap };
    if (warmup > 0 && !probeOnly) {
      await kcatProduce({ ...produceOpts, topic: WARMUP_TOPIC, records: warmup });
      if (durableOpts) await kcatProduce({ ...durableOpts, topic: WARMUP_TOPIC, records: warmup });
      await jetstreamPublish({ ...jsOpts, records: warmup, window });
    }
    const produces: KcatResult[] = [];
    const durableProduces: KcatResult[] = [];
    const publishes: JetStreamPublishResult[] = [];
    const goPublishes: (JetStreamPublishResult | null)[] = [];
    for (let r = 1; r <= throughputRounds; r++) {
      try {
        produces.push(await kcatProduce({ ...produceOpts, topic: topicOf(r), records }));
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${kastor.lastLogs()}`, { cause: err });
      }
      log(`round ${r}: kastor produce acks=all: ${produces[r - 1]!.records_per_s} records/s (${produces[r - 1]!.seconds} s)`);
      log(`round ${r}: broker RSS MiB ${kastor.brokers.map((b) => round(rssMiB(b.pid!), 0)).join(', ')}`);
      const stored = await totalRecords(kastor, topicOf(r));
      if (stored !== records) throw new Error(`${topicOf(r)} holds ${stored} records after producing ${records}`);
      if (durableKastor && durableOpts) {
        try {
          durableProduces.push(await kcatProduce({ ...durableOpts, topic: topicOf(r), records }));
        } catch (err) {
          throw new Error(`${(err as Error).message}\n${durableKastor.lastLogs()}`, { cause: err });
        }
        log(`round ${r}: kastor --flush always produce acks=all: ${durableProduces[r - 1]!.records_per_s} records/s (${durableProduces[r - 1]!.seconds} s)`);
        const durableStored = await totalRecords(durableKastor, topicOf(r));
        if (durableStored !== records) throw new Error(`${topicOf(r)} (--flush always) holds ${durableStored} records after producing ${records}`);
      }
      publishes.push(await jetstreamPublish({ ...jsOpts, records, window }));
      log(`round ${r}: jetstream R3 publish: ${publishes[r - 1]!.records_per_s} records/s (${publishes[r - 1]!.seconds} s)`);
      goPublishes.push(await goPublish({ ...jsOpts, records, window }));
      if (goPublishes[r - 1]) log(`round ${r}: jetstream R3 publish (go): ${goPublishes[r - 1]!.records_per_s} records/s (${goPublishes[r - 1]!.seconds} s)`);
    }
    const kLat = await kastorProbe(kastor.bootstrap, probe, probeWarmup, partitions, recordBytes);
    log(`kastor probe: p50 ${round(percentile(kLat, 0.5), 3)} ms`);
    await kastor.close();
    kastor = null;
    const durableLat = durableKastor && (await kastorProbe(durableKastor.bootstrap, probe, probeWarmup, partitions, recordBytes));
    if (durableLat) log(`kastor --flush always probe: p50 ${round(percentile(durableLat, 0.5), 3)} ms`);
    await durableKastor?.close();
    durableKastor = null;
    if (probeWarmup > 0) await jetstreamPublish({ ...jsOpts, records: probeWarmup, window: 1 });
    const jsProbe = await jetstreamPublish({ ...jsOpts, records: probe, window: 1 });
    const goProbe = await goSyncProbe({ ...jsOpts, records: probe, warmup: probeWarmup });
    await jetstreamDeleteStream(natsCluster.urls, STREAM);

    /** What both throughput lines start with: the case and the load. */
    const throughputLine = (kase: string) => ({ bench: 'cluster', case: kase, records, record_bytes: recordBytes, partitions, brokers: 3, replication_factor: 3, min_insync_replicas: 2, linger_ms: lingerMs });
    // The throughput line (left out with --probe-only, which runs no rounds).
    if (!probeOnly) {
      const ratios = produces.map((k, i) => round(k.records_per_s / publishes[i]!.records_per_s));
      const vs = round(median(ratios));
      // The Go peer ran in every round or in none (it is built once, before the first).
      const goPubs = goPublishes.every((g) => g !== null) ? (goPublishes as JetStreamPublishResult[]) : null;
      const goRatios = goPubs?.map((g, i) => round(produces[i]!.records_per_s / g.records_per_s)) ?? null;
      const med = (xs: { records_per_s: number; mb_per_s: number; seconds: number }[]) => ({
        records_per_s: Math.round(median(xs.map((x) => x.records_per_s))),
        mb_per_s: round(median(xs.map((x) => x.mb_per_s))),
        seconds: round(median(xs.map((x) => x.seconds)), 3),
      });
      const produce = med(produces);
      const publish = {
        ...med(publishes),
        p50_ms: round(median(publishes.map((x) => x.p50_ms)), 3),
        p99_ms: round(median(publishes.map((x) => x.p99_ms)), 3),
      };
      print({
        ...throughputLine('produce-acks-all-rf3'),
        records_per_s: produce.records_per_s,
        mb_per_s: produce.mb_per_s,
        seconds: produce.seconds,
        jetstream: {
          replicas: 3,
          window,
          records_per_s: publish.records_per_s,
          mb_per_s: publish.mb_per_s,
          p50_ms: publish.p50_ms,
          p99_ms: publish.p99_ms,
          seconds: publish.seconds,
        },
        rounds,
        records_per_s_rounds: produces.map((x) => x.records_per_s),
        jetstream_records_per_s_rounds: publishes.map((x) => x.records_per_s),
        jetstream_go: goPubs && {
          replicas: 3,
          window,
          ...med(goPubs),
          p50_ms: round(median(goPubs.map((x) => x.p50_ms)), 3),
          p99_ms: round(median(goPubs.map((x) => x.p99_ms)), 3),
        },
        jetstream_go_records_per_s_rounds: goPubs && goPubs.map((x) => x.records_per_s),
        vs_jetstream: vs,
        vs_jetstream_rounds: ratios,
        vs_jetstream_go: goRatios && round(median(goRatios)),
        vs_jetstream_go_rounds: goRatios,
        target: TARGET,
        meets_target: vs >= TARGET,
      });
    }
    if (durableLat) {
      const ratios = durableProduces.map((d, i) => round(d.records_per_s / produces[i]!.records_per_s));
      const vs = round(median(ratios));
      print({
        ...throughputLine('produce-acks-all-rf3-flush-always'),
        flush: 'always',
        records_per_s: Math.round(median(durableProduces.map((x) => x.records_per_s))),
        mb_per_s: round(median(durableProduces.map((x) => x.mb_per_s))),
        interval_records_per_s: Math.round(median(produces.map((x) => x.records_per_s))),
        rounds,
        records_per_s_rounds: durableProduces.map((x) => x.records_per_s),
        interval_records_per_s_rounds: produces.map((x) => x.records_per_s),
        probe_p50_ms: round(percentile(durableLat, 0.5), 3),
        probe_p99_ms: round(percentile(durableLat, 0.99), 3),
        interval_probe_p50_ms: round(percentile(kLat, 0.5), 3),
        vs_interval: vs,
        vs_interval_rounds: ratios,
        target: 0.5,
        meets_target: vs >= 0.5,
      });
    }
    const kp50 = percentile(kLat, 0.5);
    print({
      bench: 'cluster',
      case: 'ack-latency-probe',
      samples: probe,
      record_bytes: recordBytes,
      what: 'one record at a time, unloaded: Kastor client acks=all send() to resolve; JetStream R3 publish to PubAck (Node: window 1; Go: js.Publish)',
      p50_ms: round(kp50, 3),
      p99_ms: round(percentile(kLat, 0.99), 3),
      records_per_s: Math.round(probe / (kLat.reduce((a, b) => a + b, 0) / 1000)),
      jetstream: { p50_ms: jsProbe.p50_ms, p99_ms: jsProbe.p99_ms, records_per_s: jsProbe.records_per_s },
      jetstream_go: goProbe && { p50_ms: goProbe.p50_ms, p99_ms: goProbe.p99_ms, records_per_s: goProbe.records_per_s },
      vs_jetstream: round(jsProbe.p50_ms / kp50),
      vs_jetstream_go: goProbe && round(goProbe.p50_ms / kp50),
    });
    log(`done in ${round((Date.now() - started) / 1000, 1)} s`);
  } finally {
    await kastor?.close().catch((e) => log(`cleanup: ${String(e)}`));
    await durableKastor?.close().catch((e) => log(`cleanup: ${String(e)}`));
    await natsCluster?.dispose().catch((e) => log(`cleanup: ${String(e)}`));
    kcatCleanup();
  }
}
