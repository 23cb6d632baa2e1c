// Moving a partition to a new broker (AlterPartitionReassignments, KIP-455), against copying the same bytes over
// the same nats-server raw, in the same run (STYLE.md point 8):
//
//   npx tsx bench/run.ts reassign [--mb 1024] [--record-kib 16] [--window 4]
//
// Two brokers (one private nats-server, no proxy) and a topic of one partition, RF=1, filled with --mb MiB of
// --record-kib KiB values (Kastor's producer, acks=1, 960 KiB batches). A third broker is started. Then:
//   raw       the partition's segment files (on the broker holding it) are served by one process and copied by
//             another over the nats-server, 1 MiB request/reply chunks, --window requests outstanding
//             (bench/reassign-raw-peer.ts); seconds from the first request to the last write.
//   reassign  the partition is moved to the new broker (replicas [old] -> [3]); seconds from the
//             AlterPartitionReassignments request until ListPartitionReassignments is empty and Metadata shows
//             replicas [3] with 3 in the ISR (polled every 100 ms, so up to ~0.1 s late).
// Both copies are checked: the new replica's segment files, end to end, hash (SHA-256) to the bytes the old
// replica held, and its log end offset is the old one; the raw copy hashes to the same.
//
// One JSON line: bytes, seconds and MB/s (MiB/s) of each, and ratio = reassign MB/s / raw MB/s. The machine
// may be shared: run it a few times and read the figures as noisy.
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Kafka, type Admin } from '../src/client/index.ts';
import { BrokerProcess } from '../src/testing/broker-process.ts';
import { DirectCluster, print, round, intFlag, delay } from './cluster-kit.ts';

const MB = 1024 * 1024;
const TOPIC = 'reassign-bench';
const STEP_LIMIT_MS = 20 * 60_000;
const PEER = fileURLToPath(new URL('./reassign-raw-peer.ts', import.meta.url));

const log = (msg: string) => process.stderr.write(`reassign: ${msg}\n`);

/** The partition's segment files on a broker, in offset order (their names are the zero-padded base offsets). */
function segmentFiles(dataDir: string): string[] {
  const dir = join(dataDir, `${TOPIC}-0`);
  return readdirSync(dir).filter((f) => f.endsWith('.log')).sort().map((f) => join(dir, f));
}

const totalSize = (files: string[]) => files.reduce((s, f) => s + statSync(f).size, 0);

/** Waits until the segment files stop growing (the broker's buffered appends reach the files): their bytes. */
async function settledFiles(dataDir: string): Promise<string[]> {
  let last = -1;
  for (let i = 0; i < 60; i++) {
    const files = segmentFiles(dataDir);
    const size = totalSize(files);
    if (size === last) return files;
    last = size;
    await delay(1000);
  }
  throw new Error(`the segment files under ${dataDir} kept changing for 60 s`);
}

async function sha256(files: string[]): Promise<string> {
  const h = createHash('sha256');
  for (const f of files) for await (const c of createReadStream(f, { highWaterMark: MB })) h.update(c as Buffer);
  return h.digest('hex');
}

async function fill(kafka: Kafka, bytes: number, recordKiB: number): Promise<void> {
  const producer = kafka.producer({ acks: 1, batchSize: 960 * 1024, lingerMs: 5 });
  try {
    const values = Array.from({ length: 16 }, (_, i) => Buffer.alloc(recordKiB * 1024, String.fromCharCode(97 + i)));
    const perSend = Math.max(1, Math.floor(MB / (recordKiB * 1024)));
    const inFlight = new Set<Promise<unknown>>();
    let sent = 0;
    let nextLog = 0;
    for (let n = 0; sent < bytes; n++) {
      const messages = Array.from({ length: perSend }, (_, i) => ({ value: values[(n + i) % values.length]!, partition: 0 }));
      const p = producer.send({ topic: TOPIC, messages }).finally(() => inFlight.delete(p));
      inFlight.add(p);
      sent += perSend * recordKiB * 1024;
      if (inFlight.size >= 32) await Promise.race(inFlight);
      if (sent >= nextLog) {
        log(`filled ${Math.round(sent / MB)} / ${Math.round(bytes / MB)} MiB`);
        nextLog += 128 * MB;
      }
    }
    await Promise.all(inFlight);
  } finally {
    await producer.close();
  }
}

