// Reads what librdkafka's test-runner printed for one test number: its summary table has a row per test
// entry (`| 0045_subscribe_update | PASSED | 12.345s |` followed by the failure or skip reason), and a failed
// assertion prints `### Test "..." failed at file:line:func() at time: ###` with the reason after it. A number
// fails when any entry failed (or the runner died or ran out of time), passes when an entry passed and none
// failed, and is skipped when every entry was skipped (a feature gate: broker version, SASL, ...).
export interface TestOutcome {
  result: 'passed' | 'failed' | 'skipped';
  /** The first failure line, or why it was skipped. */
  detail: string;
}

const ANSI = /\x1b\[[0-9;]*m/g;
const ROW = /^\|\s*(\d{4}\w*)\s*\|\s*(PASSED|FAILED|SKIPPED|RUNNING|NOT_STARTED)\s*\|\s*[\d.]+s\s*\|\s*(.*)$/;

export function parseRunnerOutput(raw: string, exitCode: number | null, timedOut: boolean, deadlineMs: number): TestOutcome {
  const lines = raw.replace(ANSI, '').split('\n');
  const rows = lines.map((l) => ROW.exec(l.trim())).filter((m): m is RegExpExecArray => m !== null);
  const failure = firstFailure(lines);
  if (timedOut) return { result: 'failed', detail: `no result within ${deadlineMs / 1000} s${failure ? `; ${failure}` : ''}` };
  const failedRow = rows.find((r) => r[2] === 'FAILED' || r[2] === 'RUNNING');
  if (failedRow) return { result: 'failed', detail: failure ?? (failedRow[3]!.trim() || `${failedRow[1]} ${failedRow[2]}`) };
  if (rows.some((r) => r[2] === 'PASSED')) {
    if (exitCode === 0) return { result: 'passed', detail: '' };
    return { result: 'failed', detail: failure ?? `test-runner exited with ${exitCode}` };
  }
  const skipped = rows.find((r) => r[2] === 'SKIPPED');
  if (skipped && exitCode === 0) return { result: 'skipped', detail: skipped[3]!.trim() || 'skipped' };
  if (rows.length === 0 && exitCode === 0) return { result: 'skipped', detail: skipReason(lines) ?? 'no test entry ran' };
  return { result: 'failed', detail: failure ?? lastWords(lines) ?? `test-runner exited with ${exitCode}` };
}

/** The reason line after the first `### Test ... failed at ...` banner, with where it failed. */
function firstFailure(lines: string[]): string | null {
  const i = lines.findIndex((l) => /### Test ".*" failed at /.test(l));
  if (i < 0) return null;
  const where = /failed at ([^:]+:\d+)/.exec(lines[i]!)?.[1] ?? '';
  const rest = lines[i]!.replace(/^.*?###\s*$/, '').trim();
  const reason = (lines.slice(i + 1).find((l) => l.trim() !== '') ?? rest).trim();
  return `${where}: ${reason}`.slice(0, 200);
}

function skipReason(lines: string[]): string | null {
  const l = lines.find((x) => /SKIP/i.test(x));
  return l ? l.trim().slice(0, 200) : null;
}

function lastWords(lines: string[]): string | null {
  const l = [...lines].reverse().find((x) => x.trim() !== '');
  return l ? l.trim().slice(0, 200) : null;
}

/** One number run in several scenarios: failed if any run failed, passed if any passed, else skipped. */
export function mergeOutcomes(runs: TestOutcome[]): TestOutcome {
  return runs.find((r) => r.result === 'failed') ?? runs.find((r) => r.result === 'passed') ?? runs[0] ?? { result: 'skipped', detail: 'no scenario it runs in' };
}

/**
 * A run limited to the subtests matching `filter` (librdkafka's SUBTESTS) that passed must have passed one of them:
 * a filter that matches nothing (a subtest renamed in a new suite version) runs no subtest and would pass silently.
 */
export function requireSubtestRan(outcome: TestOutcome, raw: string, filter: string): TestOutcome {
  if (outcome.result !== 'passed') return outcome;
  const ran = raw.replace(ANSI, '').split('\n').some((l) => l.includes(`[ ${filter}`) && l.includes(': PASS ('));
  return ran ? outcome : { result: 'failed', detail: `SUBTESTS=${filter} passed no subtest (renamed in this suite version?)` };
}
