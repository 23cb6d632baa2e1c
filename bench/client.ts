// Kastor's own client against KafkaJS 2.2.4 and @platformatic/kafka on one Kastor broker, in the same run (STYLE.md
// point 8):
//
//   npx tsx bench/run.ts client [--records N] [--record-bytes B] [--partitions P] [--chunk C] [--window W]
//
// produce-acks-all: each client sends `records` values of `record-bytes` bytes (null keys) with acks=all to its
//   own fresh topic of P partitions, driven the same way: send() calls of C messages, W of them outstanding.
//   Kastor first, then KafkaJS, then @platformatic/kafka. Every count is checked against the partitions' end offsets.
// consume: Kastor's consumer (manual assignment, from earliest) reads its topic back; KafkaJS's consumer (a
//   consumer group, eachBatch, from the beginning) reads its own, @platformatic/kafka's (a consumer group, its
//   message stream from the earliest offset, autocommit off) its own; and a raw Fetch loop over BrokerConnection
//   (no record decoding: it counts records from batch headers) gives the wire ceiling of this broker and machine.
//   Kastor's consumer and the raw loop each read the topic once untimed (JIT warm-up), then three times timed, in
//   turn; their lines give the median (one read of 100 MB takes a few hundred ms, and single reads varied by 2x).
//   The KafkaJS consumer needs the group coordinator; when it does not deliver, its line says "skipped".
//   Both consumers are timed from their first batch to their last, so KafkaJS's group join (seconds of
//   rebalance delay) and Kastor's ListOffsets are left out alike; the raw loop is timed from its first request.
//
// One JSON line per case on stdout with records_per_s, mb_per_s (10^6 bytes of values), vs_kafkajs and
// vs_platformatic (Kastor records/s ÷ theirs) and, for the consumer, vs_raw_fetch; progress goes to stderr. Targets
// (issue 21): vs_kafkajs >= 3, vs_platformatic >= 1.5 (produce and consume), vs_raw_fetch >= 0.8.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Kafka as KafkaJS, logLevel } from 'kafkajs';
import { NatsServer } from '../src/testing/nats-server.ts';
import { BrokerProcess } from '../src/testing/broker-process.ts';
import { Kafka, BrokerConnection, type RecordMetadata } from '../src/client/index.ts';
import { batchPositions, readBatchHeader } from '../src/protocol/record-batch.ts';
// @platformatic/kafka 2.x wants Node 22's Promise.withResolvers; the shim gives it on Node 20 (see the file).
import '../test/helpers/platformatic-shim.ts';

const platformatic = await import('@platformatic/kafka');

interface Args {
  records: number;
  recordBytes: number;
  partitions: number;
  chunk: number;
  window: number;
}

const TARGET = 3;
const TARGET_VS_PLATFORMATIC = 1.5;
const TARGET_VS_RAW_FETCH = 0.8;
const STEP_TIMEOUT_MS = 300_000;
const CONSUME_ROUNDS = 3;

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

export function parseArgs(args: string[]): Args {
  const out: Args = { records: 1_000_000, recordBytes: 100, partitions: 1, chunk: 1000, window: 8 };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const key = ({ '--records': 'records', '--record-bytes': 'recordBytes', '--partitions': 'partitions', '--chunk': 'chunk', '--window': 'window' } as const)[flag as '--records'];
    if (!key) throw new Error(`unknown argument ${flag} (use --records N, --record-bytes B, --partitions P, --chunk C, --window W)`);
    const n = Number(args[++i]);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs an integer >= 1, got ${args[i]}`);
    out[key] = n;
  }
  return out;
}

const log = (s: string) => process.stderr.write(`${s}\n`);

function values(n: number, bytes: number): Buffer[] {
  // 1000 distinct values reused in turn: the bytes differ, nobody can cache one buffer's encoding.
  return Array.from({ length: Math.min(n, 1000) }, (_, i) => Buffer.alloc(bytes, String.fromCharCode(97 + (i % 26))));
}

async function withDeadline<T>(what: string, p: Promise<T>, ms = STEP_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `send(chunkIndex)` for every chunk with `window` of them outstanding; returns seconds. */
async function drive(chunks: number, window: number, send: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < chunks) await send(next++);
  };
  await Promise.all(Array.from({ length: window }, worker));
  return (performance.now() - t0) / 1000;
}

function line(fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(fields)}\n`);
}

