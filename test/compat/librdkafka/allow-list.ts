// allow-list.txt: one line per broker test of librdkafka's suite. `NNNN pass` puts a test on the allow-list
// (CI runs it and fails when it does not pass); `NNNN slow` too, but CI leaves it out for time (a full run
// still expects it to pass); any other line is `NNNN <one-line reason>` saying why the test cannot pass against
// Kastor yet. The file must name every broker test once, so a new suite version or a
// forgotten test is an error rather than a silent gap.
import { readFileSync } from 'node:fs';
import type { SuiteTest } from './suite-tests.ts';

export interface AllowList {
  /** Expected to pass: `pass` and `slow`. */
  allowed: Set<string>;
  /** Expected to pass but left out of CI's run for time. */
  slow: Set<string>;
  /** Why each test not allowed cannot pass yet. */
  reasons: Map<string, string>;
}

export function parseAllowList(text: string, tests: SuiteTest[], source = 'allow-list.txt'): AllowList {
  const allowed = new Set<string>();
  const slow = new Set<string>();
  const reasons = new Map<string, string>();
  const problems: string[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const m = /^(\d{4})\s+(.+)$/.exec(line);
    if (!m) {
      problems.push(`line ${i + 1}: "${raw.trim()}" is not "NNNN pass", "NNNN slow" or "NNNN <reason>"`);
      continue;
    }
    const [, number, rest] = m as unknown as [string, string, string];
    if (allowed.has(number) || reasons.has(number)) problems.push(`line ${i + 1}: ${number} is listed twice`);
    if (rest === 'pass' || rest === 'slow') allowed.add(number);
    else reasons.set(number, rest);
    if (rest === 'slow') slow.add(number);
  }
  const known = new Set(tests.map((t) => t.number));
  for (const n of [...allowed, ...reasons.keys()]) if (!known.has(n)) problems.push(`${n} is not a broker test of the suite`);
  for (const n of known) if (!allowed.has(n) && !reasons.has(n)) problems.push(`${n} is missing: add "${n} pass" or "${n} <why it cannot pass yet>"`);
  if (problems.length > 0) throw new Error(`${source}: ${problems.join('; ')}`);
  return { allowed, slow, reasons };
}

export function readAllowList(file: string, tests: SuiteTest[]): AllowList {
  return parseAllowList(readFileSync(file, 'utf8'), tests, file);
}
