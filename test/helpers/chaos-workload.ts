// The workload and the verdict every crash test shares: a bounded stream of uniquely numbered records
// produced with acks=all while a fault happens (KafkaJS, or kcat in chunks), then — once every broker is
// back and in sync — everything read back with kcat up to the high watermark, checked with the history
// checker, and every partition's replica logs compared byte for byte below the high watermark.
//
// Producers keep one request in flight per partition and retry a failed send themselves (KafkaJS's own
// retries are off), so the history knows exactly which records may have been written twice (the retried
// ones) and the order check holds.
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { startTestCluster, type TestCluster } from '../../src/testing/test-cluster.ts';
import { checkHistory, compareReplicaLogs, describeViolations, type ReadRecord, type SentRecord } from '../../src/testing/checker.ts';
import { listLatestOffsets, roundTrip } from '../../src/testing/kafka-request.ts';
import { encodeRequest, decodeResponse } from '../../src/protocol/frames.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { buildRecordBatch, readRecords } from '../../src/protocol/record-batch.ts';
import { run } from './single-broker.ts';

export interface WorkloadOptions {
  topic: string;
  partitions: number;
  /**
   * Upper bound on records per partition (the loops are bounded even if nobody calls stop). Per partition, not
   * in all: with one bound shared by the partitions' loops, the partitions a fault did not touch used it up
   * while the faulted one recovered, and the test's wait for progress on every partition then timed out.
   */
  maxRecords?: number;
  /** Records per send. */
  batchSize?: number;
  /** Pause between sends of one partition, to spread the stream over the fault. */
  paceMs?: number;
  /** Attempts per batch before it counts as failed. */
  maxAttempts?: number;
  producer?: string;
}

export interface LateAck {
  id: string;
  topic: string;
  partition: number;
  offset: number;
}

export interface Workload {
  readonly sent: SentRecord[];
  /** Acknowledged records so far. */
  acked(): number;
  /** Send errors seen (each retry counts). */
  readonly errors: string[];
  /** Acknowledgements that arrived after the workload had given up on the send (and retried it). */
  readonly lateAcks?: LateAck[];
  /** Stops after the batches in flight; resolves when every partition loop has ended. */
  stop(): Promise<void>;
  readonly done: Promise<void>;
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The cluster every chaos scenario runs on: 3 brokers, a 3 s session timeout, one RF=3 topic with min.insync.replicas=2. */
export function startChaosCluster(topic: string, partitions = 3): Promise<TestCluster> {
  return startTestCluster({
    brokers: 3,
    sessionTimeoutMs: 3_000,
    topics: [{ name: topic, partitions, replicationFactor: 3, config: { 'min.insync.replicas': '2' } }],
  });
}

export async function pollUntil(what: string | (() => string), check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(50);
  }
}

/**
 * Partition loops produce `<producer>-<n>` values with KafkaJS, acks=-1, no idempotence, one send in flight
 * each. Each partition has its own KafkaJS producer, replaced after a failed send: KafkaJS does not refresh
 * its metadata after a request timeout, so a producer whose leader froze would keep writing to the zombie.
 */
