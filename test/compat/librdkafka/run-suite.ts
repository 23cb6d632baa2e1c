// Runs librdkafka's own broker test suite (tests/0nnn-*.c, from ../shared/third-party) against a real
// 3-broker Kastor cluster, one test number at a time with a deadline each, and prints a table (test, result,
// seconds, first failure line) and `librdkafka suite: N passed, N failed, N skipped`.
//
//   npm run compat:librdkafka                     every broker test
//   npm run compat:librdkafka -- 0012 0017        some
//   npm run compat:librdkafka -- --allow-list     the tests allow-list.txt says pass, but for the slow ones
//                                                 (what CI runs); exits 1 when one of them fails
//   ... --jobs 3                                  run up to 3 test numbers at once against the one cluster
//                                                 (each test makes its own topics and groups; most of a test's
//                                                 time is spent waiting, so CI's allow-list fits its budget)
//
// The cluster has what Kafka's test clusters have: auto-created topics with 4 partitions (num.partitions=4),
// a rack per broker (RACK1-3) with replica.selector.class=RackAwareReplicaSelector (fetch from follower), and a
// second one without auto-creation for the tests of the "noautocreate" scenario;
// KAFKA_PATH points at bin/kafka, Kastor's versions of Kafka's scripts. The suite is told the broker is Kafka
// 3.9.0 (TEST_KAFKA_VERSION), which gates tests by the features they need. The tests that need TLS or SASL
// (SECURED_TESTS in suite-tests.ts) run instead against a cluster of their security profile (security-profiles.ts:
// a SASL_SSL or SASL_PLAINTEXT listener, a user, certificates made for the run, or for OAUTHBEARER an OIDC
// identity provider of the run's own, oidc-endpoint.ts), maybe one subtest at a time.
// Environment: LIBRDKAFKA_TARBALL (the source), KASTOR_CACHE_DIR (where the build is kept, default
// /var/cache/kastor), LIBRDKAFKA_TEST_DEADLINE_S (per test, default 300), LIBRDKAFKA_DEBUG (librdkafka debug
// contexts, e.g. protocol,fetch), LIBRDKAFKA_KEEP_OUTPUT (a directory to write each run's output to).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestCluster, type TestCluster } from '../../../src/testing/index.ts';
import { ensureSuiteBuilt, SuiteBuildError } from './suite-build.ts';
import { brokerTests, SCENARIOS, type SuiteTest } from './suite-tests.ts';
import { readAllowList, type AllowList } from './allow-list.ts';
import { clientSettingsFor, makeSuiteCerts, needsCerts, needsOidc, needsSecureListener, secureListenerFor, SECURITY_PROFILES, type SecurityProfileName, type SuiteCerts } from './security-profiles.ts';
import { startOidcEndpoint, type OidcEndpoint } from './oidc-endpoint.ts';
import { mergeOutcomes, parseRunnerOutput, requireSubtestRan, type TestOutcome } from './runner-output.ts';

/** The runs of one test number: a cluster (scenario or security profile) each, and maybe a subtest filter. */
function runsOf(t: SuiteTest): Array<{ cluster: string; subtests?: string }> {
  if (!t.secured) return t.scenarios.map((cluster) => ({ cluster }));
  const only = t.secured.subtests?.only;
  return only ? only.map((subtests) => ({ cluster: t.secured!.profile, subtests })) : [{ cluster: t.secured.profile }];
}

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const tarball = process.env.LIBRDKAFKA_TARBALL ?? join(repoRoot, '..', 'shared', 'third-party', 'librdkafka-2.15.0.tar.gz');
const cacheRoot = process.env.KASTOR_CACHE_DIR ?? '/var/cache/kastor';
const deadlineMs = Number(process.env.LIBRDKAFKA_TEST_DEADLINE_S ?? 300) * 1000;
/** A test the allow-list calls slow (0113 takes nearly 10 minutes) gets at least this long. */
const SLOW_DEADLINE_MS = 1_200_000;
/**
 * Each broker in a rack of its own, named as 0101 (fetch from follower) expects: it sets client.rack to RACK<id> of
 * a follower and skips itself unless DescribeConfigs gives three distinct broker.rack values. With the
 * RackAwareReplicaSelector, only consumers that set client.rack (0101, 0045's) are sent to followers.
 */
const RACKS: Record<number, string> = { 1: 'RACK1', 2: 'RACK2', 3: 'RACK3' };
const allowListFile = fileURLToPath(new URL('./allow-list.txt', import.meta.url));

