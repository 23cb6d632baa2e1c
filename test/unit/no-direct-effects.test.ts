// Nothing global (STYLE.md point 3): the broker's code reaches time, randomness, ids, the disk and the network
// only through the Runtime it is given (src/runtime/runtime.ts), so several brokers share a process and a
// whole cluster runs on the memory runtime. This scans src/ (but cli, dashboard, testing, client and inspect,
// which are tools around a broker), actors/ and machines/, and names file:line for every direct use outside
// src/runtime/node/, the one place that implements the runtime on Node. Comments are not code.
//
// Layering, checked the same way: src/broker never imports src/server (the Kafka TCP listener is an adapter in
// front of the broker, src/runtime/node/kafka-listener.ts), and nothing scanned imports src/runtime/node: the
// Node runtime is built by its entry point (src/runtime/node/node-broker.ts) and handed in. src/index.ts, the
// package's entry point, re-exports it and is the one exception.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const EXCLUDED = /^src\/(cli|dashboard|testing|client|inspect)\//;
const NODE_RUNTIME = /^src\/runtime\/node\//;
const PACKAGE_ENTRY = 'src/index.ts';

const EFFECTS: Array<[string, RegExp]> = [
  ['Date.now', /\bDate\.now\b/],
  ['new Date() (the wall clock)', /\bnew Date\(\s*\)/],
  ['performance.now', /\bperformance\.now\b/],
  ['a global timer', /(?<![.\w])(setTimeout|setInterval|setImmediate)\s*\(/],
  ['Math.random', /\bMath\.random\b/],
  ['ulid()', /(?<![.\w])ulid\s*\(/],
  ['crypto randomness', /\b(randomBytes|randomUUID|getRandomValues|randomInt)\b/],
  ['node:fs', /from\s+['"](node:)?fs(\/promises)?['"]/],
  ['node:net', /from\s+['"](node:)?net['"]/],
  ['node:crypto', /from\s+['"](node:)?crypto['"]/],
  ['node:timers', /from\s+['"](node:)?timers(\/promises)?['"]/],
];

/** A method of that name declared (the Clock's own setTimeout, the Ids' ulid), not the global called. */
const DECLARATION = /^\s*(?:async\s+)?(?:setTimeout|setInterval|setImmediate|ulid)\s*\([^()]*(?:\([^()]*\)[^()]*)*\)\s*[:{]/;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** The file's lines with comments blanked out (line numbers kept). */
function codeLines(text: string): string[] {
  const noBlocks = text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '));
  return noBlocks.split('\n').map((line) => line.replace(/(^|[^:'"`])\/\/.*$/, '$1'));
}

function scanned(): Array<{ file: string; lines: string[] }> {
  return ['src', 'actors', 'machines']
    .flatMap((d) => sources(join(root, d)))
    .map((p) => relative(root, p).split('\\').join('/'))
    .filter((file) => !EXCLUDED.test(file))
    .map((file) => ({ file, lines: codeLines(readFileSync(join(root, file), 'utf8')) }));
}

test('no direct use of time, timers, randomness, ids, the disk or the network outside src/runtime/node', () => {
  const found: string[] = [];
  for (const { file, lines } of scanned()) {
    if (NODE_RUNTIME.test(file)) continue;
    lines.forEach((line, i) => {
      if (DECLARATION.test(line)) return;
      for (const [what, re] of EFFECTS) if (re.test(line)) found.push(`${file}:${i + 1}: ${what}: ${line.trim()}`);
    });
  }
  assert.equal(found, [], `direct effects (use the Runtime instead):\n${found.join('\n')}`);
});

test('layering: src/broker never imports src/server; nothing scanned imports src/runtime/node', () => {
  const found: string[] = [];
  for (const { file, lines } of scanned()) {
    if (NODE_RUNTIME.test(file)) continue;
    lines.forEach((line, i) => {
      const spec = /(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/.exec(line)?.[1];
      if (!spec || !spec.startsWith('.')) return;
      const target = relative(root, join(root, file, '..', spec)).split('\\').join('/');
      if (file.startsWith('src/broker/') && target.startsWith('src/server/')) found.push(`${file}:${i + 1}: imports ${target}`);
      if (target.startsWith('src/runtime/node/') && file !== PACKAGE_ENTRY) found.push(`${file}:${i + 1}: imports ${target}`);
    });
  }
  assert.equal(found, [], `layering broken:\n${found.join('\n')}`);
});

test.run();
