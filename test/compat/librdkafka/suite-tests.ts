// Which of librdkafka's tests need a broker: read from the suite's own table (tests/test.c, `struct test
// tests[]`), where each `_TEST(name, flags, ...)` entry may carry TEST_F_LOCAL (no broker: unit tests and the
// mock cluster) or TEST_F_MANUAL (run only by hand). A test number groups the entries that share its four
// digits (0045 has six); it is a broker test when any of its entries is neither local nor manual. An entry may
// name the scenarios it runs in (`.scenario = "noautocreate"`: a cluster with auto.create.topics.enable=false,
// selected by TEST_SCENARIO); without one it runs in "default".
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SecurityProfileName } from './security-profiles.ts';

/** The scenarios the runner can set up; an entry only for others (e.g. "ak23", an old broker) never runs. */
export const SCENARIOS = ['default', 'noautocreate'] as const;

export interface SuiteTest {
  /** The four-digit number, as `TESTS=0012` selects it. */
  number: string;
  /** The names of its broker entries (e.g. 0045_subscribe_update, 0045_subscribe_update_topic_remove). */
  names: string[];
  /** The cluster scenarios its entries run in, "default" first when any entry runs there. */
  scenarios: Array<(typeof SCENARIOS)[number]>;
  /** For a test that needs a secured cluster (SECURED_TESTS): it runs there instead of in its scenarios. */
  secured?: SecuredTest;
}

export interface SecuredTest {
  /** The cluster it runs against (security-profiles.ts). */
  profile: SecurityProfileName;
  /**
   * Runs only these subtests, one test-runner run each (librdkafka's SUBTESTS: a substring of a subtest's
   * `function:line: title`); `skipped` says which of its subtests are left out and why.
   */
  subtests?: { only: string[]; skipped: string };
}

/**
 * The tests that need TLS, SASL or an authorizer, and the cluster each gets (0081, 0109, 0115 and 0119 set ACLs,
 * through the admin API or kafka-acls.sh, and expect a cluster that enforces them). 0135 and 0142 also run share consumers (KIP-932
 * share groups: ShareGroupHeartbeat, ShareFetch, ShareAcknowledge), which Kastor does not have, so their other
 * subtests are run by name, as are 0126's (SASL/OAUTHBEARER, its clients fetching tokens from the run's OIDC endpoint).
 */
export const SECURED_TESTS: Record<string, SecuredTest> = {
  '0081': { profile: 'plaintext-acl' },
  '0097': { profile: 'sasl-ssl-scram' },
  '0109': { profile: 'plaintext-acl' },
  '0115': { profile: 'plaintext-acl' },
  '0119': { profile: 'plaintext-acl' },
  '0126': {
    profile: 'sasl-plaintext-oauthbearer',
    subtests: {
      // The first matches every do_test_produce_consumer_with_OIDC* subtest (client_credentials, jwt-bearer,
      // Azure IMDS and sub-claim variations, invalid and expired tokens), not the share-consumer ones.
      only: ['do_test_produce_consumer_with_OIDC', 'do_test_OIDC_aws_iam'],
      skipped: 'do_test_produce_share_consumer_with_OIDC* (share groups)',
    },
  },
  '0135': { profile: 'sasl-plaintext-plain', subtests: { only: ['do_test:'], skipped: 'do_test_share_consumer (share groups)' } },
  '0142': {
    profile: 'sasl-ssl-scram',
    subtests: {
      only: ['do_test_consumer', 'do_test_producer', 'do_test_txn_producer', 'do_test_reauth_failure'],
      skipped: 'do_test_share_consumer, do_test_share_reauth_failure (share groups); the OAUTHBEARER ones skip themselves',
    },
  },
};


export function brokerTests(sourceDir: string): SuiteTest[] {
  const text = readFileSync(join(sourceDir, 'tests', 'test.c'), 'utf8');
  const start = text.indexOf('struct test tests[] = {');
  if (start < 0) throw new Error(`no test table in ${sourceDir}/tests/test.c`);
  const table = text.slice(start, text.indexOf('\n};', start));
  const byNumber = new Map<string, { names: string[]; scenarios: Set<string> }>();
  for (const entry of table.split('_TEST(').slice(1)) {
    const name = /^\s*(\w+)/.exec(entry)?.[1];
    if (!name || !/^\d{4}_/.test(name)) continue;
    const flags = entry.replace(/\/\*[\s\S]*?\*\//g, '');
    if (flags.includes('TEST_F_LOCAL') || flags.includes('TEST_F_MANUAL')) continue;
    const number = name.slice(0, 4);
    const t = byNumber.get(number) ?? { names: [], scenarios: new Set<string>() };
    t.names.push(name);
    const named = /\.scenario\s*=\s*"([^"]*)"/.exec(flags)?.[1];
    for (const sc of named ? named.split(',') : ['default']) if ((SCENARIOS as readonly string[]).includes(sc)) t.scenarios.add(sc);
    byNumber.set(number, t);
  }
  return [...byNumber]
    .map(([number, t]) => ({ number, names: t.names, scenarios: SCENARIOS.filter((sc) => t.scenarios.has(sc)), ...(SECURED_TESTS[number] ? { secured: SECURED_TESTS[number] } : {}) }))
    .sort((a, b) => a.number.localeCompare(b.number));
}
