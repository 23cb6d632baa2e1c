// kafka-topics.sh over Kastor's admin client, following Kafka 3.9's TopicCommand: the same options, the
// same output (`Created topic T.`, --list one name a line, --describe's tab-separated lines) and the same
// errors (`Error while executing topic command : Topic 'x' already exists.`, `Topic 'x' does not exist as
// expected`). --topic is a regular expression except with --create, as in Kafka. Kafka prints some errors on
// stdout; here every error goes to stderr, so a script reading --list never takes an error for a topic.
//
// --alter --partitions N grows every matching topic through CreatePartitions and, as Kafka 3.9's tool,
// prints nothing when it worked.
// Refused with one line: --replica-assignment, and deleting internal topics (Kastor's broker would delete
// __consumer_offsets).
import { Kafka } from '../../client/index.ts';
import type { Admin, TopicDescription } from '../../client/admin.ts';
import { helpOrVersion, ToolError, checkCommon, connectionOptions, kafkaMessage, onlyWith, oneAction, parseOptions, type OptionSpecs, type ParsedOptions } from './options.ts';

const ACTIONS = ['list', 'describe', 'create', 'alter', 'delete'];
const REPORTS = ['under-replicated-partitions', 'unavailable-partitions', 'under-min-isr-partitions', 'at-min-isr-partitions'];
const INTERNAL_TOPICS = new Set(['__consumer_offsets', '__transaction_state']);

const SPECS: OptionSpecs = {
  list: { description: 'list all available topics' },
  describe: { description: 'list details for the given topics' },
  create: { description: 'create a new topic' },
  alter: { description: 'change the number of partitions of a topic (only up)' },
  delete: { description: 'delete a topic' },
  topic: { value: 'topic', description: 'the topic to create, describe or delete; a regular expression except with --create' },
  'topic-id': { value: 'topic-id', description: 'the topic id to describe' },
  partitions: { value: '# of partitions', description: 'partitions of the topic being created (default: the broker\'s num.partitions), or its new count with --alter' },
  'replication-factor': { value: 'replication factor', description: 'replicas of each partition (default: the broker\'s default.replication.factor)' },
  config: { value: 'name=value', repeats: true, description: 'a topic configuration override for the topic being created (repeatable)' },
  'replica-assignment': { value: 'assignment', description: 'refused: Kastor assigns replicas itself' },
  'if-exists': { description: 'with --delete or --describe: do nothing when the topic does not exist' },
  'if-not-exists': { description: 'with --create: do not fail when the topic exists' },
  'exclude-internal': { description: 'leave internal topics out of --list and --describe' },
  'under-replicated-partitions': { description: 'with --describe: only partitions whose ISR is smaller than their replicas' },
  'unavailable-partitions': { description: 'with --describe: only partitions whose leader is not available' },
  'under-min-isr-partitions': { description: 'with --describe: only partitions whose ISR is below min.insync.replicas' },
  'at-min-isr-partitions': { description: 'with --describe: only partitions whose ISR is at min.insync.replicas' },
  'topics-with-overrides': { description: 'with --describe: only topics that override a config, without partitions' },
  'partition-size-limit-per-response': { value: 'n', description: 'accepted and ignored (Kastor describes topics through Metadata)' },
};

const ALLOWED_WITH: Record<string, string[]> = {
  config: ['create'],
  partitions: ['alter', 'create'],
  'replication-factor': ['create'],
  'replica-assignment': ['alter', 'create'],
  'if-exists': ['alter', 'delete', 'describe'],
  'if-not-exists': ['create'],
  'exclude-internal': ['list', 'describe'],
  'topic-id': ['describe'],
  'topics-with-overrides': ['describe'],
  ...Object.fromEntries(REPORTS.map((r) => [r, ['describe']])),
};

const PREFIX = 'Error while executing topic command : ';

