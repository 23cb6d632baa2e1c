// How long `startTestCluster` takes from the call to a cluster ready for an acks=all produce on an RF=3
// topic with 3 brokers (nats-server started, brokers listening and registered, topic created, every
// partition led and in sync, each leader answering ListOffsets), and how long close() takes. The first
// acks=all produce is timed too and checked to succeed, so "ready" means what it says.
//
// Usage: npx tsx bench/run.ts testing-startup [--rounds N] [--partitions P]
// One JSON line: {"bench":"testing-startup","rounds":N,"p50_ms":...,"min_ms":...,"max_ms":...,"close_p50_ms":...,"first_produce_p50_ms":...}
import { startTestCluster } from '../src/testing/index.ts';
import { run as runCommand } from '../test/helpers/single-broker.ts';

function arg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : fallback;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(args: string[]): Promise<void> {
  const rounds = arg(args, 'rounds', 5);
  const partitions = arg(args, 'partitions', 3);
  const startMs: number[] = [];
  const closeMs: number[] = [];
  const produceMs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    const cluster = await startTestCluster({
      brokers: 3,
      topics: [{ name: 'bench', partitions, replicationFactor: 3, config: { 'min.insync.replicas': '2' } }],
    });
    const t1 = performance.now();
    try {
      await runCommand('kcat', ['-P', '-b', cluster.bootstrapServers, '-t', 'bench', '-p', '0', '-X', 'acks=all', '-X', 'message.timeout.ms=10000'], { input: 'ready?\n', timeoutMs: 15_000 });
      produceMs.push(performance.now() - t1);
    } finally {
      const t2 = performance.now();
      await cluster.close();
      closeMs.push(performance.now() - t2);
    }
    startMs.push(t1 - t0);
    process.stderr.write(`round ${i + 1}: start ${Math.round(t1 - t0)} ms, first acks=all produce (kcat process included) ${Math.round(produceMs.at(-1)!)} ms, close ${Math.round(closeMs.at(-1)!)} ms\n`);
  }
  const r = (x: number) => Math.round(x);
  process.stdout.write(
    JSON.stringify({
      bench: 'testing-startup',
      brokers: 3,
      partitions,
      replication_factor: 3,
      rounds,
      p50_ms: r(median(startMs)),
      min_ms: r(Math.min(...startMs)),
      max_ms: r(Math.max(...startMs)),
      first_produce_p50_ms: r(median(produceMs)),
      close_p50_ms: r(median(closeMs)),
    }) + '\n',
  );
}
