// `kastor topic create|alter|config|list|describe|delete`: what kafka-topics.sh does, through Kastor's admin client.
// Human-readable output by default, `--json` for scripts; a cluster that cannot be reached is one line on
// stderr and exit code 1 (main.ts), a bad flag exit code 2.
import { Kafka } from '../client/index.ts';
import type { TopicDescription } from '../client/admin.ts';
import { UsageError, helpText, parseFlags, type FlagSpecs } from './args.ts';
import { topicConfigCommand } from './topic-config-command.ts';
import { topicDeleteRecordsCommand } from './topic-delete-records-command.ts';
import { CLIENT_SECURITY_FLAGS, clientSecurityOptions } from './client-security.ts';

const SUBCOMMANDS = ['create', 'alter', 'config', 'list', 'describe', 'delete'] as const;

const FLAGS = {
  bootstrap: { type: 'string', description: 'brokers to connect to, comma-separated', default: '127.0.0.1:9092', value: 'HOST:PORT[,..]' },
  ...CLIENT_SECURITY_FLAGS,
  topic: { type: 'string', description: 'topic name (or give it as an argument)', value: 'NAME' },
  partitions: { type: 'number', description: 'create: partition count (default: the broker\'s num.partitions); alter: the new, higher count', value: 'N' },
  'replication-factor': { type: 'number', description: 'create: replicas per partition (default: the broker\'s default)', value: 'N' },
  config: { type: 'string', description: 'create: a topic config, repeatable (e.g. retention.ms=86400000)', value: 'KEY=VALUE' },
  'if-not-exists': { type: 'boolean', description: 'create: succeed when the topic exists already' },
  internal: { type: 'boolean', description: 'list/describe: include internal topics' },
  json: { type: 'boolean', description: 'print JSON instead of text' },
} satisfies FlagSpecs;

const SUMMARY = 'create, grow, list, describe and delete topics';

export function topicHelp(): string {
  return [
    helpText('topic', SUMMARY, FLAGS),
    '',
    'Subcommands:',
    '  create NAME    --partitions N --replication-factor R [--config k=v ...]',
    '  alter NAME     --partitions N   adds partitions up to N (a topic never loses partitions)',
    '  config NAME    [--set k=v ...] [--delete k ...]   changes configs at runtime, prints those not at their default',
    '  list',
    '  describe [NAME ...]   partitions, leaders, replicas, ISR and configs (all topics when no name)',
    '  delete NAME ...',
    '  delete-records NAME --partition P --before OFFSET   deletes the records below OFFSET (-1: the high watermark)',
  ].join('\n');
}

/** Pulls every `--config k=v` out of argv (parseFlags keeps one value per flag). */
export function takeRepeated(argv: string[], flag: string): { values: string[]; rest: string[] } {
  const values: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === `--${flag}`) {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`--${flag} needs a value`);
      values.push(v);
    } else if (a.startsWith(`--${flag}=`)) values.push(a.slice(flag.length + 3));
    else rest.push(a);
  }
  return { values, rest };
}

export function stringifyJson(value: unknown, space?: number): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), space);
}