export async function kafkaTopics(argv: string[]): Promise<number> {
  let opts: ParsedOptions;
  try {
    opts = parseOptions(SPECS, argv);
  } catch (err) {
    console.error(PREFIX + kafkaMessage(err));
    return 1;
  }
  const early = helpOrVersion(argv, opts, 'kafka-topics.sh', 'create, delete, describe, or change a topic.', SPECS);
  if (early !== null) return early;
  let admin: Admin | undefined;
  try {
    const action = checkArgs(opts);
    admin = new Kafka(connectionOptions(opts, 'kafka-topics')).admin();
    await RUN[action]!(admin, opts);
    return 0;
  } catch (err) {
    // Kafka prints its own argument checks bare and wraps what went wrong talking to the cluster.
    console.error(err instanceof ToolError ? err.message : PREFIX + kafkaMessage(err));
    return 1;
  } finally {
    await admin?.close();
  }
}

function checkArgs(opts: ParsedOptions): string {
  checkCommon(opts);
  const action = oneAction(opts, ACTIONS);
  if (!opts.has('bootstrap-server')) throw new ToolError('--bootstrap-server must be specified');
  if (action === 'describe' && opts.has('if-exists') && !opts.has('topic') && !opts.has('topic-id')) throw new ToolError('--topic or --topic-id is required to describe a topic');
  if (action !== 'list' && action !== 'describe' && !opts.has('topic')) throw new ToolError('Missing required argument "[topic]"');
  if (action === 'alter' && !opts.has('partitions')) throw new ToolError('Missing required argument "[partitions]"');
  onlyWith(opts, action, ALLOWED_WITH);
  if (opts.has('topics-with-overrides') && REPORTS.some((r) => opts.has(r))) throw new ToolError('Option "[topics-with-overrides]" can\'t be used with the partition reports');
  if (opts.has('replica-assignment')) throw new ToolError('--replica-assignment is not supported by Kastor: it places replicas itself (give --partitions and --replication-factor)');
  return action;
}

function intOption(opts: ParsedOptions, name: string): number | undefined {
  const raw = opts.value(name);
  if (raw === undefined) return undefined;
  if (!/^-?\d+$/.test(raw.trim())) throw new ToolError(`Cannot parse argument '${raw}' of option ${name}`);
  return Number(raw);
}

const RUN: Record<string, (admin: Admin, opts: ParsedOptions) => Promise<void>> = {
  async create(admin, opts) {
    const name = opts.value('topic')!;
    const partitions = intOption(opts, 'partitions');
    const rf = intOption(opts, 'replication-factor');
    const configs: Record<string, string> = {};
    for (const c of opts.all('config')) {
      const kv = c.split(/\s*=\s*/);
      if (kv.length !== 2) throw new ToolError('requirement failed: Invalid topic config: all configs to be added must be in the format "key=val".');
      configs[kv[0]!.trim()] = kv[1]!.trim();
    }
    if (name.includes('.') || name.includes('_')) {
      console.log("WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.");
    }
    if (rf !== undefined && (rf < 1 || rf > 32767)) throw new ToolError('The replication factor must be between 1 and 32767 inclusive');
    if (partitions !== undefined && partitions < 1) throw new ToolError('The partitions must be greater than 0');
    // Omitted counts go as -1, the broker's defaults, as Kafka's tool sends them.
    const created = await admin.createTopics([{ topic: name, numPartitions: partitions ?? -1, replicationFactor: rf ?? -1, configs }], { ifNotExists: opts.has('if-not-exists') });
    if (created.length > 0) console.log(`Created topic ${name}.`);
  },

  async list(admin, opts) {
    console.log((await matchingTopics(admin, opts)).join('\n'));
  },

  async alter(admin, opts) {
    const count = intOption(opts, 'partitions')!;
    const topics = await matchingTopics(admin, opts);
    ensureTopicExists(topics, opts);
    for (const topic of topics) await admin.createPartitions(topic, count);
  },

  async describe(admin, opts) {
    let names = await matchingTopics(admin, opts);
    const topicId = opts.value('topic-id');
    let described: TopicDescription[];
    if (topicId !== undefined) {
      const all = await admin.describeTopics(names);
      described = all.filter((t) => kafkaTopicId(t.topicId) === topicId);
      if (described.length === 0 && !opts.has('if-exists')) throw new ToolError(`TopicId '${topicId}' does not exist as expected`);
    } else {
      ensureTopicExists(names, opts);
      described = names.length > 0 ? await admin.describeTopics(names) : [];
    }
    const live = opts.has('unavailable-partitions') ? new Set((await admin.describeCluster()).brokers.map((b) => b.nodeId)) : new Set<number>();
    for (const t of described) for (const line of describeLines(t, opts, live)) console.log(line);
  },

  async delete(admin, opts) {
    const named = opts.value('topic')!;
    if (INTERNAL_TOPICS.has(named)) throw new ToolError(`Topic '${named}' is an internal topic and cannot be deleted`);
    const topics = (await matchingTopics(admin, opts)).filter((t) => !INTERNAL_TOPICS.has(t));
    ensureTopicExists(topics, opts);
    if (topics.length > 0) await admin.deleteTopics(topics);
  },
};

