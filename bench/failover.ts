// Leader failover under load: how long acks=all produce to a 1-partition RF=3 topic stops when the partition's
// leader is SIGKILLed.
//
//   npx tsx bench/run.ts failover [--rounds R] [--session-timeout-ms MS] [--concurrency C] [--no-crash-probe]
//
// --no-crash-probe starts the brokers with --crash-probe=false (the controller then finds a dead broker only by
// its missed heartbeats, after the session timeout); every JSON line says whether the probe was on.
//
// A 3-broker cluster (startTestCluster, so killLeader / waitForLeader come from the harness) with the given
// broker session timeout (default 1500 ms; the broker's own default is 3000). Load: Kastor's own client
// producer, acks=all, C (default 8) loops each sending one 100-byte record and awaiting its acknowledgement,
// continuously, with short client retry backoff (50 ms doubling to at most 200 ms) so the client's backoff
// adds little to the figure. Each round: a second of steady load, then SIGKILL of the partition's leader
// (killLeader, which returns once the process is gone), then:
// - `failover_ms`: from just before the kill to the first acks=all acknowledgement received after the killed
//   process was seen to exit (with one partition and its old leader dead, that acknowledgement comes from the
//   new leader; the ack's offset must also be past every offset acknowledged before the kill);
// - `leader_elected_ms`: from the kill until the cluster metadata (the NATS KV bucket, as the harness watches
//   it) names a live leader other than the killed broker;
// - `longest_gap_ms`: the longest time between consecutive acknowledgements over the round (the outage as the
//   producer sees it);
// then the killed broker is restarted and the round waits until every replica is in sync again.
// `killed_controller` says whether the victim also held the controller lease (then a new controller must first
// take the lease over before it can elect a leader).
// One JSON line per round, then a summary line with p50 and max of failover_ms (target: max under 2000 ms).
import { performance } from 'node:perf_hooks';
import { startTestCluster, type TestCluster } from '../src/testing/test-cluster.ts';
import { Kafka } from '../src/client/index.ts';
import { print, round, percentile, intFlag, delay } from './cluster-kit.ts';

const TOPIC = 'bench-failover';
const TARGET_MS = 2000;

function log(msg: string): void {
  process.stderr.write(`failover: ${msg}\n`);
}

interface Ack {
  at: number;
  offset: bigint;
}

export async function run(args: string[]): Promise<void> {
  const rounds = intFlag(args, 'rounds', 3);
  const sessionTimeoutMs = intFlag(args, 'session-timeout-ms', 1500);
  const crashProbe = !args.includes('--no-crash-probe');
  const concurrency = intFlag(args, 'concurrency', 8);
  const deadline = Date.now() + 10 * 60_000;

  let cluster: TestCluster | null = null;
  let stopLoad = false;
  let loops: Promise<void>[] = [];
  let producer: ReturnType<Kafka['producer']> | null = null;
  try {
    cluster = await startTestCluster({
      brokers: 3,
      sessionTimeoutMs,
      brokerArgs: crashProbe ? [] : ['--crash-probe=false'],
      topics: [{ name: TOPIC, partitions: 1, replicationFactor: 3, config: { 'min.insync.replicas': '2' } }],
    });
    log(`cluster up (session timeout ${cluster.sessionTimeoutMs} ms) at ${cluster.bootstrapServers}`);
    producer = new Kafka({
      bootstrap: cluster.bootstrapServers,
      connectTimeoutMs: 1000,
      requestTimeoutMs: 5000,
      retry: { retries: 1000, initialBackoffMs: 50, maxBackoffMs: 200 },
    }).producer({ acks: 'all', lingerMs: 0, deliveryTimeoutMs: 60_000 });
    await producer.connect();

    const acks: Ack[] = [];
    let failures = 0;
    let lastFailure = '';
    const value = Buffer.alloc(100, 0x62);
    const p = producer;
    loops = Array.from({ length: concurrency }, async () => {
      while (!stopLoad) {
        try {
          const [m] = await p.send({ topic: TOPIC, messages: [{ value }] });
          acks.push({ at: performance.now(), offset: m!.offset });
        } catch (err) {
          failures++;
          lastFailure = (err as Error).message;
          await delay(10);
        }
      }
    });

    const results: Record<string, unknown>[] = [];
    for (let r = 1; r <= rounds; r++) {
      if (Date.now() > deadline) throw new Error('failover: the run took more than 10 minutes');
      const failuresBefore = failures;
      const roundStart = performance.now();
      await delay(1000);
      const ackIndexAtKill = acks.length;
      const maxOffsetBefore = acks.reduce((m, a) => (a.offset > m ? a.offset : m), -1n);
      const controller = cluster.metadata().controller?.brokerId ?? -1;
      const tKill = performance.now();
      const victim = await cluster.killLeader(TOPIC, 0);
      const tDead = performance.now();
      const newLeader = await cluster.waitForLeader(TOPIC, 0, { notBroker: victim, timeoutMs: 30_000 });
      const tElected = performance.now();
      // Wait for the first acknowledgement after the death (bounded), then a second more of load.
      const waitUntil = performance.now() + 30_000;
      let first: Ack | undefined;
      while (!(first = acks.slice(ackIndexAtKill).find((a) => a.at > tDead && a.offset > maxOffsetBefore))) {
        if (performance.now() > waitUntil) throw new Error(`round ${r}: no acks=all acknowledgement within 30 s of killing broker ${victim} (${failures} failed sends, last: ${lastFailure})`);
        await delay(5);
      }
      await delay(1000);
      const inRound = acks.filter((a) => a.at >= roundStart).map((a) => a.at);
      let gap = 0;
      for (let i = 1; i < inRound.length; i++) gap = Math.max(gap, inRound[i]! - inRound[i - 1]!);
      const line = {
        bench: 'failover',
        round: r,
        session_timeout_ms: cluster.sessionTimeoutMs,
        crash_probe: crashProbe,
        killed_broker: victim,
        killed_controller: victim === controller,
        new_leader: newLeader,
        failover_ms: round(first.at - tKill, 1),
        leader_elected_ms: round(tElected - tKill, 1),
        kill_to_exit_ms: round(tDead - tKill, 1),
        longest_gap_ms: round(gap, 1),
        acks_in_round: inRound.length,
        failed_sends: failures - failuresBefore,
        concurrency,
      };
      print(line);
      results.push(line);
      await cluster.restartBroker(victim);
      await cluster.waitForInSync(TOPIC, { timeoutMs: 60_000 });
      log(`round ${r}: broker ${victim} back and in sync`);
    }
    const f = results.map((x) => x.failover_ms as number).sort((a, b) => a - b);
    const e = results.map((x) => x.leader_elected_ms as number).sort((a, b) => a - b);
    print({
      bench: 'failover',
      summary: true,
      rounds,
      session_timeout_ms: cluster.sessionTimeoutMs,
      crash_probe: crashProbe,
      p50_ms: percentile(f, 0.5),
      max_ms: f[f.length - 1],
      leader_elected_p50_ms: percentile(e, 0.5),
      leader_elected_max_ms: e[e.length - 1],
      total_failed_sends: failures,
      target_ms: TARGET_MS,
      meets_target: f[f.length - 1]! < TARGET_MS,
    });
  } finally {
    stopLoad = true;
    // The loops end at their next acknowledgement or failure; bounded, since the cluster may already be gone.
    await Promise.race([Promise.allSettled(loops), delay(5000)]);
    await Promise.race([producer?.close().catch(() => {}), delay(3000)]);
    await cluster?.close().catch((e) => log(`cleanup: ${String(e)}`));
  }
}