function usage(message: string): never {
  console.error(`compat:librdkafka: ${message} (usage: npm run compat:librdkafka -- [--allow-list] [NNNN ...])`);
  process.exit(2);
}

function runOne(dir: string, number: string, env: NodeJS.ProcessEnv, deadlineMs: number): Promise<{ output: string; code: number | null; timedOut: boolean; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('./test-runner', ['-L', '-p1'], { cwd: join(dir, 'tests'), env: { ...env, TESTS: number }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    }, deadlineMs);
    child.on('error', (err) => (output += `\ncannot start test-runner: ${err.message}\n`));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ output, code, timedOut, ms: Date.now() - started });
    });
  });
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const useAllowList = args.includes('--allow-list');
  const jobsAt = args.indexOf('--jobs');
  const jobs = jobsAt < 0 ? 1 : Number(args[jobsAt + 1]);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 8) usage('--jobs takes a number from 1 to 8');
  const numbers = args.filter((a, i) => a !== '--allow-list' && (jobsAt < 0 || (i !== jobsAt && i !== jobsAt + 1)));
  for (const a of numbers) if (!/^\d{4}$/.test(a)) usage(`"${a}" is not a four-digit test number or --allow-list`);

  let build;
  try {
    build = await ensureSuiteBuilt(tarball, cacheRoot, (line) => console.log(line));
  } catch (err) {
    if (err instanceof SuiteBuildError && err.logTail) console.error(err.logTail);
    console.error(`compat:librdkafka: cannot build librdkafka's suite: ${(err as Error).message}`);
    return 1;
  }
  const all = brokerTests(build.dir);
  const known = new Map(all.map((t) => [t.number, t]));
  const allowList: AllowList = readAllowList(allowListFile, all);
  let selected: SuiteTest[];
  if (numbers.length > 0) {
    const unknown = numbers.filter((n) => !known.has(n));
    if (unknown.length > 0) usage(`${unknown.join(', ')}: not a broker test of librdkafka ${build.version} (${all.length} are)`);
    selected = numbers.map((n) => known.get(n)!);
  } else {
    selected = useAllowList ? all.filter((t) => allowList.allowed.has(t.number) && !allowList.slow.has(t.number)) : all;
  }

  const workDir = mkdtempSync(join(tmpdir(), 'kastor-librdkafka-'));
  const clusters: TestCluster[] = [];
  let oidc: OidcEndpoint | null = null;
  const outcomes: Array<TestOutcome & { number: string }> = [];
  try {
    // One cluster per scenario the selected tests need ("noautocreate" is Kafka's auto.create.topics.enable=false),
    // and one per security profile (security-profiles.ts) the secured ones need.
    const envs = new Map<string, NodeJS.ProcessEnv>();
    const keys = [...SCENARIOS.filter((sc) => selected.some((t) => !t.secured && t.scenarios.includes(sc))), ...new Set(selected.flatMap((t) => (t.secured ? [t.secured.profile] : [])))];
    let certs: SuiteCerts | null = null;
    for (const key of keys) {
      const profile = key in SECURITY_PROFILES ? SECURITY_PROFILES[key as SecurityProfileName] : null;
      if (profile && needsOidc(profile)) oidc ??= await startOidcEndpoint(workDir);
      const brokerArgs = [
        '--num-partitions', '4', '--default-replication-factor', '3',
        '--replica-selector', 'org.apache.kafka.common.replica.RackAwareReplicaSelector',
        ...(key === 'noautocreate' ? ['--auto-create-topics=false'] : []),
        ...(profile?.brokerArgs ?? []),
        ...(profile && needsOidc(profile) ? oidc!.brokerArgs : []),
      ];
      if (profile && needsCerts(profile)) certs ??= await makeSuiteCerts(join(workDir, 'certs'));
      const password = randomBytes(12).toString('hex');
      const secureListener = profile && needsSecureListener(profile) ? secureListenerFor(profile, certs, password) : undefined;
      const cluster = await startTestCluster({ brokers: 3, brokerArgs, racks: RACKS, ...(secureListener ? { secureListener } : {}) });
      clusters.push(cluster);
      const bootstrap = secureListener ? cluster.secureBootstrapServers : cluster.bootstrapServers;
      const client = profile ? clientSettingsFor(profile, certs, password, oidc) : { confLines: [], env: {} };
      const conf = join(workDir, `test-${key}.conf`);
      writeFileSync(conf, [`metadata.broker.list=${bootstrap}`, 'test.timeout.multiplier=2', ...client.confLines, ''].join('\n'));
      envs.set(key, {
        ...process.env,
        ...client.env,
        RDKAFKA_TEST_CONF: conf,
        TEST_SCENARIO: profile ? 'default' : key,
        // librdkafka's own CI mode: its wall-clock assertions on client timings (e.g. 0001's 999 ms
        // create-produce-destroy cycle) warn instead of failing, and timeouts get 2 more multiples, on a machine
        // shared with the brokers and other tests.
        CI: 'true',
        TEST_KAFKA_VERSION: '3.9.0',
        KAFKA_PATH: join(repoRoot, 'bin', 'kafka'),
        BROKERS: bootstrap,
        // The suite's librdkafka, not Debian's (kcat's librdkafka1 is in the linker's default path too).
        LD_LIBRARY_PATH: [join(build.dir, 'src'), join(build.dir, 'src-cpp'), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
        ...(process.env.LIBRDKAFKA_DEBUG ? { TEST_DEBUG: process.env.LIBRDKAFKA_DEBUG } : {}),
      });
      console.log(`${profile ? `profile ${key} (${[profile.protocol, profile.mechanism, ...profile.brokerArgs].filter(Boolean).join(' ')})` : `scenario ${key}`}: Kastor brokers ${bootstrap}`);
    }
    for (const t of selected) if (t.secured?.subtests) console.log(`${t.number}: only subtests ${t.secured.subtests.only.join(', ')}; left out: ${t.secured.subtests.skipped}`);
    console.log(`librdkafka ${build.version} (${build.built ? 'built now' : 'cached'} in ${build.dir})`);
    console.log(`${pad('test', 6)}${pad('result', 9)}${pad('seconds', 9)}first failure line`);
    let next = 0;
    const worker = async () => {
      while (next < selected.length) {
        const t = selected[next++]!;
        const started = Date.now();
        const runs: TestOutcome[] = [];
        for (const run of runsOf(t)) {
          const deadline = allowList.slow.has(t.number) ? Math.max(deadlineMs, SLOW_DEADLINE_MS) : deadlineMs;
          const env = { ...envs.get(run.cluster)!, ...(run.subtests ? { SUBTESTS: run.subtests } : {}) };
          const r = await runOne(build.dir, t.number, env, deadline);
          const outcome = parseRunnerOutput(r.output, r.code, r.timedOut, deadline);
          runs.push(run.subtests ? requireSubtestRan(outcome, r.output, run.subtests) : outcome);
          const name = `${t.number}-${run.cluster}${run.subtests ? `-${run.subtests.replace(/\W/g, '')}` : ''}`;
          if (process.env.LIBRDKAFKA_KEEP_OUTPUT) writeFileSync(join(process.env.LIBRDKAFKA_KEEP_OUTPUT, `${name}.log`), r.output);
        }
        const outcome = mergeOutcomes(runs);
        outcomes.push({ ...outcome, number: t.number });
        const note = outcome.result === 'passed' ? '' : outcome.detail;
        console.log(`${pad(t.number, 6)}${pad(outcome.result, 9)}${pad(((Date.now() - started) / 1000).toFixed(1), 9)}${note}`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(jobs, selected.length) }, worker));
  } finally {
    await Promise.all(clusters.map((c) => c.close()));
    await oidc?.close();
    rmSync(workDir, { recursive: true, force: true });
  }

  const count = (what: string) => outcomes.filter((o) => o.result === what).length;
  const passed = count('passed');
  const failed = count('failed');
  console.log(`librdkafka suite: ${passed} passed, ${failed} failed, ${count('skipped')} skipped`);
  const regressions = outcomes.filter((o) => o.result !== 'passed' && allowList.allowed.has(o.number));
  const newPasses = outcomes.filter((o) => o.result === 'passed' && !allowList.allowed.has(o.number));
  for (const o of newPasses) console.log(`${o.number} passes but is not on the allow-list (${allowList.reasons.get(o.number)}): add it`);
  for (const o of regressions) console.log(`${o.number} is on the allow-list and did not pass: ${o.result} ${o.detail}`);
  if (useAllowList) console.log(`${passed} passed, ${outcomes.length - passed} failed`);
  return regressions.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`compat:librdkafka: ${(err as Error).message}`);
    process.exit(1);
  },
);
