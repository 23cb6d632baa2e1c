// `kastor topic delete-records NAME --partition P --before OFFSET`: deletes a partition's records below an
// offset (DeleteRecords, KIP-107: the log start moves there on every replica; -1: below the high watermark),
// what kafka-delete-records.sh does with its offset JSON file. Prints the low watermark every in-sync replica
// reached. A refused deletion (an offset past the high watermark, a compacted topic) is one line on stderr,
// exit code 1 (main.ts); a bad flag exit code 2.
import { Kafka } from '../client/index.ts';
import { UsageError, parseFlags, type FlagSpecs } from './args.ts';
import { parseBootstrapFlag, stringifyJson } from './topic-command.ts';

const FLAGS = {
  bootstrap: { type: 'string', description: 'brokers to connect to, comma-separated', default: '127.0.0.1:9092', value: 'HOST:PORT[,..]' },
  'bootstrap-server': { type: 'string', description: 'the same as --bootstrap (Kafka\'s name)', value: 'HOST:PORT[,..]' },
  partition: { type: 'string', description: 'the partition', value: 'P', required: true },
  before: { type: 'string', description: 'delete the records below this offset (-1: below the high watermark)', value: 'OFFSET', required: true },
  json: { type: 'boolean', description: 'print JSON instead of text' },
} satisfies FlagSpecs;

export async function topicDeleteRecordsCommand(argv: string[]): Promise<number> {
  const f = parseFlags('topic delete-records', FLAGS, argv);
  if (f._.length !== 1) throw new UsageError('"topic delete-records" takes exactly one topic name');
  const topic = f._[0]!;
  if (!/^\d+$/.test(f.partition)) throw new UsageError(`--partition must be a whole number >= 0, got "${f.partition}"`);
  if (!/^(\d+|-1)$/.test(f.before)) throw new UsageError(`--before must be an offset >= 0 or -1 (the high watermark), got "${f.before}"`);
  const partition = Number(f.partition);
  const admin = new Kafka({ bootstrap: parseBootstrapFlag(f['bootstrap-server'] ?? f.bootstrap), clientId: 'kastor-cli', retry: { retries: 3, maxBackoffMs: 1000 } }).admin();
  try {
    const [result] = await admin.deleteRecords(topic, [{ partition, offset: BigInt(f.before) }]);
    if (f.json) console.log(stringifyJson({ topic, partition, lowWatermark: result!.lowWatermark }));
    else console.log(`deleted the records of ${topic}-${partition} below offset ${result!.lowWatermark} (low watermark ${result!.lowWatermark})`);
    return 0;
  } finally {
    await admin.close();
  }
}
