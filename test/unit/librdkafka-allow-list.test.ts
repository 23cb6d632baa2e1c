// The pieces of the librdkafka suite runner that decide what CI runs and what a test's outcome was: the
// allow-list must name every broker test of the suite once (a pass or a reason), and test-runner output is read
// into passed / failed / skipped with the first failure line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllowList } from '../compat/librdkafka/allow-list.ts';
import { mergeOutcomes, parseRunnerOutput, requireSubtestRan } from '../compat/librdkafka/runner-output.ts';
import { SECURED_TESTS } from '../compat/librdkafka/suite-tests.ts';
import { SECURITY_PROFILES } from '../compat/librdkafka/security-profiles.ts';

const tests = ['0001', '0002', '0003'].map((number) => ({ number, names: [`${number}_x`], scenarios: ['default' as const] }));

test('an allow-list names every test once, with pass or a reason', () => {
  const list = parseAllowList('# comment\n0001 pass\n0002 needs transactions (issue 17)\n0003   slow  # 8 minutes\n', tests);
  assert.equal([...list.allowed].sort(), ['0001', '0003']);
  assert.equal([...list.slow], ['0003']);
  assert.is(list.reasons.get('0002'), 'needs transactions (issue 17)');
  assert.throws(() => parseAllowList('0001 pass\n0002 pass\n', tests), /0003 is missing/);
  assert.throws(() => parseAllowList('0001 pass\n0001 pass\n0002 pass\n0003 pass\n', tests), /0001 is listed twice/);
  assert.throws(() => parseAllowList('0001 pass\n0002 pass\n0003 pass\n0999 pass\n', tests), /0999 is not a broker test/);
  assert.throws(() => parseAllowList('0001\n0002 pass\n0003 pass\n', tests), /line 1/);
});

test("the repository's allow-list parses against the numbers it names", () => {
  const text = readFileSync(fileURLToPath(new URL('../compat/librdkafka/allow-list.txt', import.meta.url)), 'utf8');
  const numbers = [...text.matchAll(/^(\d{4})\s/gm)].map((m) => ({ number: m[1]!, names: [], scenarios: ['default' as const] }));
  const list = parseAllowList(text, numbers);
  assert.ok(list.allowed.size >= 1);
  for (const [n, why] of list.reasons) assert.ok(why.length > 8, `${n} needs a real reason, got "${why}"`);
});

const row = (name: string, state: string, extra = '') => `|\x1b[32m ${name.padEnd(40)} | ${state.padStart(10)} |   1.234s \x1b[0m|${extra}`;

test('test-runner output: passed, failed with the first failure line, skipped, timed out', () => {
  assert.equal(parseRunnerOutput(`${row('0012_produce_consume', 'PASSED')}\n`, 0, false, 300_000), { result: 'passed', detail: '' });
  const failed = [
    '[0082_fetch_max_bytes / 3.2s] something',
    '\x1b[31m### Test "0082_fetch_max_bytes" failed at 0082-fetch_max_bytes.cpp:120:do_test_fetch_max_bytes() at Fri Dec  4 15:00:00 2026: ###',
    'Expected response size <= 1000000, got 19400000',
    row('0082_fetch_max_bytes', 'FAILED', ' Expected response size'),
  ].join('\n');
  const f = parseRunnerOutput(failed, 1, false, 300_000);
  assert.is(f.result, 'failed');
  assert.is(f.detail, '0082-fetch_max_bytes.cpp:120: Expected response size <= 1000000, got 19400000');
  const mixed = `${row('0045_a', 'PASSED')}\n${row('0045_b', 'FAILED', ' boom')}\n`;
  assert.equal(parseRunnerOutput(mixed, 1, false, 300_000), { result: 'failed', detail: 'boom' });
  const skipped = `${row('0097_ssl_verify', 'SKIPPED', ' Test requires SSL')}\n`;
  assert.equal(parseRunnerOutput(skipped, 0, false, 300_000), { result: 'skipped', detail: 'Test requires SSL' });
  assert.is(parseRunnerOutput(`${row('0012_x', 'PASSED')}\n`, 0, true, 300_000).result, 'failed', 'a run killed at its deadline fails');
  assert.is(parseRunnerOutput(`${row('0012_x', 'PASSED')}\n`, 134, false, 300_000).result, 'failed', 'a crash after the table fails');
  assert.is(parseRunnerOutput('Segmentation fault\n', null, false, 300_000).result, 'failed');
});

test('a number run in two scenarios fails if either run failed, and passes if either passed', () => {
  const passed = { result: 'passed', detail: '' } as const;
  const failed = { result: 'failed', detail: 'x.c:1: boom' } as const;
  const skipped = { result: 'skipped', detail: 'not here' } as const;
  assert.equal(mergeOutcomes([passed, failed]), failed);
  assert.equal(mergeOutcomes([skipped, passed]), passed);
  assert.equal(mergeOutcomes([skipped, skipped]), skipped);
});

test('a run limited to some subtests passes only when one of them passed', () => {
  const passed = { result: 'passed', detail: '' } as const;
  const ran = '\x1b[36m[0135_sasl_credentials / 0.128s] \x1b[32m[ do_test:82: set_after_auth_failure=no: PASS (0.13s) ]\n';
  assert.equal(requireSubtestRan(passed, ran, 'do_test:'), passed);
  const none = requireSubtestRan(passed, `${row('0135_sasl_credentials', 'PASSED')}\n`, 'do_test:');
  assert.is(none.result, 'failed');
  assert.match(none.detail, /SUBTESTS=do_test: passed no subtest/);
  const failed = { result: 'failed', detail: 'x.c:1: boom' } as const;
  assert.equal(requireSubtestRan(failed, '', 'do_test:'), failed);
});

test('every secured test names a security profile the runner can start', () => {
  for (const [n, t] of Object.entries(SECURED_TESTS)) {
    assert.ok(SECURITY_PROFILES[t.profile], `${n}: no profile ${t.profile}`);
    if (t.subtests) assert.ok(t.subtests.only.length > 0 && t.subtests.skipped.length > 8, `${n}: say which subtests run and which are left out`);
  }
});

test.run();