/** Kafka's getTopics: every topic (internal ones unless --exclude-internal) matching the --topic pattern. */
async function matchingTopics(admin: Admin, opts: ParsedOptions): Promise<string[]> {
  const excludeInternal = opts.has('exclude-internal');
  const all = await admin.listTopics({ includeInternal: !excludeInternal });
  const raw = opts.value('topic');
  if (raw === undefined) return all;
  const pattern = includeList(raw);
  return all.filter((t) => pattern.test(t));
}

/** Kafka's IncludeList: commas mean "or", spaces and surrounding quotes are dropped, the whole name must match. */
export function includeList(raw: string): RegExp {
  const regex = raw.trim().replaceAll(',', '|').replaceAll(' ', '').replace(/^["']+/, '').replace(/["']+$/, '');
  try {
    return new RegExp(`^(?:${regex})$`);
  } catch {
    throw new ToolError(`${regex} is an invalid regex.`);
  }
}

function ensureTopicExists(found: string[], opts: ParsedOptions): void {
  const requested = opts.value('topic');
  if (requested && !opts.has('if-exists') && found.length === 0) throw new ToolError(`Topic '${requested}' does not exist as expected`);
}

/** Kafka prints topic ids as base64url without padding (Uuid.toString); the all-zero id is left out. */
export function kafkaTopicId(hex: string): string | null {
  if (!/^[0-9a-f]{32}$/i.test(hex) || /^0+$/.test(hex)) return null;
  return Buffer.from(hex, 'hex').toString('base64url');
}

function describeLines(t: TopicDescription, opts: ParsedOptions, live: Set<number>): string[] {
  const configs = Object.entries(t.configs ?? {}).filter(([, c]) => !c.isDefault);
  const reports = REPORTS.filter((r) => opts.has(r));
  const lines: string[] = [];
  if (t.partitions.length === 0) return lines;
  if (reports.length === 0 && (!opts.has('topics-with-overrides') || configs.length > 0)) {
    const id = kafkaTopicId(t.topicId);
    lines.push(`Topic: ${t.name}${id ? `\tTopicId: ${id}` : ''}\tPartitionCount: ${t.partitions.length}\tReplicationFactor: ${t.partitions[0]!.replicas.length}\tConfigs: ${configs.map(([k, c]) => `${k}=${c.value}`).join(',')}`);
  }
  if (opts.has('topics-with-overrides')) return lines;
  const minIsr = Number(t.configs?.['min.insync.replicas']?.value ?? 1);
  for (const p of t.partitions) {
    const hasLeader = p.leader >= 0;
    const show =
      reports.length === 0 ||
      (opts.has('under-replicated-partitions') && p.replicas.length > p.isr.length) ||
      (opts.has('unavailable-partitions') && (!hasLeader || !live.has(p.leader))) ||
      (opts.has('under-min-isr-partitions') && (!hasLeader || p.isr.length < minIsr)) ||
      (opts.has('at-min-isr-partitions') && p.isr.length === minIsr);
    if (!show) continue;
    // Kafka 3.9 asks DescribeTopicPartitions for the eligible leader replicas; through Metadata, as here, they are N/A.
    lines.push(`\tTopic: ${t.name}\tPartition: ${p.partition}\tLeader: ${hasLeader ? p.leader : 'none'}\tReplicas: ${p.replicas.join(',')}\tIsr: ${p.isr.join(',')}\tElr: N/A\tLastKnownElr: N/A`);
  }
  return lines;
}
