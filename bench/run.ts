// Runs one benchmark: `npx tsx bench/run.ts <name> [args...]` (or `npm run bench -- <name> [args...]`) imports
// bench/<name>.ts and awaits its `run(args)`. Benchmarks print one JSON line per result on stdout and everything
// else on stderr, so `... | grep '^{'` or a JSON-lines reader gets only the figures.
//
// An unknown name lists the benchmarks (the bench/*.ts files that export run) and exits with code 2.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';

const benchDir = fileURLToPath(new URL('.', import.meta.url));

type Bench = { run: (args: string[]) => Promise<void> };

/** Benchmark names: bench/*.ts files (except this runner) whose source exports a function `run`. */
function availableBenchmarks(dir = benchDir): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && f !== 'run.ts')
    .filter((f) => /export\s+(async\s+)?function\s+run\s*\(/.test(readFileSync(join(dir, f), 'utf8')))
    .map((f) => f.slice(0, -'.ts'.length))
    .sort();
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const names = availableBenchmarks();
  if (!name || !names.includes(name)) {
    process.stderr.write(
      (name ? `unknown benchmark "${name}"\n` : 'usage: npx tsx bench/run.ts <name> [args...]\n') +
        `available benchmarks:\n${names.map((n) => `  ${n}`).join('\n')}\n`,
    );
    return 2;
  }
  const mod = (await import(pathToFileURL(join(benchDir, `${name}.ts`)).href)) as Partial<Bench>;
  if (typeof mod.run !== 'function') {
    process.stderr.write(`bench/${name}.ts does not export run(args)\n`);
    return 2;
  }
  await mod.run(args);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