/** Runs the raw peer: a server over `files` and a copier into `out`; the copier's JSON report. */
async function rawCopy(natsUrl: string, files: string[], out: string, bytes: number, window: number): Promise<{ bytes: number; seconds: number; sha256: string }> {
  const subject = `bench.reassign.raw.${process.pid}`;
  const node = (args: string[]) => spawn(process.execPath, ['--import', import.meta.resolve('tsx'), PEER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const server = node(['serve', natsUrl, subject, ...files]);
  try {
    const lines = createInterface({ input: server.stdout! })[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.value !== 'ready') throw new Error('the raw peer server did not start');
    const copier = node(['copy', natsUrl, subject, out, String(bytes), String(window)]);
    let output = '';
    copier.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => copier.once('exit', resolve));
    if (code !== 0) throw new Error(`the raw peer copier exited with ${code}`);
    return JSON.parse(output.trim()) as { bytes: number; seconds: number; sha256: string };
  } finally {
    server.kill('SIGKILL');
  }
}

async function waitMoved(admin: Admin, target: number, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (let polls = 0; Date.now() < deadline; polls++) {
    const ongoing = await admin.listPartitionReassignments([{ topic: TOPIC, partition: 0 }]);
    if (ongoing.length === 0) {
      const [t] = await admin.describeTopics([TOPIC], { configs: false });
      const p = t?.partitions.find((x) => x.partition === 0);
      if (p && p.replicas.length === 1 && p.replicas[0] === target && p.isr.includes(target)) return;
    }
    if (polls % 50 === 0) log(`moving: ${ongoing.length ? `adding ${ongoing[0]!.addingReplicas.join(',')}, removing ${ongoing[0]!.removingReplicas.join(',')}` : 'reassignment recorded as done, waiting for metadata'}`);
    await delay(100);
  }
  throw new Error(`the partition was not moved to broker ${target} within ${limitMs} ms`);
}

export async function run(args: string[]): Promise<void> {
  const mb = intFlag(args, 'mb', 1024);
  const recordKiB = intFlag(args, 'record-kib', 16);
  const window = intFlag(args, 'window', 4);
  const cluster = await DirectCluster.start({ brokers: 2, prefix: 'kastor-bench-reassign-' });
  const kafka = new Kafka({ bootstrap: cluster.bootstrap, requestTimeoutMs: 120_000 });
  const admin = kafka.admin();
  try {
    await admin.createTopics([{ topic: TOPIC, numPartitions: 1, replicationFactor: 1 }], { waitForLeaders: true });
    const t0 = performance.now();
    await fill(kafka, mb * MB, recordKiB);
    log(`filled in ${round((performance.now() - t0) / 1000, 1)} s`);
    const [desc] = await admin.describeTopics([TOPIC], { configs: false });
    const source = desc!.partitions[0]!.leader;
    const sourceDir = join(cluster.root, `broker-${source}`);
    const endOffset = (await admin.fetchOffsets(TOPIC))[0]!.latest;
    const files = await settledFiles(sourceDir);
    const bytes = totalSize(files);
    const sourceHash = await sha256(files);
    log(`broker ${source} holds ${round(bytes / MB, 1)} MiB in ${files.length} segment(s), log end offset ${endOffset}`);

    cluster.brokers.push(await BrokerProcess.start({ id: 3, natsUrl: cluster.nats!.url, dataDir: join(cluster.root, 'broker-3'), startTimeoutMs: 60_000 }));
    for (let i = 0; (await admin.describeCluster()).brokers.length < 3; i++) {
      if (i > 300) throw new Error('broker 3 did not join the cluster within 30 s');
      await delay(100);
    }

    log('raw copy over NATS');
    const raw = await rawCopy(cluster.nats!.url, files, join(cluster.root, 'raw-copy.bin'), bytes, window);
    if (raw.bytes !== bytes || raw.sha256 !== sourceHash) throw new Error(`the raw copy differs: ${raw.bytes} bytes, sha256 ${raw.sha256}; expected ${bytes}, ${sourceHash}`);
    log(`raw: ${round(raw.seconds, 2)} s`);

    log(`reassigning ${TOPIC}-0 from broker ${source} to broker 3`);
    const t1 = performance.now();
    const results = await admin.alterPartitionReassignments([{ topic: TOPIC, partition: 0, replicas: [3] }]);
    if (results.some((r) => r.errorCode !== 0)) throw new Error(`AlterPartitionReassignments: ${JSON.stringify(results)}`);
    await waitMoved(admin, 3, STEP_LIMIT_MS);
    const seconds = (performance.now() - t1) / 1000;
    log(`reassign: ${round(seconds, 2)} s`);

    const moved = await settledFiles(join(cluster.root, 'broker-3'));
    const movedHash = await sha256(moved);
    const movedEnd = (await admin.fetchOffsets(TOPIC))[0]!.latest;
    const identical = movedHash === sourceHash && totalSize(moved) === bytes;
    if (!identical || movedEnd !== endOffset) log(`WARNING: the new replica differs: ${totalSize(moved)} bytes, end offset ${movedEnd}, sha256 ${movedHash}`);

    const mbPerS = bytes / MB / seconds;
    const rawMbPerS = bytes / MB / raw.seconds;
    print({
      bench: 'reassign',
      bytes,
      mb: round(bytes / MB, 1),
      records: Number(endOffset),
      record_kib: recordKiB,
      reassign_s: round(seconds, 2),
      reassign_mb_per_s: round(mbPerS),
      raw_nats_s: round(raw.seconds, 2),
      raw_nats_mb_per_s: round(rawMbPerS),
      raw_window: window,
      ratio: round(mbPerS / rawMbPerS, 3),
      byte_identical: identical,
      log_end_offset_equal: movedEnd === endOffset,
      segments: { source: files.length, moved: moved.length },
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${cluster.lastLogs()}`, { cause: err });
  } finally {
    await Promise.race([admin.close().catch(() => {}), delay(3000)]);
    await cluster.close();
  }
}
