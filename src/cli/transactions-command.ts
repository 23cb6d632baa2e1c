// `kastor transactions list|describe ID...|describe-producers`: what kafka-transactions.sh does (KIP-664), through
// Kastor's admin client. `list` asks every broker for the transactions it coordinates and merges them
// (filtered by state, producer id, or how long they have been open); `describe` shows each transactional id's
// state at its coordinator with the partitions of its open transaction; `describe-producers` shows the producers
// a partition's leader holds, with the start offset of each one's open transaction — how an operator finds a
// hanging transaction. Text by default, `--json` for scripts (bigints as strings); a bad flag exits 2.
import { Kafka } from '../client/index.ts';
import type { ProducerDescription, TransactionDescription, TransactionListing } from '../client/admin.ts';
import { UsageError, helpText, parseFlags, type FlagSpecs } from './args.ts';
import { CLIENT_SECURITY_FLAGS, clientSecurityOptions } from './client-security.ts';
import { parseBootstrapFlag, stringifyJson } from './topic-command.ts';
import { TXN_STATES } from '../txn/txn-metadata.ts';

const SUBCOMMANDS = ['list', 'describe', 'describe-producers'] as const;

const FLAGS = {
  bootstrap: { type: 'string', description: 'brokers to connect to, comma-separated', default: '127.0.0.1:9092', value: 'HOST:PORT[,..]' },
  'bootstrap-server': { type: 'string', description: 'the same as --bootstrap (Kafka\'s name)', value: 'HOST:PORT[,..]' },
  ...CLIENT_SECURITY_FLAGS,
  state: { type: 'string', description: 'list: only these states, comma-separated (Kafka\'s names: Ongoing, PrepareCommit, ...)', value: 'STATE[,..]' },
  'producer-id': { type: 'string', description: 'list: only these producer ids, comma-separated', value: 'ID[,..]' },
  'duration-ms': { type: 'number', description: 'list: only transactions open longer than this', value: 'MS' },
  topic: { type: 'string', description: 'describe-producers: the topic', value: 'T' },
  partition: { type: 'number', description: 'describe-producers: the partition', value: 'P' },
  json: { type: 'boolean', description: 'print JSON instead of text' },
} satisfies FlagSpecs;

const SUMMARY = 'list transactions, describe them at their coordinator, show a partition\'s producers';

export function transactionsHelp(): string {
  return [
    helpText('transactions', SUMMARY, FLAGS),
    '',
    'Subcommands:',
    '  list [--state S,..] [--producer-id ID,..] [--duration-ms MS]',
    '  describe TRANSACTIONAL-ID ...   state, producer id and epoch, timeout, start time and partitions',
    '  describe-producers --topic T --partition P   the producers the partition\'s leader holds',
  ].join('\n');
}

function listText(txns: TransactionListing[]): string {
  if (txns.length === 0) return '(no transactions)';
  const w = Math.max('TRANSACTIONAL-ID'.length, ...txns.map((t) => t.transactionalId.length));
  const rows = [`${'TRANSACTIONAL-ID'.padEnd(w)}  ${'PRODUCER-ID'.padEnd(11)}  ${'STATE'.padEnd(17)}  COORDINATOR`];
  for (const t of txns) rows.push(`${t.transactionalId.padEnd(w)}  ${String(t.producerId).padEnd(11)}  ${t.state.padEnd(17)}  ${t.coordinator}`);
  return rows.join('\n');
}

function describeText(d: TransactionDescription, now: number): string {
  const started = d.startTimeMs < 0 ? '-' : `${new Date(d.startTimeMs).toISOString()} (${Math.max(0, now - d.startTimeMs)} ms ago)`;
  const partitions = d.topics.flatMap((t) => t.partitions.map((p) => `${t.topic}-${p}`)).join(' ') || '-';
  return [
    `transactional id ${d.transactionalId}: ${d.state}, coordinator broker ${d.coordinator}`,
    `  producer ${d.producerId} epoch ${d.producerEpoch}, timeout ${d.timeoutMs} ms, started ${started}`,
    `  partitions: ${partitions}`,
  ].join('\n');
}

