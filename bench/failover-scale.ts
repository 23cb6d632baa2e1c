// Failover at scale (issue 21): 3 brokers hosting N partitions of RF=3 under acks=all load; the broker that leads
// the most of them (about a third) is SIGKILLed; how long until each of its partitions has a new leader and
// accepts acks=all writes again.
//
//   npx tsx bench/run.ts failover-scale [--partitions 10000] [--topic-partitions 100] [--rate 2000]
//                                       [--broker-args "..."] [--keep-logs DIR]
//
// On a fresh cluster (DirectCluster: 3 broker processes on one private nats-server, broker defaults, so the
// session timeout is 3 s and the crash probe is on), topics of P (default 100) partitions, RF=3,
// min.insync.replicas=2, are created and waited for (every partition led, its ISR all three replicas). Load:
// Kastor's own client, one producer, acks=all, one loop per partition sending one 100-byte record, awaiting its
// acknowledgement and then waiting so that all of them together offer --rate records/s (default 2,000: a record
// per partition every 5 s at 10,000 partitions; 20,000 records/s of one-record batches over 10,000 partitions
// is more than this 2-core machine's three brokers keep up with, and the bench then measures the backlog); the
// client retries with a short backoff (50 ms doubling to 200 ms) so its backoff adds little to the figures.
// Once every partition has had an acknowledgement and after 5 s more of steady load, the victim is SIGKILLed (its process seen gone: `kill_to_exit_ms`), then per
// partition the victim led:
// - `acked_ms`: from just before the kill to the first acks=all acknowledgement of that partition received
//   after the victim's process was gone (its old leader is dead, so a new leader accepted it);
// - `elected_ms`: from the kill until Metadata (polled every 100 ms through a surviving broker) names a live
//   leader for it.
// p50, p99 and max of both over the victim's partitions, with the target (issue 21: every partition led and
// accepting acks=all writes within 3 s), and the longest gap between acknowledgements of the partitions other
// brokers led (they should barely notice). Then the victim is restarted and `rejoined_s` is how long until every
// partition's ISR holds all three replicas again (bounded at 5 minutes). One JSON line. --keep-logs writes each
// broker's last 2,000 log lines to DIR/broker-N.log at the end.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Kafka } from '../src/client/index.ts';
import { fetchMetadata } from '../src/testing/kafka-request.ts';
import { DirectCluster, print, round, percentile, intFlag, delay } from './cluster-kit.ts';

const TARGET_MS = 3000;
const CREATE_LIMIT_MS = 5 * 60_000;
const AFTER_KILL_LIMIT_MS = 60_000;
const REJOIN_LIMIT_MS = 5 * 60_000;
const STEADY_MS = 5_000;
const WARMUP_LIMIT_MS = 120_000;

function log(msg: string): void {
  process.stderr.write(`failover-scale: ${msg}\n`);
}

type Key = string;
const keyOf = (topic: string, partition: number): Key => `${topic}/${partition}`;

/** Leader per partition of `topics`, as Metadata through the broker at `port` sees it (-1: none). */
async function leaders(port: number, topics: string[]): Promise<Map<Key, number>> {
  const md = await fetchMetadata({ host: '127.0.0.1', port }, topics, 30_000);
  const out = new Map<Key, number>();
  for (const t of md.topics) for (const p of t.partitions) out.set(keyOf(t.name ?? '', p.partitionIndex), p.errorCode === 0 ? p.leaderId : -1);
  return out;
}

function stats(values: number[]): { p50: number; p99: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  return { p50: round(percentile(s, 0.5), 1), p99: round(percentile(s, 0.99), 1), max: round(s[s.length - 1] ?? NaN, 1) };
}

