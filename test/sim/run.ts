// `npm run sim`: runs simulated seeds and says which failed, with the command that replays each.
//
//   npm run sim -- --seeds 100 [--from 1] [--jobs 2] [--duration 60]   seeds from..from+N-1, on `jobs` processes
//   npm run sim -- --seed 42 [--trace] [--duration 60]                 one seed; --trace prints every event
//   --no-nats-loss: the nemesis never crashes NATS with the loss of the bucket's latest writes
//
// Prints one JSON line per failing seed and a summary line; exits 1 when a seed failed.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runSimulation, type SimResult } from './simulation.ts';

interface Args {
  seed: number | null;
  seeds: number;
  from: number;
  jobs: number;
  durationMs: number;
  trace: boolean;
  worker: boolean;
  quiet: boolean;
  /** Whether the nemesis may crash NATS once with the loss of the bucket's latest writes (--no-nats-loss: never). */
  natsLoss: boolean;
}

const USAGE = 'usage: npm run sim -- (--seeds N [--from S] [--jobs J] | --seed S [--trace]) [--duration SECONDS] [--quiet] [--no-nats-loss]';

function parse(argv: string[]): Args {
  const a: Args = { seed: null, seeds: 0, from: 1, jobs: 1, durationMs: 60_000, trace: false, worker: false, quiet: false, natsLoss: true };
  const num = (flag: string, v: string | undefined) => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < 0) fail(`${flag} takes a whole number, got ${v ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i]!;
    if (f === '--seed') a.seed = num(f, argv[++i]);
    else if (f === '--seeds') a.seeds = num(f, argv[++i]);
    else if (f === '--from') a.from = num(f, argv[++i]);
    else if (f === '--jobs') a.jobs = Math.max(1, num(f, argv[++i]));
    else if (f === '--duration') a.durationMs = num(f, argv[++i]) * 1000;
    else if (f === '--trace') a.trace = true;
    else if (f === '--quiet') a.quiet = true;
    else if (f === '--no-nats-loss') a.natsLoss = false;
    else if (f === '--worker') a.worker = true;
    else if (f === '--help' || f === '-h') (console.log(USAGE), process.exit(0));
    else fail(`unknown option ${f}`);
  }
  if (a.seed === null && a.seeds === 0) fail('give --seeds N or --seed S');
  if (a.durationMs < 30_000) fail('--duration must be at least 30 (seconds): faults end 20 s before the end');
  return a;
}

function fail(message: string): never {
  console.error(`sim: ${message}\n${USAGE}`);
  process.exit(2);
}

function replay(seed: number, durationMs: number, natsLoss: boolean): string {
  return `npm run sim -- --seed ${seed}${durationMs !== 60_000 ? ` --duration ${durationMs / 1000}` : ''}${natsLoss ? '' : ' --no-nats-loss'} --trace`;
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  if (args.seed !== null) {
    const r = await runSimulation({ seed: args.seed, durationMs: args.durationMs, trace: args.trace, natsLoss: args.natsLoss });
    if (r.traceLines) for (const line of r.traceLines) console.log(line);
    console.log(JSON.stringify(summaryOf(r)));
    for (const v of r.violations) console.log(`violation: ${v}`);
    process.exit(r.ok ? 0 : 1);
  }
  if (args.worker) {
    // A worker runs the seeds its parent hands it, one message per result.
    for (let s = args.from; s < args.from + args.seeds; s++) {
      const r = await runSimulation({ seed: s, durationMs: args.durationMs, natsLoss: args.natsLoss });
      process.send!(summaryOf(r));
    }
    return;
  }
  const started = performance.now();
  const results: Array<ReturnType<typeof summaryOf>> = [];
  const per = Math.ceil(args.seeds / args.jobs);
  const self = fileURLToPath(import.meta.url);
  await Promise.all(
    Array.from({ length: args.jobs }, (_, j) => {
      const from = args.from + j * per;
      const count = Math.min(per, args.from + args.seeds - from);
      if (count <= 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const child = fork(self, ['--worker', '--from', String(from), '--seeds', String(count), '--duration', String(args.durationMs / 1000), ...(args.natsLoss ? [] : ['--no-nats-loss'])], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        child.on('message', (m) => {
          const r = m as ReturnType<typeof summaryOf>;
          results.push(r);
          if (!r.ok) console.log(JSON.stringify({ ...r, replay: replay(r.seed, args.durationMs, args.natsLoss) }));
          else if (!args.quiet) console.log(JSON.stringify(r));
        });
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`a simulation worker exited with ${code}`))));
      });
    }),
  );
  const wallS = (performance.now() - started) / 1000;
  const failed = results.filter((r) => !r.ok);
  const simulatedS = results.reduce((s, r) => s + r.simulatedMs, 0) / 1000;
  console.log(JSON.stringify({ seeds: results.length, failed: failed.map((r) => r.seed), wallS: Math.round(wallS * 10) / 10, seedsPerS: Math.round((results.length / wallS) * 100) / 100, simulatedSPerWallS: Math.round(simulatedS / wallS) }));
  process.exit(failed.length === 0 && results.length === args.seeds ? 0 : 1);
}

function summaryOf(r: SimResult) {
  return { seed: r.seed, ok: r.ok, brokers: r.brokers, simulatedMs: r.simulatedMs, wallMs: r.wallMs, steps: r.steps, acked: r.stats.acked, sent: r.stats.sent, read: r.stats.read, commits: r.stats.commits, rebalances: r.stats.rebalances, churned: r.stats.churned, churnChecked: r.stats.churnChecked, faults: r.stats.faults.length, hash: r.traceHash, violations: r.violations };
}

await main();
