// Recovery after a crash (issue 21): how fast a broker holding a lot of data serves again and catches up.
//
//   npx tsx bench/run.ts recovery [--gb 5] [--partitions 100] [--down-mb 1024] [--record-bytes 1000] [--idempotent]
//
// 3 brokers, one topic of --partitions partitions, RF=3, min.insync.replicas=2; kcat produces --gb GiB with
// acks=all (the same 512 MiB input file again and again; with --idempotent, enable.idempotence=true, so every
// log holds a producer's batches and a partition's producer state has something to rebuild), so every broker
// holds all of it. Broker 3 is then SIGKILLed (an unclean shutdown: its logs are recovered at start), --down-mb
// MiB more is produced acks=all to the two others, and broker 3 is restarted on its data directory. Measured from
// the restart:
//   serve_s       until broker 3 answers a Metadata request on its port (process start and log recovery);
//   catch_up_s    until every partition's ISR holds all three brokers again (polled through broker 1);
//   catch_up_mb_per_s   the bytes produced while it was down over catch_up_s (what it had to fetch, over how long
//                 it took, including the start).
// Targets: serves within 10 s, catches up at 100 MB/s or more. No peer: nothing else on this machine recovers the
// same way (JetStream's stream catch-up is a different protocol), so this line carries Kastor's figures alone.
import { performance } from 'node:perf_hooks';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fetchMetadata } from '../src/testing/kafka-request.ts';
import { kcatProduce, kcatCleanup } from './kcat-load.ts';
import { DirectCluster, delay, intFlag, print, round } from './cluster-kit.ts';

const TOPIC = 'bench-recovery';
const CHUNK_BYTES = 512 << 20;
const STEP_TIMEOUT_MS = 600_000;
const TARGETS = { serve_s: 10, catch_up_mb_per_s: 100 } as const;

function log(msg: string): void {
  process.stderr.write(`recovery: ${msg}\n`);
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return total;
}

export async function run(args: string[]): Promise<void> {
  const gb = intFlag(args, 'gb', 5);
  const partitions = intFlag(args, 'partitions', 100);
  const downMb = intFlag(args, 'down-mb', 1024);
  const recordBytes = intFlag(args, 'record-bytes', 1000, 10);
  const idempotent = args.includes('--idempotent');
  const chunkRecords = Math.floor(CHUNK_BYTES / recordBytes);
  const produceBytes = async (brokers: string, bytes: number, what: string) => {
    const t0 = performance.now();
    for (let sent = 0; sent < bytes; sent += chunkRecords * recordBytes) {
      const records = Math.min(chunkRecords, Math.ceil((bytes - sent) / recordBytes));
      const extra = idempotent ? ['-X', 'enable.idempotence=true'] : [];
      await kcatProduce({ brokers, topic: TOPIC, records, recordBytes, acks: -1, partitions, lingerMs: 10, timeoutMs: STEP_TIMEOUT_MS, extra });
    }
    const s = (performance.now() - t0) / 1000;
    log(`${what}: ${round(bytes / 2 ** 20, 0)} MiB acks=all in ${round(s, 1)} s (${round(bytes / 1e6 / s, 1)} MB/s)`);
  };

  const cluster = await DirectCluster.start({ brokers: 3, prefix: 'kastor-bench-recovery-' });
  try {
    await cluster.createTopics([{ name: TOPIC, partitions, replicationFactor: 3, config: { 'min.insync.replicas': '2' } }]);
    await cluster.waitReady([TOPIC], partitions, { inSync: true, timeoutMs: 60_000 });
    const victim = cluster.brokers[2]!;
    const victimDir = join(cluster.root, 'broker-3');
    await produceBytes(cluster.bootstrap, gb * 2 ** 30, 'fill');
    await cluster.waitReady([TOPIC], partitions, { inSync: true, timeoutMs: STEP_TIMEOUT_MS });
    const heldBytes = dirBytes(victimDir);
    log(`broker 3 holds ${round(heldBytes / 2 ** 30, 2)} GiB on disk; SIGKILL`);
    await victim.kill();
    // kcat would try broker 3 while Metadata still lists it (until its session times out) or names it leader.
    for (const deadline = performance.now() + 60_000; ; await delay(100)) {
      const md = await fetchMetadata(cluster.address(0), [TOPIC], 5_000);
      if (!md.brokers.some((b) => b.nodeId === 3) && md.topics[0]!.partitions.every((p) => p.leaderId !== 3 && p.leaderId >= 0)) break;
      if (performance.now() > deadline) throw new Error('broker 3 still in the metadata 60 s after its SIGKILL');
    }
    // Produced while it is down, to the two others (kcat must not bootstrap from the dead one): they are the ISR
    // once the controller sees broker 3 gone, and min.insync.replicas=2 holds.
    const downBytes = downMb * 2 ** 20;
    await produceBytes(cluster.brokers.slice(0, 2).map((b) => b.bootstrap).join(','), downBytes, 'while broker 3 is down');

    const t0 = performance.now();
    await victim.restart();
    let serveS = -1;
    for (const deadline = t0 + STEP_TIMEOUT_MS; performance.now() < deadline; await delay(20)) {
      try {
        await fetchMetadata({ host: '127.0.0.1', port: victim.port }, [TOPIC], 5_000);
        serveS = (performance.now() - t0) / 1000;
        break;
      } catch {
        // not serving yet
      }
    }
    if (serveS < 0) throw new Error(`broker 3 did not answer Metadata within ${STEP_TIMEOUT_MS} ms of its restart\n${cluster.lastLogs()}`);
    log(`broker 3 serves ${round(serveS, 2)} s after its restart`);
    await cluster.waitReady([TOPIC], partitions, { inSync: true, timeoutMs: STEP_TIMEOUT_MS, pollMs: 50 });
    const catchUpS = (performance.now() - t0) / 1000;
    const rate = downBytes / 1e6 / catchUpS;
    log(`broker 3 back in every ISR ${round(catchUpS, 2)} s after its restart`);
    print({
      bench: 'recovery',
      brokers: 3,
      partitions,
      replication_factor: 3,
      record_bytes: recordBytes,
      idempotent,
      held_gib: round(heldBytes / 2 ** 30, 2),
      down_mib: downMb,
      serve_s: round(serveS, 2),
      catch_up_s: round(catchUpS, 2),
      catch_up_mb_per_s: round(rate, 1),
      targets: TARGETS,
      meets_targets: serveS <= TARGETS.serve_s && rate >= TARGETS.catch_up_mb_per_s,
    });
  } finally {
    await cluster.close();
    kcatCleanup();
  }
}
