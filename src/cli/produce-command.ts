// `kastor produce --topic T`: one record per input line (stdin or --file), optionally `key<SEP>value`,
// sent through Kastor's producer with up to a few sends in flight (kafka-console-producer.sh / kcat -P).
// Progress goes to stderr every --progress-every records; the summary line at the end too, so stdout stays
// empty for scripts.
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Kafka, type ProducerMessage, type RecordMetadata } from '../client/index.ts';
import { UsageError, helpText, parseFlags, type FlagSpecs } from './args.ts';
import { parseBootstrapFlag } from './topic-command.ts';
import { CLIENT_SECURITY_FLAGS, clientSecurityOptions } from './client-security.ts';
import { COMPRESSION_CODECS } from '../protocol/record-batch-layout.ts';

const FLAGS = {
  bootstrap: { type: 'string', description: 'brokers to connect to, comma-separated', default: '127.0.0.1:9092', value: 'HOST:PORT[,..]' },
  ...CLIENT_SECURITY_FLAGS,
  topic: { type: 'string', description: 'topic to produce to', required: true, value: 'NAME' },
  file: { type: 'string', description: 'read lines from this file instead of stdin', value: 'PATH' },
  'key-separator': { type: 'string', description: 'split each line into key and value at the first SEP (TAB for a tab)', value: 'SEP' },
  partition: { type: 'number', description: 'send every record to this partition (default: by key, round-robin without)', value: 'P' },
  acks: { type: 'string', description: '0, 1 or all', default: 'all', value: 'ACKS' },
  compression: { type: 'string', description: 'none, gzip, snappy, lz4 or zstd', default: 'none', value: 'CODEC' },
  'linger-ms': { type: 'number', description: 'wait this long for more records per batch', default: 5, value: 'MS' },
  'progress-every': { type: 'number', description: 'report progress on stderr every N records (0: never)', default: 100000, value: 'N' },
  quiet: { type: 'boolean', description: 'no progress or summary on stderr' },
} satisfies FlagSpecs;

const SEND_CHUNK = 1000;
const MAX_OUTSTANDING = 16;

export async function produceCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(helpText('produce', 'send lines from stdin or a file as records', FLAGS));
    return 0;
  }
  const f = parseFlags('produce', FLAGS, argv);
  if (f._.length > 0) throw new UsageError(`unexpected argument "${f._[0]}" for "produce" (see: kastor produce --help)`);
  const acks = ({ '0': 0, '1': 1, all: -1, '-1': -1 } as const)[f.acks as '0' | '1' | 'all' | '-1'];
  if (acks === undefined) throw new UsageError(`--acks must be 0, 1 or all, got "${f.acks}"`);
  const compression = COMPRESSION_CODECS.find((c) => c === f.compression);
  if (compression === undefined) throw new UsageError(`--compression must be one of ${COMPRESSION_CODECS.join(', ')}, got "${f.compression}"`);
  const partition = f.partition as number | undefined;
  if (partition !== undefined && !(Number.isInteger(partition) && partition >= 0)) throw new UsageError(`--partition must be a whole number >= 0, got ${partition}`);
  if (f.file && !existsSync(f.file)) throw new UsageError(`--file ${f.file} does not exist`);
  const sep = f['key-separator'] === undefined ? undefined : f['key-separator'] === 'TAB' || f['key-separator'] === '\\t' ? '\t' : f['key-separator'];
  if (sep === '') throw new UsageError('--key-separator must not be empty');
  const bootstrap = parseBootstrapFlag(f.bootstrap);

  const kafka = new Kafka({ bootstrap, clientId: 'kastor-cli', retry: { retries: 5, maxBackoffMs: 1000 }, ...clientSecurityOptions(f, process.env) });
  const producer = kafka.producer({ acks, compression, lingerMs: f['linger-ms'] });
  const log = (line: string) => {
    if (!f.quiet) process.stderr.write(`${line}\n`);
  };
  const started = Date.now();
  let sent = 0;
  let acked = 0;
  let nextReport = f['progress-every'] > 0 ? f['progress-every'] : Infinity;
  const outstanding = new Set<Promise<RecordMetadata[]>>();
  let failure: unknown = null;
  const submit = async (messages: ProducerMessage[]) => {
    const p = producer.send({ topic: f.topic, messages });
    outstanding.add(p);
    sent += messages.length;
    p.then(
      (r) => {
        acked += r.length;
        while (acked >= nextReport) {
          log(`produced ${acked} records to ${f.topic} (${Math.round(acked / ((Date.now() - started) / 1000 || 1))} records/s)`);
          nextReport += f['progress-every'];
        }
      },
      (err) => (failure ??= err),
    ).finally(() => outstanding.delete(p));
    while (outstanding.size >= MAX_OUTSTANDING && !failure) await Promise.race(outstanding).catch(() => {});
    if (failure) throw failure;
  };
  try {
    await producer.connect();
    const input = f.file ? createReadStream(f.file) : process.stdin;
    const lines = createInterface({ input, crlfDelay: Infinity });
    let chunk: ProducerMessage[] = [];
    for await (const line of lines) {
      let key: string | null = null;
      let value = line;
      if (sep !== undefined) {
        const at = line.indexOf(sep);
        if (at >= 0) {
          key = line.slice(0, at);
          value = line.slice(at + sep.length);
        }
      }
      chunk.push(partition === undefined ? { key, value } : { key, value, partition });
      if (chunk.length >= SEND_CHUNK) {
        await submit(chunk);
        chunk = [];
      }
    }
    if (chunk.length > 0) await submit(chunk);
    await Promise.allSettled([...outstanding]);
    if (failure) throw failure;
    await producer.flush();
    log(`produced ${sent} records to ${f.topic} in ${((Date.now() - started) / 1000).toFixed(2)} s${acks === 0 ? ' (acks=0: not confirmed)' : ''}`);
    return 0;
  } finally {
    await producer.close().catch(() => {});
  }
}
