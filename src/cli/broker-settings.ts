// Where `kastor broker` gets its settings, lowest precedence first: a `--config FILE` in Kafka's
// server.properties form, the command line's flags, then KASTOR_* environment variables. The file and the
// environment are turned into flags (`num.partitions=4` → `--num-partitions 4`, KASTOR_NUM_PARTITIONS=4 → the
// same), put before and after the command line's, and parsed once by the flag parser: the last one given wins,
// and every value is checked the same way whichever source it came from.
//
// The file takes Kafka's key names for what Kastor shares with Kafka (KAFKA_KEYS), the broker-level topic
// defaults Kafka has (TOPIC_DEFAULT_KEYS: a topic created through this broker gets them unless it sets its own),
// and Kastor's own settings as `kastor.<flag>` (`kastor.nats=nats://a:4222,nats://b:4222`). An unknown key is
// an error naming it and its line. Environment variables are KASTOR_ and a flag's name in capitals with
// underscores (KASTOR_NATS, KASTOR_HTTP, KASTOR_NUM_PARTITIONS); other KASTOR_* variables are not settings and
// are left alone.
import { readFileSync } from 'node:fs';
import { parseFlags, UsageError, type FlagSpecs, type ParsedFlags } from './args.ts';
import { resolveTopicConfig } from '../metadata/topic-config.ts';

/** Kafka's server.properties keys Kastor reads, each to a flag (with the value rewritten where Kafka's form differs). */
const KAFKA_KEYS: Record<string, { flag: string; value?: (v: string, key: string) => string }> = {
  'node.id': { flag: 'id' },
  'broker.id': { flag: 'id' },
  listeners: { flag: 'listeners' },
  'advertised.listeners': { flag: 'advertised-listeners' },
  'listener.security.protocol.map': { flag: 'listener-security-protocol-map' },
  'ssl.keystore.location': { flag: 'ssl-cert' },
  'ssl.keystore.type': { flag: 'ssl-keystore-type', value: (v, k) => pemOnly(v, k) },
  'ssl.truststore.location': { flag: 'ssl-ca' },
  'ssl.truststore.type': { flag: 'ssl-truststore-type', value: (v, k) => pemOnly(v, k) },
  'ssl.client.auth': { flag: 'ssl-client-auth' },
  'sasl.enabled.mechanisms': { flag: 'sasl-enabled-mechanisms' },
  'connections.max.reauth.ms': { flag: 'connections-max-reauth-ms' },
  'sasl.oauthbearer.jwks.endpoint.url': { flag: 'sasl-oauthbearer-jwks-endpoint-url' },
  'sasl.oauthbearer.expected.audience': { flag: 'sasl-oauthbearer-expected-audience' },
  'sasl.oauthbearer.expected.issuer': { flag: 'sasl-oauthbearer-expected-issuer' },
  'sasl.oauthbearer.sub.claim.name': { flag: 'sasl-oauthbearer-sub-claim-name' },
  'sasl.oauthbearer.scope.claim.name': { flag: 'sasl-oauthbearer-scope-claim-name' },
  'sasl.oauthbearer.clock.skew.seconds': { flag: 'sasl-oauthbearer-clock-skew-seconds' },
  'sasl.oauthbearer.jwks.endpoint.refresh.ms': { flag: 'sasl-oauthbearer-jwks-endpoint-refresh-ms' },
  'authorizer.class.name': { flag: 'authorizer', value: (v) => (v.trim() === '' ? 'none' : v) },
  'super.users': { flag: 'super-users' },
  'allow.everyone.if.no.acl.found': { flag: 'allow-everyone-if-no-acl-found' },
  'log.dirs': { flag: 'data', value: (v, k) => oneDir(v, k) },
  'log.dir': { flag: 'data', value: (v, k) => oneDir(v, k) },
  'num.partitions': { flag: 'num-partitions' },
  'default.replication.factor': { flag: 'default-replication-factor' },
  'auto.create.topics.enable': { flag: 'auto-create-topics' },
  'broker.rack': { flag: 'rack' },
  'replica.selector.class': { flag: 'replica-selector' },
  'log.flush.interval.ms': { flag: 'flush-interval-ms' },
  'broker.session.timeout.ms': { flag: 'session-timeout-ms' },
  'broker.heartbeat.interval.ms': { flag: 'heartbeat-interval-ms' },
  'auto.leader.rebalance.enable': { flag: 'auto-leader-rebalance' },
  'leader.imbalance.check.interval.seconds': { flag: 'leader-imbalance-check-interval-ms', value: (v, k) => secondsAsMs(v, k) },
  'leader.imbalance.per.broker.percentage': { flag: 'leader-imbalance-per-broker-percentage' },
  'log.cleaner.enable': { flag: 'log-cleaner' },
  'log.cleaner.backoff.ms': { flag: 'log-cleaner-backoff-ms' },
  'log.cleaner.io.max.bytes.per.second': { flag: 'log-cleaner-io-max-bytes-per-second' },
  'transaction.max.timeout.ms': { flag: 'transaction-max-timeout-ms' },
  'transactional.id.expiration.ms': { flag: 'transactional-id-expiration-ms' },
  'producer.id.expiration.ms': { flag: 'producer-id-expiration-ms' },
};

