// What fetch sessions (KIP-227) save: Kastor's consumer reading P partitions (default 1,000) of one broker while a
// trickle of records arrives, with sessions and without, in alternating rounds of the same run.
//
//   npx tsx bench/run.ts fetch-sessions [--partitions P] [--seconds S] [--rate R] [--rounds N]
//
// Per round and mode: a fresh consumer assigned every partition from the end, R records/s (default 50) produced
// one at a time to partitions in turn for S seconds (default 15), each record read back once. Reported: the
// broker's CPU (utime+stime over the round, % of one core), the consumer process's CPU, Fetch requests the
// broker served per second (kastor_requests_total), and produce-to-consume latency p50/p99 of the trickle.
// One JSON line per round and mode, then a summary line with the medians and sessions/sessionless ratios.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NatsServer, freePort } from '../src/testing/nats-server.ts';
import { BrokerProcess } from '../src/testing/broker-process.ts';
import { Kafka } from '../src/client/index.ts';
import { print, percentile, intFlag, delay, cpuTicks, CLOCK_TICKS_PER_S } from './cluster-kit.ts';

const TOPIC = 'sessions-bench';

function log(msg: string): void {
  process.stderr.write(`fetch-sessions: ${msg}\n`);
}

async function fetchRequests(httpPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const m = /^kastor_requests_total\{[^}]*api="Fetch"[^}]*\} (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 0.5);

export async function run(args: string[]): Promise<void> {
  const partitions = intFlag(args, '--partitions', 1_000);
  const seconds = intFlag(args, '--seconds', 15);
  const rate = intFlag(args, '--rate', 50);
  const rounds = intFlag(args, '--rounds', 2);
  const dir = mkdtempSync(join(tmpdir(), 'kastor-bench-sessions-'));
  const nats = await NatsServer.start({ dir: join(dir, 'nats') });
  const httpPort = await freePort();
  let broker: BrokerProcess | null = null;
  const kafka = () => new Kafka({ bootstrap: broker!.bootstrap, clientId: 'bench-sessions' });
  try {
    broker = await BrokerProcess.start({ id: 1, natsUrl: nats.url, dataDir: join(dir, 'broker-1'), extraArgs: ['--http', `127.0.0.1:${httpPort}`], startTimeoutMs: 60_000 });
    const admin = kafka().admin();
    await admin.createTopics([{ topic: TOPIC, numPartitions: partitions, replicationFactor: 1 }]);
    await admin.close();
    const producer = kafka().producer();
    const pid = broker.pid!;
    const results: Record<'sessions' | 'sessionless', Array<Record<string, number>>> = { sessions: [], sessionless: [] };
    for (let round = 1; round <= rounds; round++) {
      for (const mode of ['sessions', 'sessionless'] as const) {
        const consumer = kafka().consumer({ maxWaitMs: 500, fetchSessions: mode === 'sessions' });
        consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic: TOPIC, partition, offset: 'latest' as const })));
        const sentAt = new Map<string, number>();
        const latencies: number[] = [];
        const reading = (async () => {
          for await (const batch of consumer) {
            for (const r of batch.records) {
              const at = sentAt.get(r.value!.toString());
              if (at !== undefined) latencies.push(performance.now() - at);
            }
          }
        })();
        // Let the consumer resolve its positions and open its session before measuring.
        const started = performance.now();
        while (consumer.position({ topic: TOPIC, partition: partitions - 1 }) === null && performance.now() - started < 30_000) await delay(50);
        await delay(1_000);
        const cpu0 = cpuTicks(pid);
        const self0 = process.cpuUsage();
        const req0 = await fetchRequests(httpPort);
        const t0 = performance.now();
        let sent = 0;
        while (performance.now() - t0 < seconds * 1000) {
          const value = `${mode}-${round}-${sent}`;
          sentAt.set(value, performance.now());
          await producer.send({ topic: TOPIC, messages: [{ partition: sent % partitions, value }] });
          sent++;
          const next = t0 + (sent * 1000) / rate;
          if (next > performance.now()) await delay(next - performance.now());
        }
        const deadline = performance.now() + 10_000;
        while (latencies.length < sent && performance.now() < deadline) await delay(20);
        const wallS = (performance.now() - t0) / 1000;
        const brokerPct = ((cpuTicks(pid) - cpu0) / CLOCK_TICKS_PER_S / wallS) * 100;
        const self = process.cpuUsage(self0);
        const requests = (await fetchRequests(httpPort)) - req0;
        await consumer.close();
        await reading;
        const sorted = [...latencies].sort((a, b) => a - b);
        const line = {
          round, sent, received: latencies.length,
          broker_cpu_pct: Math.round(brokerPct * 100) / 100,
          client_cpu_pct: Math.round(((self.user + self.system) / 1e6 / wallS) * 10000) / 100,
          fetch_requests_per_s: Math.round((requests / wallS) * 10) / 10,
          latency_p50_ms: Math.round(percentile(sorted, 0.5) * 100) / 100,
          latency_p99_ms: Math.round(percentile(sorted, 0.99) * 100) / 100,
        };
        results[mode].push(line);
        print({ bench: 'fetch-sessions', mode, partitions, rate, seconds, ...line });
        log(`round ${round} ${mode}: broker ${line.broker_cpu_pct}% client ${line.client_cpu_pct}% (producer included), ${line.fetch_requests_per_s} fetches/s, p50 ${line.latency_p50_ms} ms`);
      }
    }
    await producer.close();
    const med = (mode: 'sessions' | 'sessionless', k: string) => median(results[mode].map((r) => r[k]!));
    const summary: Record<string, unknown> = { bench: 'fetch-sessions', summary: true, partitions, rate, rounds };
    for (const k of ['broker_cpu_pct', 'client_cpu_pct', 'fetch_requests_per_s', 'latency_p50_ms', 'latency_p99_ms']) {
      summary[`sessions_${k}`] = med('sessions', k);
      summary[`sessionless_${k}`] = med('sessionless', k);
    }
    summary.broker_cpu_vs_sessionless = Math.round((med('sessions', 'broker_cpu_pct') / med('sessionless', 'broker_cpu_pct')) * 100) / 100;
    summary.client_cpu_vs_sessionless = Math.round((med('sessions', 'client_cpu_pct') / med('sessionless', 'client_cpu_pct')) * 100) / 100;
    print(summary);
  } finally {
    await broker?.kill();
    await nats.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}
