// kafka-leader-election.sh, as Kafka 3.9's LeaderElectionCommand: --election-type PREFERRED or UNCLEAN for one
// partition (--topic with --partition), every partition (--all-topic-partitions) or those of a JSON file
// (--path-to-json-file, {"partitions":[{"topic":"t","partition":0}]}). Prints the partitions elected, those
// whose valid leader was already there, and each failure; exit 1 when one failed. Kastor's Admin electLeaders.
import { Kafka } from '../../client/index.ts';
import { ERRORS } from '../../protocol/generated/errors.ts';
import { checkCommon, readOptionFile, connectionOptions, helpOrVersion, kafkaMessage, parseOptions, ParsedOptions, ToolError, type OptionSpecs } from './options.ts';

const SPECS: OptionSpecs = {
  'election-type': { value: 'PREFERRED|UNCLEAN', description: 'REQUIRED: the type of election: the preferred replica, or any live replica of a partition without a leader' },
  topic: { value: 'topic name', description: 'the topic of the partition to elect a leader for (with --partition)' },
  partition: { value: 'partition id', description: 'the partition to elect a leader for (REQUIRED with --topic)' },
  'all-topic-partitions': { description: 'elect leaders for every partition of every topic' },
  'path-to-json-file': { value: 'path to json file', description: 'the partitions to elect leaders for: {"partitions":[{"topic":"t","partition":0}]}' },
  'admin.config': { value: 'config file', description: 'properties file of admin client settings (PLAINTEXT only)' },
};

const ELECTION_NOT_NEEDED = 84;

function partitionsOf(opts: ParsedOptions): Array<{ topic: string; partition: number }> | null {
  const given = ['topic', 'all-topic-partitions', 'path-to-json-file'].filter((o) => opts.has(o));
  if (given.length !== 1) throw new ToolError('One and only one of the following options is required: --topic, --all-topic-partitions, --path-to-json-file');
  if (opts.has('partition') && !opts.has('topic')) throw new ToolError('--partition can only be used with --topic');
  if (opts.has('all-topic-partitions')) return null;
  if (opts.has('topic')) {
    const p = opts.value('partition');
    if (p === undefined) throw new ToolError('Missing required option(s) [partition]');
    if (!/^\d+$/.test(p)) throw new ToolError(`--partition must be a partition id, got '${p}'`);
    return [{ topic: opts.value('topic')!, partition: Number(p) }];
  }
  const file = opts.value('path-to-json-file')!;
  const text = readOptionFile('path-to-json-file', file);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ToolError(`cannot read --path-to-json-file ${file}: ${(err as Error).message}`);
  }
  const list = (doc as { partitions?: unknown })?.partitions;
  if (!Array.isArray(list) || list.length === 0) throw new ToolError(`${file} has no "partitions" list`);
  return list.map((e: { topic?: unknown; partition?: unknown }) => {
    if (typeof e?.topic !== 'string' || !Number.isInteger(e.partition) || (e.partition as number) < 0) throw new ToolError(`Each partition needs a string "topic" and a partition id: ${JSON.stringify(e)}`);
    return { topic: e.topic, partition: e.partition as number };
  });
}

export async function kafkaLeaderElection(argv: string[]): Promise<number> {
  let admin: ReturnType<Kafka['admin']> | undefined;
  try {
    const opts = parseOptions(SPECS, argv);
    const early = helpOrVersion(argv, opts, 'kafka-leader-election.sh', 'elect the preferred or an unclean leader of partitions.', SPECS);
    if (early !== null) return early;
    checkCommon(opts);
    if (!opts.has('bootstrap-server')) throw new ToolError('Missing required option(s) [bootstrap-server]');
    const type = opts.value('election-type')?.toUpperCase();
    if (type === undefined) throw new ToolError('Missing required option(s) [election-type]');
    if (type !== 'PREFERRED' && type !== 'UNCLEAN') throw new ToolError(`--election-type must be PREFERRED or UNCLEAN, got '${opts.value('election-type')}'`);
    const partitions = partitionsOf(opts);
    // Kafka's tool names its admin settings file --admin.config; the other tools call it --command-config.
    const config = opts.value('admin.config') ?? opts.value('command-config');
    const connection = new ParsedOptions(new Map([['bootstrap-server', [opts.value('bootstrap-server')!]], ...(config ? [['command-config', [config]] as [string, string[]]] : [])]));
    admin = new Kafka(connectionOptions(connection, 'kafka-leader-election')).admin();
    const results = await admin.electLeaders({ type: type === 'PREFERRED' ? 'preferred' : 'unclean', partitions });
    const name = (r: { topic: string; partition: number }) => `${r.topic}-${r.partition}`;
    const elected = results.filter((r) => r.errorCode === 0);
    const noop = results.filter((r) => r.errorCode === ELECTION_NOT_NEEDED);
    const failed = results.filter((r) => r.errorCode !== 0 && r.errorCode !== ELECTION_NOT_NEEDED);
    if (elected.length > 0) console.log(`Successfully completed leader election (${type}) for partitions ${elected.map(name).join(', ')}`);
    if (noop.length > 0) console.log(`Valid replica already elected for partitions ${noop.map(name).join(', ')}`);
    for (const r of failed) console.log(`Error completing leader election (${type}) for partition: ${name(r)}: ${ERRORS[r.errorCode]?.name ?? r.errorCode}${r.errorMessage ? `: ${r.errorMessage}` : ''}`);
    if (failed.length > 0) {
      console.error(`Error: ${failed.length} replica(s) could not be elected`);
      return 1;
    }
    return 0;
  } catch (err) {
    console.error(err instanceof ToolError ? err.message : `Error: ${kafkaMessage(err)}`);
    return 1;
  } finally {
    await admin?.close();
  }
}
