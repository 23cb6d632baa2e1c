// `kastor consume --topic T`: prints records of a topic (all partitions, or one) from the end, the beginning,
// an offset or a time, as values, key<TAB>value, or JSON lines (kafka-console-consumer.sh / kcat -C). It stops
// after --max records, with --exit-at-end once it has read every partition up to its end as of the start,
// or on SIGINT/SIGTERM. Consumer groups (--group) are not here yet: they need the group coordinator.
import { Kafka, type ConsumerBatch, type ConsumerRecord, type StartOffset } from '../client/index.ts';
import { UsageError, helpText, parseFlags, type FlagSpecs } from './args.ts';
import { parseBootstrapFlag } from './topic-command.ts';
import { CLIENT_SECURITY_FLAGS, clientSecurityOptions } from './client-security.ts';

const FLAGS = {
  bootstrap: { type: 'string', description: 'brokers to connect to, comma-separated', default: '127.0.0.1:9092', value: 'HOST:PORT[,..]' },
  ...CLIENT_SECURITY_FLAGS,
  topic: { type: 'string', description: 'topic to read', required: true, value: 'NAME' },
  partition: { type: 'number', description: 'read only this partition (default: all)', value: 'P' },
  'from-beginning': { type: 'boolean', description: 'start at the earliest offset (default: only new records)' },
  offset: { type: 'number', description: 'start at this offset (with --partition, or in every partition)', value: 'N' },
  timestamp: { type: 'number', description: 'start at the first record at or after this time (ms since the epoch)', value: 'MS' },
  format: { type: 'string', description: 'value, key-value (key<TAB>value) or json', default: 'value', value: 'FORMAT' },
  max: { type: 'number', description: 'exit after printing N records', value: 'N' },
  'exit-at-end': { type: 'boolean', description: 'exit once every partition is read to its end (as of the start)' },
  'max-wait-ms': { type: 'number', description: 'Fetch long-poll time', default: 500, value: 'MS' },
} satisfies FlagSpecs;

export async function consumeCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(helpText('consume', 'print records of a topic', FLAGS));
    return 0;
  }
  const f = parseFlags('consume', FLAGS, argv);
  if (f._.length > 0) throw new UsageError(`unexpected argument "${f._[0]}" for "consume" (see: kastor consume --help)`);
  const starts = [f['from-beginning'] ? '--from-beginning' : null, f.offset !== undefined ? '--offset' : null, f.timestamp !== undefined ? '--timestamp' : null].filter(Boolean);
  if (starts.length > 1) throw new UsageError(`${starts.join(' and ')} cannot be combined: pick one start`);
  if (!['value', 'key-value', 'json'].includes(f.format)) throw new UsageError(`--format must be value, key-value or json, got "${f.format}"`);
  for (const flag of ['partition', 'offset', 'timestamp'] as const) {
    const n = f[flag] as number | undefined;
    if (n !== undefined && !(Number.isInteger(n) && n >= 0)) throw new UsageError(`--${flag} must be a whole number >= 0, got ${n}`);
  }
  const max = f.max as number | undefined;
  if (max !== undefined && !(Number.isInteger(max) && max >= 1)) throw new UsageError(`--max must be a whole number >= 1, got ${max}`);
  const start: StartOffset = f['from-beginning'] ? 'earliest' : f.offset !== undefined ? BigInt(f.offset) : f.timestamp !== undefined ? { timestamp: f.timestamp } : 'latest';

  const kafka = new Kafka({ bootstrap: parseBootstrapFlag(f.bootstrap), clientId: 'kastor-cli', retry: { retries: 3, maxBackoffMs: 1000 }, ...clientSecurityOptions(f, process.env) });
  const admin = kafka.admin();
  const consumer = kafka.consumer({ maxWaitMs: f['max-wait-ms'], autoOffsetReset: 'earliest' });
  const stop = () => void consumer.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let stdoutBroken = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    // `kastor consume | head`: the reader went away, which is an ordinary end.
    if (err.code === 'EPIPE') {
      stdoutBroken = true;
      stop();
    }
  });
  try {
    const offsets = await admin.fetchOffsets(f.topic);
    const partitions = offsets.filter((o) => f.partition === undefined || o.partition === f.partition);
    if (partitions.length === 0) throw new UsageError(`topic ${f.topic} has no partition ${f.partition} (it has ${offsets.length})`);
    consumer.assign(partitions.map((p) => ({ topic: f.topic, partition: p.partition, offset: start })));
    // --exit-at-end: the end of each partition as of now; a partition already there is done.
    const remaining = new Map(partitions.map((p) => [p.partition, p.latest]));
    const atEnd = () => {
      for (const p of partitions) {
        const pos = consumer.position({ topic: f.topic, partition: p.partition });
        const end = remaining.get(p.partition);
        if (end !== undefined && pos !== null && pos >= end) remaining.delete(p.partition);
      }
      return remaining.size === 0;
    };
    if (f['exit-at-end'] && partitions.every((p) => p.latest <= p.earliest)) return 0;
    let printed = 0;
    const render = renderer(f.format as 'value' | 'key-value' | 'json');
    // With --exit-at-end the loop also wakes every 100 ms: a partition with nothing to read yields no batch,
    // but its resolved position tells that it is at its end.
    let pending: Promise<IteratorResult<ConsumerBatch>> | null = null;
    for (;;) {
      if (f['exit-at-end'] && atEnd()) break;
      pending ??= consumer.next();
      const result = f['exit-at-end'] ? await Promise.race([pending, tick(100)]) : await pending;
      if (result === null) continue;
      pending = null;
      if (result.done) break;
      const batch = result.value;
      let out = '';
      for (const r of batch.records) {
        out += render(batch.partition, r);
        if (max !== undefined && ++printed >= max) break;
      }
      if (out && !stdoutBroken && !process.stdout.write(out)) await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
      if (max !== undefined && printed >= max) break;
    }
    return 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await consumer.close();
    await admin.close();
  }
}

function tick(ms: number): Promise<null> {
  return new Promise((resolve) => setTimeout(() => resolve(null), ms));
}

function text(b: Buffer | null): string {
  return b === null ? 'null' : b.toString('utf8');
}

function renderer(format: 'value' | 'key-value' | 'json'): (partition: number, r: ConsumerRecord) => string {
  if (format === 'value') return (_p, r) => `${text(r.value)}\n`;
  if (format === 'key-value') return (_p, r) => `${text(r.key)}\t${text(r.value)}\n`;
  return (partition, r) =>
    // offset is written as a JSON number from the bigint, so no precision is lost.
    `{"partition":${partition},"offset":${r.offset},"timestamp":${r.timestamp},"key":${JSON.stringify(r.key === null ? null : r.key.toString('utf8'))},"value":${JSON.stringify(r.value === null ? null : r.value.toString('utf8'))},"headers":${JSON.stringify(r.headers.map((h) => ({ key: h.key, value: h.value === null ? null : h.value.toString('utf8') })))}}\n`;
}