export async function run(args: string[]): Promise<void> {
  const total = intFlag(args, 'partitions', 10_000);
  const perTopic = intFlag(args, 'topic-partitions', 100);
  const rate = intFlag(args, 'rate', 2000);
  const intervalMs = (total * 1000) / rate;
  const extra = args.indexOf('--broker-args');
  const brokerArgs = extra >= 0 ? (args[extra + 1] ?? '').split(' ').filter(Boolean) : [];
  const keep = args.indexOf('--keep-logs');
  const keepLogs = keep >= 0 ? args[keep + 1] : undefined;
  if (keep >= 0 && !keepLogs) throw new Error('--keep-logs needs a directory');

  const topics: { topic: string; numPartitions: number; replicationFactor: number; configs: Record<string, string> }[] = [];
  for (let made = 0, t = 0; made < total; t++) {
    const n = Math.min(perTopic, total - made);
    topics.push({ topic: `bench-fo-${t}`, numPartitions: n, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    made += n;
  }
  const names = topics.map((t) => t.topic);
  const cluster = await DirectCluster.start({ brokers: 3, prefix: 'kastor-bench-failover-scale-', brokerArgs });
  const kafka = new Kafka({
    bootstrap: cluster.bootstrap,
    connectTimeoutMs: 1000,
    requestTimeoutMs: CREATE_LIMIT_MS,
    retry: { retries: 1000, initialBackoffMs: 50, maxBackoffMs: 200 },
  });
  // The admin client without the load's retries: a CreateTopics retried after a slow first attempt finds its
  // own topics (TOPIC_ALREADY_EXISTS); waitReady below checks what was created.
  const admin = new Kafka({ bootstrap: cluster.bootstrap, requestTimeoutMs: CREATE_LIMIT_MS }).admin();
  const producer = kafka.producer({ acks: 'all', lingerMs: 2, deliveryTimeoutMs: 120_000, timeoutMs: 10_000 });
  let stopLoad = false;
  let loops: Promise<void>[] = [];
  try {
    const t0 = performance.now();
    await admin.createTopics(topics, { waitForLeaders: false, timeoutMs: CREATE_LIMIT_MS });
    await cluster.waitReady(names, total, { inSync: true, timeoutMs: CREATE_LIMIT_MS, pollMs: 500 });
    log(`${total} partitions led and in sync after ${round((performance.now() - t0) / 1000, 1)} s`);
    await producer.connect();

    // Per partition: when each acknowledgement arrived (only the latest before the kill matters, and the first after).
    const lastAck = new Map<Key, number>();
    const firstAfter = new Map<Key, number>();
    const longestGap = new Map<Key, number>();
    let dead = Infinity;
    let onKill = () => {};
    const killed = new Promise<void>((resolve) => (onKill = resolve));
    let failures = 0;
    let lastFailure = '';
    const value = Buffer.alloc(100, 0x66);
    loops = topics.flatMap((t) =>
      Array.from({ length: t.numPartitions }, async (_, partition) => {
        const key = keyOf(t.topic, partition);
        while (!stopLoad) {
          try {
            await producer.send({ topic: t.topic, messages: [{ value, partition }] });
            const at = performance.now();
            const prev = lastAck.get(key);
            if (prev !== undefined) longestGap.set(key, Math.max(longestGap.get(key) ?? 0, at - prev));
            lastAck.set(key, at);
            if (at > dead && !firstAfter.has(key)) firstAfter.set(key, at);
          } catch (err) {
            failures++;
            lastFailure = (err as Error).message;
          }
          // The kill cuts every wait short: each partition sends at once, so its first acknowledgement after the
          // death measures the failover, not where its wait happened to be.
          await Promise.race([delay(intervalMs), killed]);
        }
      }),
    );

    // A fresh client's first round over every partition (metadata, connections, unoptimized code) is slow: the
    // load is steady once every partition has been acknowledged, and STEADY_MS after that the victim goes.
    const warm = performance.now() + WARMUP_LIMIT_MS;
    while (lastAck.size < total) {
      if (performance.now() > warm) throw new Error(`after ${WARMUP_LIMIT_MS} ms of load only ${lastAck.size} of ${total} partitions had an acknowledgement (${failures} failed sends, last: ${lastFailure})`);
      await delay(100);
    }
    log(`every partition acknowledged; ${STEADY_MS} ms of steady load`);
    await delay(STEADY_MS);
    const before = await leaders(cluster.brokers[0]!.port, names);
    const counts = [1, 2, 3].map((id) => [...before.values()].filter((l) => l === id).length);
    const victimIndex = counts.indexOf(Math.max(...counts));
    const victim = victimIndex + 1;
    const survivorPort = cluster.brokers[victimIndex === 0 ? 1 : 0]!.port;
    const victimParts = [...before].filter(([, l]) => l === victim).map(([k]) => k);
    log(`leaders per broker ${counts.join(' / ')}; killing broker ${victim} (${victimParts.length} partitions)`);
    longestGap.clear();
    const failuresBefore = failures;

    const tKill = performance.now();
    await cluster.brokers[victimIndex]!.kill();
    dead = performance.now();
    onKill();
    const elected = new Map<Key, number>();
    const pending = new Set(victimParts);
    const until = tKill + AFTER_KILL_LIMIT_MS;
    while ((elected.size < victimParts.length || victimParts.some((k) => !firstAfter.has(k))) && performance.now() < until) {
      try {
        const now = await leaders(survivorPort, names);
        const at = performance.now();
        for (const k of pending) {
          const l = now.get(k) ?? -1;
          if (l > 0 && l !== victim) {
            elected.set(k, at);
            pending.delete(k);
          }
        }
      } catch (err) {
        lastFailure = `metadata: ${(err as Error).message}`;
      }
      await delay(100);
    }
    const ackedMs = victimParts.filter((k) => firstAfter.has(k)).map((k) => firstAfter.get(k)! - tKill);
    const electedMs = victimParts.filter((k) => elected.has(k)).map((k) => elected.get(k)! - tKill);
    const victimSet = new Set(victimParts);
    const othersGap = [...longestGap].filter(([k]) => !victimSet.has(k)).map(([, g]) => g);
    log(`${ackedMs.length} of ${victimParts.length} re-acknowledged, ${electedMs.length} re-elected; restarting broker ${victim}`);

    const tRestart = performance.now();
    await cluster.brokers[victimIndex]!.restart();
    let rejoinedS: number | null = null;
    try {
      await cluster.waitReady(names, total, { inSync: true, timeoutMs: REJOIN_LIMIT_MS, pollMs: 500 });
      rejoinedS = round((performance.now() - tRestart) / 1000, 1);
    } catch (err) {
      log(`broker ${victim} not back in every ISR: ${(err as Error).message}`);
    }
    const acked = stats(ackedMs);
    const all = ackedMs.length === victimParts.length && electedMs.length === victimParts.length;
    print({
      bench: 'failover-scale',
      partitions: total,
      replication_factor: 3,
      load_records_per_s: rate,
      leaders_per_broker: counts,
      killed_broker: victim,
      victim_partitions: victimParts.length,
      kill_to_exit_ms: round(dead - tKill, 1),
      acked_ms: acked,
      elected_ms: stats(electedMs),
      not_acked: victimParts.length - ackedMs.length,
      not_elected: victimParts.length - electedMs.length,
      others_longest_gap_ms: stats(othersGap),
      failed_sends: failures - failuresBefore,
      rejoined_s: rejoinedS,
      target_ms: TARGET_MS,
      meets_target: all && acked.max < TARGET_MS,
      broker_args: brokerArgs,
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${cluster.lastLogs()}`, { cause: err });
  } finally {
    if (keepLogs) {
      mkdirSync(keepLogs, { recursive: true });
      cluster.brokers.forEach((b, i) => writeFileSync(join(keepLogs, `broker-${i + 1}.log`), b.logs.join('\n') + '\n'));
    }
    stopLoad = true;
    await Promise.race([Promise.allSettled(loops), delay(5000)]);
    await Promise.race([producer.close().catch(() => {}), delay(3000)]);
    await Promise.race([admin.close().catch(() => {}), delay(3000)]);
    await cluster.close();
  }
}
