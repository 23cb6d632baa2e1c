// Helpers for the replicated-cluster benchmarks (cluster, failover, partitions): a 3-broker Kastor cluster whose
// brokers talk to one private nats-server directly (startTestCluster puts a TCP proxy of its own, in the
// benchmark's process, in front of every broker's NATS link, which would make replication traffic cross this
// Node process and bill its CPU to Kastor), waits on the Kafka Metadata view (leader and ISR), per-process
// /proc figures and percentiles. Not a benchmark itself (no run()).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsServer } from '../src/testing/nats-server.ts';
import { BrokerProcess } from '../src/testing/broker-process.ts';
import { createTopics, fetchMetadata, type BrokerAddress, type TopicSpec } from '../src/testing/kafka-request.ts';

export function print(line: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(line) + '\n');
}

export const round = (x: number, digits = 2) => Number(x.toFixed(digits));

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export function intFlag(args: string[], name: string, fallback: number, min = 1): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} needs an integer >= ${min}, got ${args[i + 1]}`);
  return n;
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A private nats-server and N brokers (ids 1..N) on it, with one temporary root; close() removes everything. */
export class DirectCluster {
  nats: NatsServer | null = null;
  readonly brokers: BrokerProcess[] = [];
  readonly root: string;
  private closing: Promise<void> | null = null;

  private constructor(prefix: string) {
    this.root = mkdtempSync(join(tmpdir(), prefix));
  }

  static async start(opts: { brokers: number; prefix: string; brokerArgs?: string[] }): Promise<DirectCluster> {
    const c = new DirectCluster(opts.prefix);
    try {
      c.nats = await NatsServer.start({ dir: join(c.root, 'nats') });
      for (let id = 1; id <= opts.brokers; id++) {
        c.brokers.push(
          await BrokerProcess.start({
            id,
            natsUrl: c.nats.url,
            dataDir: join(c.root, `broker-${id}`),
            extraArgs: opts.brokerArgs ?? [],
            startTimeoutMs: 60_000,
          }),
        );
      }
    } catch (err) {
      await c.close();
      throw err;
    }
    return c;
  }

  get bootstrap(): string {
    return this.brokers.map((b) => b.bootstrap).join(',');
  }

  address(i = 0): BrokerAddress {
    return { host: '127.0.0.1', port: this.brokers[i]!.port };
  }

  async createTopics(topics: TopicSpec[], timeoutMs = 30_000): Promise<void> {
    const results = await createTopics(this.address(0), topics, timeoutMs);
    const bad = results.filter((r) => r.errorCode !== 0);
    if (bad.length) throw new Error(`CreateTopics: ${bad.map((r) => `${r.name}: error ${r.errorCode} ${r.errorMessage ?? ''}`).join('; ')}`);
  }

  /**
   * Polls Metadata (through broker 1) until every partition of `topics` has a leader and, with `inSync`, an ISR
   * as large as its replica list; throws after timeoutMs saying how far it got.
   */
  async waitReady(topics: string[], expectPartitions: number, opts: { inSync: boolean; timeoutMs: number; pollMs?: number }): Promise<void> {
    const deadline = Date.now() + opts.timeoutMs;
    let last = '';
    for (;;) {
      try {
        const md = await fetchMetadata(this.address(0), topics, 30_000);
        let ok = 0;
        let led = 0;
        for (const t of md.topics) {
          if (t.errorCode !== 0) continue;
          for (const p of t.partitions) {
            if (p.leaderId < 0 || p.errorCode !== 0) continue;
            led++;
            if (!opts.inSync || p.isrNodes.length === p.replicaNodes.length) ok++;
          }
        }
        last = `${led}/${expectPartitions} led, ${ok}/${expectPartitions} ready`;
        if (ok >= expectPartitions) return;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline) throw new Error(`not ready after ${opts.timeoutMs} ms: ${last}`);
      await delay(opts.pollMs ?? 100);
    }
  }

  lastLogs(n = 20): string {
    return this.brokers.map((b, i) => `broker ${i + 1}:\n${b.logs.slice(-n).join('\n')}`).join('\n');
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled(this.brokers.map((b) => b.kill()));
      await this.nats?.kill().catch(() => {});
      rmSync(this.root, { recursive: true, force: true });
    })();
    return this.closing;
  }
}

/** VmRSS of a process in MiB (/proc's "kB" are KiB), or NaN when it is gone. */
export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** utime+stime of a process in clock ticks (USER_HZ, 100 on Linux). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  return Number(rest[11]) + Number(rest[12]);
}

export const CLOCK_TICKS_PER_S = 100;