const ratio = (ours: { records_per_s: number }, theirs: { records_per_s: number }) => Number((ours.records_per_s / theirs.records_per_s).toFixed(2));

function rate(records: number, bytes: number, seconds: number) {
  return { records_per_s: Math.round(records / seconds), mb_per_s: Number((bytes / 1e6 / seconds).toFixed(2)), seconds: Number(seconds.toFixed(3)) };
}

export async function run(argv: string[]): Promise<void> {
  const a = parseArgs(argv);
  const dir = mkdtempSync(join(tmpdir(), 'kastor-bench-client-'));
  const nats = await NatsServer.start({ dir: join(dir, 'nats') });
  let broker: BrokerProcess | null = null;
  try {
    broker = await BrokerProcess.start({ id: 1, natsUrl: nats.url, dataDir: join(dir, 'broker-1'), extraArgs: ['--auto-create-topics=false'] });
    const bootstrap = broker.bootstrap;
    const kafka = new Kafka({ bootstrap, clientId: 'bench-kastor' });
    const admin = kafka.admin();
    await admin.createTopics(['bench-kastor', 'bench-kafkajs', 'bench-platformatic', 'bench-warmup'].map((topic) => ({ topic, numPartitions: a.partitions, replicationFactor: 1 })));
    const vals = values(a.records, a.recordBytes);
    const chunks = Math.ceil(a.records / a.chunk);
    const chunkOf = (i: number) => {
      const n = Math.min(a.chunk, a.records - i * a.chunk);
      return Array.from({ length: n }, (_, j) => ({ value: vals[(i * a.chunk + j) % vals.length]! }));
    };
    const totalBytes = a.records * a.recordBytes;
    const common = { records: a.records, record_bytes: a.recordBytes, partitions: a.partitions, acks: 'all' };

    // Warm-up: the broker's code paths and both clients' connections, on a topic nobody measures.
    const warm = kafka.producer({ acks: 'all' });
    await warm.send({ topic: 'bench-warmup', messages: chunkOf(0) });
    await warm.close();

    // --- produce, Kastor ---
    log(`kastor producer: ${a.records} records of ${a.recordBytes} bytes, acks=all, ${a.partitions} partition(s)`);
    const producer = kafka.producer({ acks: 'all' });
    await producer.connect();
    let acked = 0;
    const kastorProduceS = await withDeadline(
      'kastor produce',
      drive(chunks, a.window, async (i) => {
        const r: RecordMetadata[] = await producer.send({ topic: 'bench-kastor', messages: chunkOf(i) });
        acked += r.length;
      }),
    );
    await producer.close();
    await checkCount(admin, 'bench-kastor', a.records, acked);

    // --- produce, KafkaJS ---
    log('kafkajs producer: same records, same driver');
    const js = new KafkaJS({ clientId: 'bench-kafkajs', brokers: [bootstrap], logLevel: logLevel.NOTHING });
    const jsProducer = js.producer({ allowAutoTopicCreation: false });
    await jsProducer.connect();
    await jsProducer.send({ topic: 'bench-warmup', acks: -1, messages: chunkOf(0) });
    let jsAcked = 0;
    const jsProduceS = await withDeadline(
      'kafkajs produce',
      drive(chunks, a.window, async (i) => {
        const messages = chunkOf(i);
        await jsProducer.send({ topic: 'bench-kafkajs', acks: -1, messages });
        jsAcked += messages.length;
      }),
    );
    await jsProducer.disconnect();
    await checkCount(admin, 'bench-kafkajs', a.records, jsAcked);

    // --- produce, @platformatic/kafka ---
    log('@platformatic/kafka producer: same records, same driver');
    const plProducer = new platformatic.Producer({ clientId: 'bench-platformatic', bootstrapBrokers: [bootstrap], acks: -1, autocreateTopics: false });
    const plMessages = (topic: string, i: number) => chunkOf(i).map((m) => ({ topic, value: m.value }));
    await plProducer.send({ messages: plMessages('bench-warmup', 0) });
    let plAcked = 0;
    const plProduceS = await withDeadline(
      '@platformatic/kafka produce',
      drive(chunks, a.window, async (i) => {
        const messages = plMessages('bench-platformatic', i);
        await plProducer.send({ messages });
        plAcked += messages.length;
      }),
    );
    await plProducer.close();
    await checkCount(admin, 'bench-platformatic', a.records, plAcked);

    const kp = rate(a.records, totalBytes, kastorProduceS);
    const jp = rate(a.records, totalBytes, jsProduceS);
    const pp = rate(a.records, totalBytes, plProduceS);
    line({
      bench: 'client-produce-acks-all',
      client: 'kastor',
      ...common,
      ...kp,
      vs_kafkajs: ratio(kp, jp),
      target_vs_kafkajs: TARGET,
      vs_platformatic: ratio(kp, pp),
      target_vs_platformatic: TARGET_VS_PLATFORMATIC,
    });
    line({ bench: 'client-produce-acks-all', client: 'kafkajs', ...common, ...jp });
    line({ bench: 'client-produce-acks-all', client: 'platformatic', ...common, ...pp });

    // --- consume, Kastor, and the raw Fetch loop: each reads the topic once untimed, so neither pays for the JIT
    // warming its code, then three timed reads each, in turn, and the medians are reported (one read each, the
    // consumer first, gave the raw loop a warm broker).
    const kastorConsume = () =>
      withDeadline(
        'kastor consume',
        (async () => {
          const consumer = kafka.consumer({ maxWaitMs: 100 });
          consumer.assign(Array.from({ length: a.partitions }, (_, partition) => ({ topic: 'bench-kastor', partition, offset: 'earliest' as const })));
          try {
            // Same clock rule as the KafkaJS consumer below: from the first batch delivered to the last.
            let t0 = 0;
            let n = 0;
            let bytes = 0;
            for await (const batch of consumer) {
              if (t0 === 0) t0 = performance.now();
              for (const r of batch.records) bytes += r.value!.length;
              n += batch.records.length;
              if (n >= a.records) break;
            }
            if (n !== a.records || bytes !== totalBytes) throw new Error(`kastor consumer read ${n} records / ${bytes} bytes, expected ${a.records} / ${totalBytes}`);
            return (performance.now() - t0) / 1000;
          } finally {
            await consumer.close();
          }
        })(),
      );
    const rawConsume = () => withDeadline('raw fetch', rawFetch(bootstrap, 'bench-kastor', a.partitions, a.records));
    log(`kastor consumer and raw fetch (counting records from batch headers): bench-kastor from earliest, a warm-up read each, then ${CONSUME_ROUNDS} timed ones each, in turn`);
    await kastorConsume();
    await rawConsume();
    const kastorTimes: number[] = [];
    const rawTimes: number[] = [];
    for (let i = 0; i < CONSUME_ROUNDS; i++) {
      kastorTimes.push(await kastorConsume());
      rawTimes.push(await rawConsume());
    }
    const kastorConsumeS = median(kastorTimes);
    const rawS = median(rawTimes);

    // --- consume, KafkaJS (needs consumer groups) ---
    log('kafkajs consumer: read bench-kafkajs from the beginning (group, eachBatch)');
    let jsConsume: { seconds: number } | { skipped: string };
    try {
      jsConsume = { seconds: await kafkajsConsume(js, 'bench-kafkajs', a.records, totalBytes) };
    } catch (err) {
      jsConsume = { skipped: (err as Error).message };
      log(`kafkajs consumer skipped: ${(err as Error).message}`);
    }

    // --- consume, @platformatic/kafka (a consumer group) ---
    log('@platformatic/kafka consumer: read bench-platformatic from the earliest offset (group, message stream)');
    const plConsumeS = await withDeadline('@platformatic/kafka consume', platformaticConsume(bootstrap, 'bench-platformatic', a.records, totalBytes));

    const kc = rate(a.records, totalBytes, kastorConsumeS);
    const rc = rate(a.records, totalBytes, rawS);
    const jc = 'seconds' in jsConsume ? rate(a.records, totalBytes, jsConsume.seconds) : null;
    const pc = rate(a.records, totalBytes, plConsumeS);
    line({
      bench: 'client-consume',
      client: 'kastor',
      ...common,
      ...kc,
      vs_kafkajs: jc ? ratio(kc, jc) : null,
      target_vs_kafkajs: TARGET,
      vs_platformatic: ratio(kc, pc),
      target_vs_platformatic: TARGET_VS_PLATFORMATIC,
      vs_raw_fetch: ratio(kc, rc),
      target_vs_raw_fetch: TARGET_VS_RAW_FETCH,
    });
    line({ bench: 'client-consume', client: 'kafkajs', ...common, ...(jc ?? { skipped: (jsConsume as { skipped: string }).skipped }) });
    line({ bench: 'client-consume', client: 'platformatic', ...common, ...pc });
    line({ bench: 'client-consume', client: 'raw-fetch-baseline', ...common, ...rc, note: 'Fetch loop over BrokerConnection, records counted from batch headers, not decoded' });
    await admin.close();
  } finally {
    await broker?.kill().catch(() => {});
    await nats.dispose().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

async function checkCount(admin: ReturnType<Kafka['admin']>, topic: string, expected: number, acked: number): Promise<void> {
  const offsets = await admin.fetchOffsets(topic);
  const stored = offsets.reduce((s, o) => s + Number(o.latest - o.earliest), 0);
  if (stored !== expected || acked !== expected) throw new Error(`${topic}: ${acked} acknowledged, ${stored} stored, expected ${expected}`);
}

async function rawFetch(bootstrap: string, topic: string, partitions: number, records: number): Promise<number> {
  const [host, port] = bootstrap.split(':');
  const conn = await BrokerConnection.connect({ host: host!, port: Number(port) });
  try {
    const t0 = performance.now();
    const offsets = Array.from({ length: partitions }, () => 0n);
    let n = 0;
    while (n < records) {
      const res = await conn.request(1, 12, {
        replicaId: -1, maxWaitMs: 100, minBytes: 1, maxBytes: 50 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
        topics: [{ topic, partitions: offsets.map((fetchOffset, partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 8 << 20 })) }],
      });
      for (const p of res.responses[0]!.partitions) {
        const buf = p.records;
        if (!buf) continue;
        for (const { pos } of batchPositions(buf)) {
          const h = readBatchHeader(buf, pos);
          if (BigInt(h.baseOffset) < offsets[p.partitionIndex]!) continue;
          n += h.recordsCount;
          offsets[p.partitionIndex] = BigInt(h.baseOffset + h.lastOffsetDelta + 1);
        }
      }
    }
    if (n !== records) throw new Error(`raw fetch counted ${n} records, expected ${records}`);
    return (performance.now() - t0) / 1000;
  } finally {
    conn.close();
  }
}

async function kafkajsConsume(js: KafkaJS, topic: string, records: number, totalBytes: number): Promise<number> {
  const consumer = js.consumer({ groupId: `bench-${Date.now()}`, maxBytes: 50 << 20, maxBytesPerPartition: 8 << 20, maxWaitTimeInMs: 100 });
  try {
    await withDeadline('kafkajs consumer join', (async () => {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
    })(), 30_000);
    let n = 0;
    let bytes = 0;
    let t0 = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    await consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        if (t0 === 0) t0 = performance.now();
        for (const m of batch.messages) bytes += m.value?.length ?? 0;
        n += batch.messages.length;
        if (n >= records) resolveDone();
      },
    });
    // The clock starts at the first batch: KafkaJS's group join (several seconds of rebalance delay) is left out.
    await withDeadline('kafkajs consume', done, 120_000);
    const seconds = (performance.now() - t0) / 1000;
    if (n !== records || bytes !== totalBytes) throw new Error(`kafkajs consumer read ${n} records / ${bytes} bytes, expected ${records} / ${totalBytes}`);
    return seconds;
  } finally {
    await consumer.disconnect().catch(() => {});
  }
}

