// The deterministic simulation: KASTOR_SIM_SEEDS seeds from KASTOR_SIM_FROM (seeds 1-100 by default: what
// `npm test` runs), each a whole cluster through 60 simulated seconds of faults and workload, split over two
// processes (this machine's two cores). CI (.ci/run) runs seeds 101-1,000 with this same file after npm test.
// A failing seed fails the test with the command that replays it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const seeds = Number(process.env.KASTOR_SIM_SEEDS ?? 100);
const from = Number(process.env.KASTOR_SIM_FROM ?? 1);

test(`${seeds} simulated seeds from ${from} pass every invariant`, async () => {
  const runner = fileURLToPath(new URL('./run.ts', import.meta.url));
  const child = spawn(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', runner, '--seeds', String(seeds), '--from', String(from), '--jobs', '2', '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const lines = out.trim().split('\n');
  const failing = lines.filter((l) => l.includes('"ok":false'));
  const summary = JSON.parse(lines.at(-1) ?? '{}') as { seeds?: number; failed?: number[]; wallS?: number; seedsPerS?: number; simulatedSPerWallS?: number };
  for (const line of failing) console.log(line);
  console.log(`simulation: ${summary.seeds} seeds in ${summary.wallS} s (${summary.seedsPerS} seeds/s, ${summary.simulatedSPerWallS} simulated s per wall s)`);
  assert.equal(failing.slice(0, 5), [], 'every seed holds every invariant');
  assert.is(summary.seeds, seeds, 'every seed ran');
  assert.equal(summary.failed, []);
  assert.is(code, 0);
});

test.run();
