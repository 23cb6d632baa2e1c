// `npm run bench -- sim [--seeds N] [--jobs J]`: how fast the deterministic simulation runs (test/sim): seeds
// per wall second and simulated seconds per wall second, over N seeds (default 200) on J processes (default 2,
// this machine's cores), each seed a whole cluster through 60 simulated seconds of faults and workload. One
// JSON line; the simulation has no peer to measure against.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export async function run(args: string[]): Promise<void> {
  const flag = (name: string, fallback: number) => {
    const i = args.indexOf(name);
    if (i < 0) return fallback;
    const n = Number(args[i + 1]);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} takes a positive whole number, got ${args[i + 1] ?? 'nothing'}`);
    return n;
  };
  const seeds = flag('--seeds', 200);
  const jobs = flag('--jobs', 2);
  const from = flag('--from', 100_001);
  const runner = fileURLToPath(new URL('../test/sim/run.ts', import.meta.url));
  const child = spawn(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', runner, '--seeds', String(seeds), '--from', String(from), '--jobs', String(jobs), '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await new Promise((resolve) => child.on('close', resolve));
  const lines = out.trim().split('\n');
  for (const l of lines.slice(0, -1)) process.stderr.write(`${l}\n`);
  const s = JSON.parse(lines.at(-1) ?? '{}') as { seeds: number; failed: number[]; wallS: number; seedsPerS: number; simulatedSPerWallS: number };
  console.log(JSON.stringify({ bench: 'sim', seeds: s.seeds, jobs, failed: s.failed.length, wall_s: s.wallS, seeds_per_s: s.seedsPerS, simulated_s_per_wall_s: s.simulatedSPerWallS }));
}