/** Kafka's broker-level defaults of topic configs: server.properties key → topic config key (and unit). */
const TOPIC_DEFAULT_KEYS: Record<string, { topicKey: string; factor?: number }> = {
  'min.insync.replicas': { topicKey: 'min.insync.replicas' },
  'log.retention.ms': { topicKey: 'retention.ms' },
  'log.retention.minutes': { topicKey: 'retention.ms', factor: 60_000 },
  'log.retention.hours': { topicKey: 'retention.ms', factor: 3_600_000 },
  'log.retention.bytes': { topicKey: 'retention.bytes' },
  'log.segment.bytes': { topicKey: 'segment.bytes' },
  'log.roll.ms': { topicKey: 'segment.ms' },
  'log.roll.hours': { topicKey: 'segment.ms', factor: 3_600_000 },
  'message.max.bytes': { topicKey: 'max.message.bytes' },
  'unclean.leader.election.enable': { topicKey: 'unclean.leader.election.enable' },
  'log.cleanup.policy': { topicKey: 'cleanup.policy' },
  'compression.type': { topicKey: 'compression.type' },
};

/** A number of seconds (Kafka's *.seconds keys) as the milliseconds Kastor's flag takes. */
function secondsAsMs(v: string, key: string): string {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`${key}: expected a positive number of seconds, got "${v}"`);
  return String(n * 1000);
}

function pemOnly(v: string, key: string): string {
  if (v.toUpperCase() !== 'PEM') throw new UsageError(`${key}: Kastor reads PEM files only, got "${v}"`);
  return v;
}

function oneDir(v: string, key: string): string {
  const dirs = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (dirs.length !== 1) throw new UsageError(`${key}: Kastor uses one data directory, got "${v}"`);
  return dirs[0]!;
}

/** Java properties, the subset server.properties files use: `key=value` or `key: value` lines, `#`/`!` comments, `\` continuations. */
export function parseProperties(text: string, source: string): Array<{ key: string; value: string; line: number }> {
  const out: Array<{ key: string; value: string; line: number }> = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const first = i + 1;
    let line = lines[i]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i]!.trim();
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (!m) throw new UsageError(`${source} line ${first}: expected key=value, got "${line}"`);
    out.push({ key: m[1]!, value: m[2]!.trim(), line: first });
  }
  return out;
}

/** The flags a server.properties text stands for; the topic defaults go in `--topic-default key=value` form. */
export function propertiesToFlags(text: string, source: string, specs: FlagSpecs): string[] {
  const flags: string[] = [];
  for (const { key, value, line } of parseProperties(text, source)) {
    const at = `${source} line ${line}`;
    const kafka = KAFKA_KEYS[key];
    const topic = TOPIC_DEFAULT_KEYS[key];
    if (kafka) {
      try {
        flags.push(`--${kafka.flag}=${kafka.value ? kafka.value(value, key) : value}`);
      } catch (err) {
        throw new UsageError(`${at}: ${(err as Error).message}`);
      }
    } else if (topic) {
      if (topic.factor !== undefined && !/^\d+$/.test(value)) throw new UsageError(`${at}: ${key} must be a whole number, got "${value}"`);
      const v = topic.factor !== undefined ? String(BigInt(value) * BigInt(topic.factor)) : value;
      flags.push(`--topic-default=${topic.topicKey}=${v}`);
    } else if (key.startsWith('kastor.') && Object.hasOwn(specs, key.slice('kastor.'.length)) && key !== 'kastor.config') {
      flags.push(`--${key.slice('kastor.'.length)}=${value}`);
    } else {
      throw new UsageError(`${at}: unknown key "${key}" (Kafka keys Kastor reads: ${[...Object.keys(KAFKA_KEYS), ...Object.keys(TOPIC_DEFAULT_KEYS)].join(', ')}; Kastor's own: kastor.<flag>, see kastor broker --help)`);
    }
  }
  return flags;
}