export async function startKafkaJsWorkload(cluster: TestCluster, opts: WorkloadOptions): Promise<Workload> {
  const name = opts.producer ?? 'kjs';
  const kafka = new Kafka({
    clientId: `chaos-${name}`,
    // A fresh random order at each (re)connect, of the brokers the harness has not frozen or killed: KafkaJS
    // bootstraps from one broker, and a frozen one stalls a new producer for its whole request timeout (a TCP
    // connect to a stopped process succeeds; its requests hang). Picked a few times in a row, that alone
    // could use up a test's wait for progress: what is tested is Kastor's recovery, not KafkaJS's choice of
    // bootstrap broker. Metadata still names every registered broker, the frozen one until it is declared dead.
    brokers: () => {
      const live = cluster.liveBrokers();
      const ids = live.length > 0 ? live : cluster.brokers;
      return shuffle(ids.map((id) => `127.0.0.1:${cluster.addressOf(id).port}`));
    },
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 5_000,
    retry: { retries: 0 },
  });
  const newProducer = (): Producer => kafka.producer({ allowAutoTopicCreation: false, idempotent: false, maxInFlightRequests: 1, retry: { retries: 0 } });
  const producers = Array.from({ length: opts.partitions }, newProducer);
  await Promise.all(producers.map((p) => p.connect()));
  const sent: SentRecord[] = [];
  const errors: string[] = [];
  let stopped = false;
  let acked = 0;
  let next = 0;
  const max = opts.maxRecords ?? 20_000;
  const batchSize = opts.batchSize ?? 5;
  const maxAttempts = opts.maxAttempts ?? 60;
  const seqs = new Array<number>(opts.partitions).fill(0);
  const retired: Promise<void>[] = [];
  const lateAcks: LateAck[] = [];

  const loop = async (partition: number) => {
    while (!stopped && seqs[partition]! < max) {
      const batch: SentRecord[] = [];
      for (let i = 0; i < batchSize && seqs[partition]! < max; i++) {
        const r: SentRecord = { id: `${name}-${next++}`, topic: opts.topic, partition, producer: name, seq: seqs[partition]!++, status: 'unacked', mayRetry: false };
        batch.push(r);
        sent.push(r);
      }
      for (let attempt = 1; ; attempt++) {
        if (attempt > 1) for (const r of batch) r.mayRetry = true;
        try {
          const send = producers[partition]!.send({ topic: opts.topic, acks: -1, timeout: 5_000, messages: batch.map((r) => ({ value: r.id, partition })) });
          // KafkaJS's own request timeout does not always fire against a frozen broker: give up after 7 s.
          // An abandoned send may still fail later, or succeed: then the client did get an acknowledgement.
          let abandoned = false;
          send.then(
            (late) => {
              const meta = late.find((m) => m.partition === partition);
              if (abandoned && meta && meta.errorCode === 0) batch.forEach((r, i) => lateAcks.push({ id: r.id, topic: r.topic, partition, offset: Number(meta.baseOffset) + i }));
            },
            () => {},
          );
          let timer: NodeJS.Timeout | undefined;
          const res = await Promise.race([
            send,
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => {
                abandoned = true;
                reject(new Error('no answer within 7 s'));
              }, 7_000);
            }),
          ]).finally(() => clearTimeout(timer));
          const meta = res.find((m) => m.partition === partition);
          if (!meta || meta.errorCode !== 0) throw new Error(`send answered ${JSON.stringify(res)}`);
          const base = Number(meta.baseOffset);
          batch.forEach((r, i) => {
            r.status = 'acked';
            r.offset = base + i;
          });
          acked += batch.length;
          break;
        } catch (err) {
          errors.push(`${partition}: ${(err as Error).message}`);
          if (stopped) break; // left 'unacked': it may or may not have been written
          if (attempt >= maxAttempts) {
            for (const r of batch) r.status = 'failed';
            break;
          }
          await sleep(Math.min(500, 50 * attempt));
          const old = producers[partition]!;
          retired.push(old.disconnect().catch(() => {}));
          const fresh = newProducer();
          producers[partition] = fresh;
          await fresh.connect().catch((e: Error) => errors.push(`${partition}: connect: ${e.message}`));
        }
      }
      if (opts.paceMs) await sleep(opts.paceMs);
    }
  };
  const done = Promise.all(Array.from({ length: opts.partitions }, (_, p) => loop(p))).then(async () => {
    await Promise.all([...retired, ...producers.map((p) => p.disconnect().catch(() => {}))]);
  });
  return {
    sent,
    errors,
    lateAcks,
    acked: () => acked,
    done,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

/**
 * kcat -P -X acks=all in chunks of `batchSize` records per process (one partition each, in turn). kcat does
 * not report per-record results: a chunk whose kcat exits 0 without a delivery failure is acknowledged (at
 * unknown offsets); otherwise its records count as failed. librdkafka retries on its own without
 * idempotence, so every record may appear twice; max.in.flight=1 keeps the order.
 */
export function startKcatWorkload(cluster: TestCluster, opts: WorkloadOptions): Workload {
  const name = opts.producer ?? 'kcat';
  const sent: SentRecord[] = [];
  const errors: string[] = [];
  let stopped = false;
  let acked = 0;
  let next = 0;
  const max = opts.maxRecords ?? 20_000;
  const batchSize = opts.batchSize ?? 50;
  const seqs = new Array<number>(opts.partitions).fill(0);
  const loop = async () => {
    for (let chunk = 0; !stopped && seqs.some((n) => n < max); chunk++) {
      const partition = chunk % opts.partitions;
      if (seqs[partition]! >= max) continue;
      const batch: SentRecord[] = [];
      for (let i = 0; i < batchSize && seqs[partition]! < max; i++) {
        const r: SentRecord = { id: `${name}-${next++}`, topic: opts.topic, partition, producer: name, seq: seqs[partition]!++, status: 'unacked', mayRetry: true };
        batch.push(r);
        sent.push(r);
      }
      try {
        const { stderr } = await run(
          'kcat',
          [
            '-P', '-b', cluster.bootstrapServers, '-t', opts.topic, '-p', String(partition),
            '-X', 'acks=all', '-X', 'enable.idempotence=false', '-X', 'max.in.flight=1',
            '-X', 'message.timeout.ms=15000', '-X', 'retry.backoff.ms=100', '-X', 'topic.metadata.refresh.interval.ms=1000',
          ],
          { input: batch.map((r) => r.id).join('\n') + '\n', timeoutMs: 30_000 },
        );
        if (/Delivery failed/.test(stderr)) throw new Error(stderr.trim().split('\n').slice(-3).join(' | '));
        for (const r of batch) r.status = 'acked';
        acked += batch.length;
      } catch (err) {
        errors.push(`${partition}: ${(err as Error).message.slice(0, 300)}`);
        for (const r of batch) r.status = 'failed';
      }
      if (opts.paceMs) await sleep(opts.paceMs);
    }
  };
  const done = loop();
  return {
    sent,
    errors,
    acked: () => acked,
    done,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

export interface Verdict {
  highWatermarks: Record<string, number>;
  read: number;
  acked: number;
  stats: ReturnType<typeof checkHistory>['stats'];
}

/**
 * Waits for every broker to be back and in sync, reads every partition with kcat from the beginning to the
 * high watermark, runs the history checker and compares the replica logs below the high watermark. Throws
 * one error listing every violation (and the tail of every broker's log) when anything is wrong.
 */
export async function verify(cluster: TestCluster, topic: string, partitions: number, sent: SentRecord[], lateAcks: LateAck[] = [], timeoutMs = 30_000): Promise<Verdict> {
  await cluster.waitForInSync(topic, { timeoutMs });
  const highWatermarks: Record<string, number> = {};
  const read: ReadRecord[] = [];
  const problems: string[] = [];
  for (let p = 0; p < partitions; p++) {
    const leader = cluster.partitionState(topic, p).leader;
    const hw = (await listLatestOffsets(cluster.addressOf(leader), topic, [p])).get(p);
    if (!hw || hw.errorCode !== 0) throw new Error(`ListOffsets ${topic}-${p} at leader ${leader}: ${JSON.stringify(hw)}`);
    highWatermarks[`${topic}-${p}`] = hw.offset;
    const { stdout } = await run('kcat', ['-C', '-b', cluster.bootstrapServers, '-t', topic, '-p', String(p), '-o', 'beginning', '-e', '-q', '-f', '%o %s\n'], { timeoutMs: 60_000 });
    for (const line of stdout.split('\n')) {
      if (!line) continue;
      const sp = line.indexOf(' ');
      read.push({ topic, partition: p, offset: Number(line.slice(0, sp)), value: line.slice(sp + 1) });
    }
    // Every replica is in the ISR now, so each holds at least everything below the high watermark.
    const logs = compareReplicaLogs(cluster.partitionDirs(topic, p), hw.offset);
    if (!logs.ok) {
      problems.push(`replica logs of ${topic}-${p} below HW ${hw.offset}:\n${describeViolations(logs)}`);
      // What each replica holds at the first differing batch: the record values say whose write it was.
      for (const v of logs.violations.filter((x) => x.kind === 'differs').slice(0, 1)) {
        for (const dir of cluster.partitionDirs(topic, p)) {
          const b = logs.batches.get(dir)?.find((x) => x.baseOffset === v.offset);
          const values = b ? readRecords(b.bytes).map((r) => r.value?.toString() ?? 'null') : [];
          problems.push(`  ${dir} @${v.offset}: epoch ${b?.bytes.readInt32BE(12)} values ${values.join(',')}`);
        }
      }
    }
  }
  const report = checkHistory({ sent, read, highWatermarks });
  // A late acknowledgement is still a promise: the record must be at the offset it was acknowledged at.
  const at = new Map(read.map((r) => [`${r.partition}@${r.offset}`, r.value]));
  for (const a of lateAcks) {
    const value = at.get(`${a.partition}@${a.offset}`);
    if (value !== a.id) problems.push(`late acknowledgement of ${a.id} at ${a.topic}-${a.partition}@${a.offset}, which holds ${value ?? 'nothing'}`);
  }
  if (!report.ok) problems.unshift(`history of ${topic} (${JSON.stringify(report.stats)}):\n${describeViolations(report)}`);
  if (problems.length > 0) {
    const logs = cluster.brokers.map((id) => `--- broker ${id} (last lines)\n${cluster.logs(id).slice(-15).join('\n')}`).join('\n');
    throw new Error(`${problems.join('\n')}\n${logs}`);
  }
  return { highWatermarks, read: read.length, acked: report.stats.acked, stats: report.stats };
}

/** Acknowledged records of one partition so far. */
export function ackedOn(w: Workload, partition: number): number {
  let n = 0;
  for (const r of w.sent) if (r.partition === partition && r.status === 'acked') n++;
  return n;
}

/** Waits until every partition has `more` acknowledged records beyond what it had when called: produce works again. */
export async function waitForProgress(w: Workload, partitions: number, more: number, timeoutMs: number): Promise<void> {
  const base = Array.from({ length: partitions }, (_, p) => ackedOn(w, p));
  await pollUntil(
    () => `${more} more acknowledged records on every partition (acknowledged per partition: before [${base}], now [${base.map((_, p) => ackedOn(w, p))}]; last errors: ${w.errors.slice(-3).join(' | ')})`,
    () => base.every((b, p) => ackedOn(w, p) >= b + more),
    timeoutMs,
  );
}

/** One raw Produce (v7) of the given values to one broker; resolves with the partition's error code and base offset. */
export async function produceOnce(
  cluster: TestCluster,
  brokerId: number,
  topic: string,
  partition: number,
  values: string[],
  acks: number,
  timeoutMs: number,
): Promise<{ errorCode: number; baseOffset: number } | { error: string }> {
  const req = encodeRequest(ApiKey.Produce, 7, 7, 'chaos', {
    transactionalId: null,
    acks,
    timeoutMs,
    topicData: [{ name: topic, partitionData: [{ index: partition, records: buildRecordBatch({ records: values.map((value) => ({ value })) }) }] }],
  });
  try {
    const frame = await roundTrip(cluster.addressOf(brokerId), ApiKey.Produce, req, timeoutMs + 3_000);
    const p = decodeResponse(ApiKey.Produce, 7, frame).body.responses[0]!.partitionResponses[0]!;
    return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const t0 = Date.now();
/** A progress line on stderr with the seconds since the test file started (shown when a chaos test fails). */
export function step(message: string): void {
  process.stderr.write(`[chaos +${((Date.now() - t0) / 1000).toFixed(1)}s] ${message}\n`);
}
