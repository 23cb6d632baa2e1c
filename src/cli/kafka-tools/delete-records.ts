// kafka-delete-records.sh, as Kafka 3.9's DeleteRecordsCommand: --offset-json-file names the partitions and the
// offset to delete below (-1: the high watermark), `{"partitions":[{"topic":"t","partition":0,"offset":10}],
// "version":1}`; each partition is answered with its low watermark, or the error that refused it.
import { Kafka } from '../../client/index.ts';
import { checkCommon, readOptionFile, connectionOptions, helpOrVersion, kafkaMessage, parseOptions, ToolError, type OptionSpecs } from './options.ts';

const SPECS: OptionSpecs = {
  'offset-json-file': { value: 'Offset json file path', description: 'REQUIRED: the partitions and offsets, {"partitions":[{"topic":"t","partition":0,"offset":10}],"version":1}' },
};

interface Wanted {
  topic: string;
  partition: number;
  offset: bigint;
}

/** Kafka's parseOffsetJsonStringWithoutDedup, then its duplicate check. */
export function parseOffsetJson(text: string): Wanted[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ToolError(`The offset json file is not valid JSON: ${(err as Error).message}`);
  }
  const list = (doc as { partitions?: unknown })?.partitions;
  if (!Array.isArray(list)) throw new ToolError('The offset json file has no "partitions" list');
  const wanted = list.map((p: { topic?: unknown; partition?: unknown; offset?: unknown }) => {
    if (typeof p?.topic !== 'string' || !Number.isInteger(p.partition) || !Number.isInteger(p.offset)) {
      throw new ToolError(`Each partition needs a string "topic" and whole numbers "partition" and "offset": ${JSON.stringify(p)}`);
    }
    return { topic: p.topic, partition: p.partition as number, offset: BigInt(p.offset as number) };
  });
  const seen = new Set<string>();
  const dups = new Set<string>();
  for (const w of wanted) {
    const tp = `${w.topic}-${w.partition}`;
    if (seen.has(tp)) dups.add(tp);
    seen.add(tp);
  }
  if (dups.size > 0) throw new ToolError(`Offset json file contains duplicate topic partitions: ${[...dups].join(',')}`);
  return wanted;
}

export async function kafkaDeleteRecords(argv: string[]): Promise<number> {
  let admin: ReturnType<Kafka['admin']> | undefined;
  try {
    const opts = parseOptions(SPECS, argv);
    const early = helpOrVersion(argv, opts, 'kafka-delete-records.sh', 'delete records of the given partitions down to the specified offset.', SPECS);
    if (early !== null) return early;
    checkCommon(opts);
    if (!opts.has('bootstrap-server')) throw new ToolError('Missing required argument "[bootstrap-server]"');
    const file = opts.value('offset-json-file');
    if (file === undefined) throw new ToolError('Missing required argument "[offset-json-file]"');
    const wanted = parseOffsetJson(readOptionFile('offset-json-file', file));
    admin = new Kafka(connectionOptions(opts, 'kafka-delete-records')).admin();
    console.log('Executing records delete operation');
    const results = await Promise.all(
      wanted.map(async (w) => {
        try {
          const [r] = await admin!.deleteRecords(w.topic, [{ partition: w.partition, offset: w.offset }]);
          return `partition: ${w.topic}-${w.partition}\tlow_watermark: ${r!.lowWatermark}`;
        } catch (err) {
          return `partition: ${w.topic}-${w.partition}\terror: ${kafkaMessage(err)}`;
        }
      }),
    );
    console.log('Records delete operation completed:');
    for (const line of results) console.log(line);
    return 0;
  } catch (err) {
    console.error(err instanceof ToolError ? err.message : `Error: ${kafkaMessage(err)}`);
    return 1;
  } finally {
    await admin?.close();
  }
}