/** The flags KASTOR_* variables stand for (KASTOR_NUM_PARTITIONS=4 → --num-partitions=4); other variables are ignored. */
export function environmentToFlags(env: NodeJS.ProcessEnv, specs: FlagSpecs): string[] {
  const flags: string[] = [];
  for (const name of Object.keys(specs)) {
    if (name === 'config' || name === 'topic-default') continue;
    const value = env[`KASTOR_${name.toUpperCase().replace(/-/g, '_')}`];
    if (value !== undefined && value !== '') flags.push(`--${name}=${value}`);
  }
  return flags;
}

/** The command line with the config file's settings before it and the environment's after it (the last one wins). */
export function brokerArgv(argv: string[], env: NodeJS.ProcessEnv, specs: FlagSpecs, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): string[] {
  let file: string | undefined = env.KASTOR_CONFIG || undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--config') file = argv[i + 1];
    else if (argv[i]!.startsWith('--config=')) file = argv[i]!.slice('--config='.length);
  }
  let fromFile: string[] = [];
  if (file !== undefined) {
    if (file === '' || file.startsWith('--')) throw new UsageError('--config needs a value (FILE)');
    let text: string;
    try {
      text = readFile(file);
    } catch (err) {
      throw new UsageError(`--config ${file}: cannot read it (${(err as { code?: string }).code ?? (err as Error).message})`);
    }
    fromFile = propertiesToFlags(text, file, specs);
  }
  const fromEnv = environmentToFlags(env, specs);
  // --listen on the command line (or from the environment) is the broker's one listener: it overrides the
  // file's listeners as any flag overrides the file.
  if ([...argv, ...fromEnv].some((a) => a === '--listen' || a.startsWith('--listen='))) {
    fromFile = fromFile.filter((a) => !/^--(listeners|advertised-listeners|listener-security-protocol-map)=/.test(a));
  }
  return [...fromFile, ...argv, ...fromEnv];
}

/** Pulls every `--topic-default KEY=VALUE` out of argv (repeatable, the last per key wins) and checks them as topic configs. */
export function takeTopicDefaults(argv: string[]): { rest: string[]; topicDefaults: Record<string, string> } {
  const rest: string[] = [];
  const given: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    let kv: string | undefined;
    if (arg === '--topic-default') {
      kv = argv[++i];
      if (kv === undefined || kv.startsWith('--')) throw new UsageError('--topic-default needs a value (KEY=VALUE)');
    } else if (arg.startsWith('--topic-default=')) kv = arg.slice('--topic-default='.length);
    else {
      rest.push(arg);
      continue;
    }
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--topic-default must be KEY=VALUE, got "${kv}"`);
    given[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const { config, errors } = resolveTopicConfig(given);
  if (errors.length > 0) throw new UsageError(`topic default ${errors[0]!.message}`);
  return { rest, topicDefaults: config };
}

/** Every source of a broker's settings, parsed: the flags (file < command line < environment) and the topic defaults. */
export function resolveBrokerFlags<S extends FlagSpecs>(specs: S, argv: string[], env: NodeJS.ProcessEnv, readFile?: (path: string) => string): { flags: ParsedFlags<S>; topicDefaults: Record<string, string> } {
  const { rest, topicDefaults } = takeTopicDefaults(brokerArgv(argv, env, specs, readFile));
  return { flags: parseFlags('broker', specs, rest), topicDefaults };
}