/** @platformatic/kafka's consumer in a fresh group, timed from its first message to its last (its join left out). */
async function platformaticConsume(bootstrap: string, topic: string, records: number, totalBytes: number): Promise<number> {
  const consumer = new platformatic.Consumer({
    groupId: `bench-platformatic-${Date.now()}`,
    clientId: 'bench-platformatic',
    bootstrapBrokers: [bootstrap],
    maxWaitTime: 100,
    maxBytes: 50 << 20,
    maxBytesPerPartition: 8 << 20,
    sessionTimeout: 10_000,
    heartbeatInterval: 500,
  });
  try {
    const stream = await consumer.consume({ topics: [topic], autocommit: false, mode: 'earliest' });
    let n = 0;
    let bytes = 0;
    let t0 = 0;
    for await (const m of stream) {
      if (t0 === 0) t0 = performance.now();
      bytes += (m.value as Buffer | undefined)?.length ?? 0;
      if (++n >= records) break;
    }
    const seconds = (performance.now() - t0) / 1000;
    await stream.close();
    if (n !== records || bytes !== totalBytes) throw new Error(`@platformatic/kafka consumer read ${n} records / ${bytes} bytes, expected ${records} / ${totalBytes}`);
    return seconds;
  } finally {
    await consumer.close(true).catch(() => {});
  }
}
