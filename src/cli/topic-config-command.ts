// `kastor topic config NAME [--set k=v ...] [--delete k ...]`: changes some of a topic's configs at runtime
// (IncrementalAlterConfigs: the others stay), then prints the configs that differ from Kafka's defaults with
// where each comes from (the topic, a broker-level setting). Without --set or --delete it only prints them.
// A refused change (an unknown key, a bad value) is one line on stderr naming the key, exit code 1 (main.ts).
import { Kafka } from '../client/index.ts';
import type { ConfigOperation } from '../client/admin.ts';
import { UsageError, parseFlags, type FlagSpecs } from './args.ts';
import { parseBootstrapFlag, stringifyJson, takeRepeated } from './topic-command.ts';

const FLAGS = {
  bootstrap: { type: 'string', description: 'brokers to connect to, comma-separated', default: '127.0.0.1:9092', value: 'HOST:PORT[,..]' },
  json: { type: 'boolean', description: 'print JSON instead of text' },
} satisfies FlagSpecs;

/** Where a value comes from, as the text output shows it. */
const SOURCE_TEXT: Record<string, string> = {
  DYNAMIC_TOPIC_CONFIG: 'topic',
  DYNAMIC_BROKER_CONFIG: 'broker',
  DYNAMIC_DEFAULT_BROKER_CONFIG: 'cluster default',
  STATIC_BROKER_CONFIG: 'broker static',
};

export async function topicConfigCommand(argv: string[]): Promise<number> {
  const sets = takeRepeated(argv, 'set');
  const deletes = takeRepeated(sets.rest, 'delete');
  const f = parseFlags('topic config', FLAGS, deletes.rest);
  if (f._.length !== 1) throw new UsageError('"topic config" takes exactly one topic name');
  const topic = f._[0]!;
  const ops: ConfigOperation[] = [];
  for (const kv of sets.values) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set must be KEY=VALUE, got "${kv}"`);
    ops.push({ name: kv.slice(0, eq), op: 'set', value: kv.slice(eq + 1) });
  }
  for (const name of deletes.values) ops.push({ name, op: 'delete' });

  const kafka = new Kafka({ bootstrap: parseBootstrapFlag(f.bootstrap), clientId: 'kastor-cli', retry: { retries: 3, maxBackoffMs: 1000 } });
  const admin = kafka.admin();
  try {
    if (ops.length > 0) await admin.incrementalAlterConfigs([{ type: 'topic', name: topic, ops }]);
    const configs = (await admin.describeConfigs([topic])).get(topic) ?? {};
    const set = Object.entries(configs)
      .filter(([, c]) => !c.isDefault && c.value !== null)
      .sort(([a], [b]) => a.localeCompare(b));
    if (f.json) console.log(stringifyJson({ topic, configs: Object.fromEntries(set.map(([k, c]) => [k, { value: c.value, source: c.source }])) }));
    else console.log(set.length === 0 ? `topic ${topic}: every config at its default` : set.map(([k, c]) => `${k}=${c.value}\t(${SOURCE_TEXT[c.source ?? ''] ?? c.source})`).join('\n'));
    return 0;
  } finally {
    await admin.close();
  }
}
