// Runs Kastor's whole test suite and ends with one plain line `N passed, N failed`.
//
// Each test file runs in its own Node process (through tsx) so a crash, a leaked handle or a stuck
// test in one file cannot take the others down; a file that exceeds its deadline is killed with its
// whole process group and counted as failed. The type check (`tsc --noEmit`) counts as one test. Chaos and
// browser files, and the simulation, run one at a time; the others two at a time (KASTOR_TEST_JOBS).
//
// Usage: tsx scripts/run-tests.ts [--all | filter ...]   (filters are substrings of test file paths)
//
// Without filters it runs everything but the heavy suites CI runs after it (AFTER_NPM_TEST: the chaos scenarios
// and the package install, about 5 minutes), so `npm test` stays within 12 minutes; `--all` runs those too.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const all = process.argv.includes('--all');
const filters = process.argv.slice(2).filter((a) => a !== '--all');
/** Run by CI after `npm test` (.ci/run: `run-tests.ts test/chaos/ test/package/`), and by `--all`. */
const AFTER_NPM_TEST = [`${sep}chaos${sep}`, `${sep}package${sep}`];
const fileTimeoutMs = Number(process.env.KASTOR_TEST_TIMEOUT_MS ?? 240_000);
/** Test files run at once, but for those under EXCLUSIVE (KASTOR_TEST_JOBS; 2 on this 2-core machine). */
const jobs = Number(process.env.KASTOR_TEST_JOBS ?? 2);
const EXCLUSIVE = [`${sep}chaos${sep}`, `${sep}browser${sep}`, `${sep}sim${sep}`];
/** Files that take longer than fileTimeoutMs by design: the simulation's thousand seeds. */
const LONGER: Record<string, number> = { [`${sep}sim${sep}seeds.test.ts`]: 600_000 };

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name === 'helpers' || name === 'fixtures') continue;
      out.push(...findTests(path));
    } else if (name.endsWith('.test.ts')) {
      out.push(path);
    }
  }
  return out;
}

interface Outcome {
  passed: number;
  failed: number;
  output: string;
  ms: number;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string; timedOut: boolean; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: root,
      detached: true,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      // Kill anything the test left behind in its process group (brokers, nats-server).
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
      resolve({ code, output, timedOut, ms: Date.now() - started });
    });
  });
}

function parseUvu(output: string): { total: number; passed: number; skipped: number } | null {
  // uvu prints "Total: N / Passed: N / Skipped: N" at the end of a run.
  const clean = output.replace(/\x1b\[[0-9;]*m/g, '');
  const total = /Total:\s+(\d+)/.exec(clean);
  const passed = /Passed:\s+(\d+)/.exec(clean);
  const skipped = /Skipped:\s+(\d+)/.exec(clean);
  if (!total || !passed) return null;
  return { total: Number(total[1]), passed: Number(passed[1]), skipped: Number(skipped?.[1] ?? 0) };
}

async function runFile(file: string): Promise<Outcome> {
  const timeoutMs = Object.entries(LONGER).find(([suffix]) => file.endsWith(suffix))?.[1] ?? fileTimeoutMs;
  const r = await run(process.execPath, ['--import', 'tsx', file], timeoutMs);
  const counts = parseUvu(r.output);
  if (r.timedOut) return { passed: counts?.passed ?? 0, failed: 1, output: r.output + `\n[timed out after ${timeoutMs} ms]`, ms: r.ms };
  if (!counts) return { passed: 0, failed: 1, output: r.output + `\n[no uvu summary; exit code ${r.code}]`, ms: r.ms };
  // A skipped test is a failing test here: nothing may be quietly skipped.
  let failed = counts.total - counts.passed;
  if (r.code !== 0 && failed === 0) failed = 1;
  return { passed: counts.passed, failed, output: r.output, ms: r.ms };
}

async function main(): Promise<void> {
  let passed = 0;
  let failed = 0;
  const failures: string[] = [];

  if (filters.length === 0) {
    const tsc = await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', 'tsconfig.json'], 300_000);
    if (tsc.code === 0) {
      passed++;
      console.log(`ok   typecheck (${tsc.ms} ms)`);
    } else {
      failed++;
      failures.push('typecheck');
      console.log(`FAIL typecheck\n${tsc.output}`);
    }
  }

  const files = findTests(join(root, 'test')).filter((f) =>
    filters.length > 0 ? filters.some((s) => f.includes(s)) : all || !AFTER_NPM_TEST.some((dir) => f.includes(dir)),
  );
  const report = (file: string, o: Outcome) => {
    const name = relative(root, file);
    passed += o.passed;
    failed += o.failed;
    if (o.failed > 0) {
      failures.push(name);
      console.log(`FAIL ${name} (${o.passed} passed, ${o.failed} failed, ${o.ms} ms)\n${o.output}`);
    } else {
      console.log(`ok   ${name} (${o.passed} passed, ${o.ms} ms)`);
    }
  };
  // Files that break processes on purpose or measure liveness by the wall clock (chaos, browser), and the
  // simulation (which uses both cores itself), run alone;
  // the others, each with its own ports, directories and processes, run `jobs` at a time.
  const alone = files.filter((f) => EXCLUSIVE.some((dir) => f.includes(dir)));
  const shared = files.filter((f) => !alone.includes(f));
  for (const file of alone) report(file, await runFile(file));
  let next = 0;
  const worker = async () => {
    while (next < shared.length) {
      const file = shared[next++]!;
      report(file, await runFile(file));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, shared.length)) }, worker));
  if (failures.length) console.log(`\nfailed: ${failures.join(', ')}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