function producersText(topic: string, partition: number, producers: ProducerDescription[]): string {
  if (producers.length === 0) return `(no producers on ${topic}-${partition})`;
  const rows = ['PRODUCER-ID  EPOCH  LAST-SEQUENCE  LAST-TIMESTAMP            COORDINATOR-EPOCH  TXN-START-OFFSET'];
  for (const p of producers) {
    const ts = p.lastTimestamp < 0 ? '-' : new Date(p.lastTimestamp).toISOString();
    const start = p.currentTxnStartOffset < 0n ? '-' : String(p.currentTxnStartOffset);
    rows.push(`${String(p.producerId).padEnd(11)}  ${String(p.producerEpoch).padEnd(5)}  ${String(p.lastSequence).padEnd(13)}  ${ts.padEnd(24)}  ${String(p.coordinatorEpoch).padEnd(17)}  ${start}`);
  }
  return rows.join('\n');
}

function commaList(flag: string, value: string | undefined): string[] {
  if (value === undefined) return [];
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError(`--${flag} needs at least one value`);
  return items;
}

export async function transactionsCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(transactionsHelp());
    return 0;
  }
  const [sub, ...rest] = argv;
  if (!sub || sub.startsWith('--')) throw new UsageError(`"transactions" needs a subcommand (${SUBCOMMANDS.join(', ')}; see: kastor transactions --help)`);
  if (!(SUBCOMMANDS as readonly string[]).includes(sub)) {
    throw new UsageError(`unknown transactions subcommand "${sub}" (subcommands: ${SUBCOMMANDS.join(', ')}; see: kastor transactions --help)`);
  }
  const f = parseFlags('transactions', FLAGS, rest);
  const listOnly = ['state', 'producer-id', 'duration-ms'] as const;
  if (sub !== 'list') for (const flag of listOnly) if (f[flag] !== undefined) throw new UsageError(`--${flag} is for "transactions list" only`);
  if (sub !== 'describe-producers' && (f.topic !== undefined || f.partition !== undefined)) throw new UsageError('--topic and --partition are for "transactions describe-producers" only');
  if (sub === 'list' && f._.length > 0) throw new UsageError('"transactions list" takes no arguments (filters: --state, --producer-id, --duration-ms)');
  if (sub === 'describe' && f._.length === 0) throw new UsageError('"transactions describe" needs at least one TRANSACTIONAL-ID');
  if (sub === 'describe-producers' && (f.topic === undefined || f.partition === undefined || f._.length > 0)) {
    throw new UsageError('"transactions describe-producers" needs --topic T --partition P');
  }
  if (f.partition !== undefined && !(Number.isInteger(f.partition) && f.partition >= 0)) throw new UsageError(`--partition must be a whole number >= 0, got ${f.partition}`);
  if (f['duration-ms'] !== undefined && !(Number.isInteger(f['duration-ms']) && f['duration-ms'] >= 0)) throw new UsageError(`--duration-ms must be a whole number >= 0, got ${f['duration-ms']}`);
  const producerIds = commaList('producer-id', f['producer-id']).map((id) => {
    if (!/^\d+$/.test(id)) throw new UsageError(`--producer-id must be whole numbers >= 0, got "${id}"`);
    return BigInt(id);
  });
  const states = commaList('state', f.state);
  const unknown = states.filter((s) => !(TXN_STATES as readonly string[]).includes(s));
  if (unknown.length > 0) throw new UsageError(`--state: unknown state ${unknown.map((s) => `"${s}"`).join(', ')} (states: ${TXN_STATES.join(', ')})`);

  const bootstrap = parseBootstrapFlag(f['bootstrap-server'] ?? f.bootstrap);
  const admin = new Kafka({ bootstrap, clientId: 'kastor-cli', retry: { retries: 3, maxBackoffMs: 1000 }, ...clientSecurityOptions(f, process.env) }).admin();
  try {
    if (sub === 'list') {
      const txns = await admin.listTransactions({ states, producerIds, durationMs: f['duration-ms'] });
      console.log(f.json ? stringifyJson(txns) : listText(txns));
    } else if (sub === 'describe') {
      const described = await admin.describeTransactions(f._);
      const now = Date.now();
      console.log(f.json ? stringifyJson(described) : described.map((d) => describeText(d, now)).join('\n'));
    } else {
      const producers = await admin.describeProducers(f.topic!, f.partition!);
      console.log(f.json ? stringifyJson(producers) : producersText(f.topic!, f.partition!, producers));
    }
    return 0;
  } finally {
    await admin.close();
  }
}