export async function topicCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(topicHelp());
    return 0;
  }
  const [sub, ...restArgv] = argv;
  if (!sub || sub.startsWith('--')) throw new UsageError(`"topic" needs a subcommand (${SUBCOMMANDS.join(', ')}; see: kastor topic --help)`);
  if (sub === 'delete-records') return topicDeleteRecordsCommand(restArgv);
  if (!(SUBCOMMANDS as readonly string[]).includes(sub)) throw new UsageError(`unknown topic subcommand "${sub}" (subcommands: ${SUBCOMMANDS.join(', ')}; see: kastor topic --help)`);
  if (sub === 'config') return topicConfigCommand(restArgv);
  const { values: configArgs, rest } = takeRepeated(restArgv, 'config');
  const f = parseFlags(`topic ${sub}`, FLAGS, rest);
  const names = [...(f.topic ? [f.topic] : []), ...f._];
  const configs: Record<string, string> = {};
  for (const c of configArgs) {
    const eq = c.indexOf('=');
    if (eq <= 0) throw new UsageError(`--config must be KEY=VALUE, got "${c}"`);
    configs[c.slice(0, eq)] = c.slice(eq + 1);
  }
  if (sub !== 'create' && (configArgs.length > 0 || f['replication-factor'] !== undefined)) {
    throw new UsageError(`--config and --replication-factor are for "topic create" only`);
  }
  if (sub !== 'create' && sub !== 'alter' && f.partitions !== undefined) throw new UsageError(`--partitions is for "topic create" and "topic alter" only`);
  for (const flag of ['partitions', 'replication-factor'] as const) {
    const n = f[flag] as number | undefined;
    if (n !== undefined && !(Number.isInteger(n) && n >= 1)) throw new UsageError(`--${flag} must be a whole number >= 1, got ${n}`);
  }

  const kafka = new Kafka({ bootstrap: parseBootstrapFlag(f.bootstrap), clientId: 'kastor-cli', retry: { retries: 3, maxBackoffMs: 1000 }, ...clientSecurityOptions(f, process.env) });
  const admin = kafka.admin();
  try {
    switch (sub) {
      case 'create': {
        if (names.length !== 1) throw new UsageError('"topic create" takes exactly one topic name');
        const created = await admin.createTopics(
          [{ topic: names[0]!, numPartitions: f.partitions as number | undefined, replicationFactor: f['replication-factor'] as number | undefined, configs }],
          { ifNotExists: f['if-not-exists'] },
        );
        if (f.json) console.log(stringifyJson({ created }));
        else console.log(created.length > 0 ? `created topic ${names[0]}` : `topic ${names[0]} exists already`);
        return 0;
      }
      case 'alter': {
        if (names.length !== 1) throw new UsageError('"topic alter" takes exactly one topic name');
        if (f.partitions === undefined) throw new UsageError('"topic alter" needs --partitions N');
        await admin.createPartitions(names[0]!, f.partitions as number);
        if (f.json) console.log(stringifyJson({ topic: names[0], partitions: f.partitions }));
        else console.log(`topic ${names[0]} now has ${f.partitions} partitions`);
        return 0;
      }
      case 'list': {
        if (names.length > 0) throw new UsageError('"topic list" takes no topic names');
        const topics = await admin.listTopics({ includeInternal: f.internal });
        console.log(f.json ? stringifyJson(topics) : topics.join('\n'));
        return 0;
      }
      case 'describe': {
        let topics = await admin.describeTopics(names.length > 0 ? names : null);
        if (!f.internal && names.length === 0) topics = topics.filter((t) => !t.isInternal);
        console.log(f.json ? stringifyJson(topics, 2) : topics.map(describeText).join('\n'));
        return 0;
      }
      case 'delete': {
        if (names.length === 0) throw new UsageError('"topic delete" needs at least one topic name');
        await admin.deleteTopics(names);
        if (f.json) console.log(stringifyJson({ deleted: names }));
        else console.log(`deleted topic${names.length > 1 ? 's' : ''} ${names.join(', ')}`);
        return 0;
      }
    }
    return 2;
  } finally {
    await admin.close();
  }
}

/** --bootstrap as the client takes it; a malformed address is a usage error (exit 2), not exit 1. */
export function parseBootstrapFlag(value: string): string[] {
  const parts = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new UsageError('--bootstrap needs at least one HOST:PORT');
  for (const p of parts) {
    const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(p);
    if (!m || Number(m[2]) > 65535) throw new UsageError(`--bootstrap must be HOST:PORT[,HOST:PORT...], got "${p}"`);
  }
  return parts;
}

function describeText(t: TopicDescription): string {
  const rf = t.partitions[0]?.replicas.length ?? 0;
  const configs = Object.entries(t.configs ?? {})
    .filter(([, c]) => !c.isDefault && c.value !== null)
    .map(([k, c]) => `${k}=${c.isSensitive ? '(sensitive)' : c.value}`)
    .join(',');
  const lines = [`Topic: ${t.name}\tTopicId: ${t.topicId}\tPartitionCount: ${t.partitions.length}\tReplicationFactor: ${rf}\tConfigs: ${configs}`];
  for (const p of t.partitions) {
    const leader = p.leader < 0 ? 'none' : String(p.leader);
    const offline = p.offlineReplicas.length > 0 ? `\tOffline: ${p.offlineReplicas.join(',')}` : '';
    lines.push(`\tTopic: ${t.name}\tPartition: ${p.partition}\tLeader: ${leader}\tReplicas: ${p.replicas.join(',')}\tIsr: ${p.isr.join(',')}${offline}`);
  }
  return lines.join('\n');
}
