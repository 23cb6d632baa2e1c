// kafka-consumer-groups.sh --reset-offsets, as Kafka 3.9's GroupOffsetsResetter does it: only for a group
// with no active members (Empty, or one that does not exist yet); the partitions are --topic T (every
// partition) or T:0,2, or --all-topics (every partition the group has committed); the new offsets come from
// one scenario, clamped to what the log holds; nothing is written unless --execute (a dry run prints the plan,
// as --dry-run does). Writing is a plain OffsetCommit with generation -1 and no member id, which Kafka's
// coordinator — and Kastor's — accept for a group without members.
//
// Scenarios: --to-earliest, --to-latest, --to-current, --to-offset N, --shift-by N, --to-datetime,
// --by-duration. Refused with one line: --from-file and --export. `kastor groups reset-offsets` plans and
// writes with the same functions (planGroupReset, commitGroupOffsets).
import type { Admin } from '../../client/admin.ts';
import { KafkaProtocolError } from '../../client/errors.ts';
import { ApiKey } from '../../protocol/generated/api-keys.ts';
import { describeGroupOf } from '../groups-command.ts';
import { ToolError, type OptionSpecs, type ParsedOptions } from './options.ts';
import { coordinatorOf, type GroupsCluster } from './groups-cluster.ts';

const SCENARIOS = ['to-datetime', 'by-duration', 'to-earliest', 'to-latest', 'shift-by', 'from-file', 'to-current', 'to-offset'];

export const RESET_OPTIONS: OptionSpecs = {
  topic: { value: 'topic[:partition,...]', repeats: true, description: 'with --reset-offsets: the partitions to reset (repeatable)' },
  'all-topics': { description: 'with --reset-offsets: every partition the group has committed' },
  'to-earliest': { description: 'reset to the earliest offset' },
  'to-latest': { description: 'reset to the log end offset' },
  'to-current': { description: 'reset to the committed offset (the log end where none)' },
  'to-offset': { value: 'offset', description: 'reset to this offset (clamped to the log)' },
  'shift-by': { value: 'n', description: 'move the committed offset by n (negative: back)' },
  'to-datetime': { value: 'YYYY-MM-DDTHH:mm:SS.sss', description: 'reset to the first offset at or after this time' },
  'by-duration': { value: 'PnDTnHnMnS', description: 'reset to the first offset at or after now minus this duration' },
  'from-file': { value: 'csv', description: 'refused: not supported by Kastor\'s tool yet' },
  'dry-run': { description: 'print the new offsets without writing them (the default)' },
  execute: { description: 'write the new offsets' },
  export: { description: 'refused: not supported by Kastor\'s tool yet' },
};

interface Target {
  topic: string;
  partition: number;
}

/** What to reset a group to: one scenario, the partitions (`T` or `T:0,2` specs, or 'all' committed ones). */
export interface ResetSpec {
  scenario: 'to-earliest' | 'to-latest' | 'to-current' | 'to-offset' | 'shift-by' | 'to-datetime' | 'by-duration';
  topics: string[] | 'all';
  /** to-datetime / by-duration: the time in ms. */
  when?: number;
  /** to-offset / shift-by. */
  number?: number;
  /** Where the notices of clamped offsets go (Kafka prints them on stdout). */
  notice?: (line: string) => void;
}

/**
 * The new offsets of one group's partitions, or why it cannot be reset: only a group without active members
 * (Empty, or one that does not exist: Dead) can, as Kafka's GroupOffsetsResetter requires.
 */
export async function planGroupReset(admin: Admin, view: GroupsCluster, group: string, spec: ResetSpec): Promise<{ error: string } | { offsets: Array<Target & { offset: bigint }> }> {
  const d = await describeGroupOf(view, group);
  if (d.state !== 'Empty' && d.state !== 'Dead') return { error: `Assignments can only be reset if the group '${group}' is inactive, but the current state is ${d.state}.` };
  const committed = new Map(d.offsets.filter((o) => o.committed !== null).map((o) => [`${o.topic}:${o.partition}`, BigInt(o.committed!)]));
  const targets = spec.topics === 'all' ? d.offsets.filter((o) => o.committed !== null).map(({ topic, partition }) => ({ topic, partition })) : await topicTargets(admin, spec.topics);
  return { offsets: await newOffsets(admin, spec.scenario, targets, committed, spec) };
}

export async function resetOffsets(admin: Admin, view: GroupsCluster, opts: ParsedOptions, groups: string[]): Promise<boolean> {
  const scenarios = SCENARIOS.filter((s) => opts.has(s));
  if (scenarios.length !== 1) throw new ToolError(`Option [reset-offsets] takes exactly one of these options: ${SCENARIOS.map((s) => `[${s}]`).join(', ')}`);
  const scenario = scenarios[0]!;
  if (scenario === 'from-file' || opts.has('export')) throw new ToolError(`--${scenario === 'from-file' ? 'from-file' : 'export'} is not supported by Kastor's kafka-consumer-groups.sh yet`);
  if (opts.has('topic') === opts.has('all-topics')) throw new ToolError('One of the reset scopes should be defined: --all-topics, --topic.');
  if (opts.has('dry-run') && opts.has('execute')) throw new ToolError('Option "[dry-run]" can\'t be used with option "[execute]"');
  const execute = opts.has('execute');
  if (!execute && !opts.has('dry-run')) {
    console.error('WARN: No action will be performed as the --execute option is missing. In a future major release, the default behavior of this command will be to prompt the user before executing the reset rather than doing a dry run. You should add the --dry-run option explicitly if you are scripting this command and want to keep the current default behavior without prompting.');
  }
  const when = scenario === 'to-datetime' ? parseDateTime(opts.value('to-datetime')!) : scenario === 'by-duration' ? Date.now() - parseDuration(opts.value('by-duration')!) : undefined;
  const number = scenario === 'to-offset' || scenario === 'shift-by' ? wholeNumber(opts.value(scenario)!, scenario) : undefined;

  let ok = true;
  const plan: Array<{ group: string; topic: string; partition: number; offset: bigint }> = [];
  const spec: ResetSpec = { scenario: scenario as ResetSpec['scenario'], topics: opts.has('all-topics') ? 'all' : opts.all('topic'), when, number };
  for (const group of groups) {
    const planned = await planGroupReset(admin, view, group, spec);
    if ('error' in planned) {
      console.error(`\nError: ${planned.error}`);
      ok = false;
      continue;
    }
    const { offsets } = planned;
    if (execute && offsets.length > 0) await commitGroupOffsets(admin, group, offsets);
    plan.push(...offsets.map((o) => ({ group, ...o })));
  }
  if (plan.length > 0) {
    const line = (g: string, t: string, p: string, o: string) => `${g.padEnd(30)} ${t.padEnd(30)} ${p.padEnd(10)} ${o.padEnd(15)}`;
    console.log('\n' + line('GROUP', 'TOPIC', 'PARTITION', 'NEW-OFFSET'));
    for (const r of plan) console.log(line(r.group, r.topic, String(r.partition), String(r.offset)));
  }
  return ok;
}

/** `T` is every partition of T, `T:0,2` those two; partitions that do not exist are an error. */
async function topicTargets(admin: Admin, specs: string[]): Promise<Target[]> {
  const out: Target[] = [];
  for (const spec of specs) {
    const colon = spec.lastIndexOf(':');
    const topic = colon < 0 ? spec : spec.slice(0, colon);
    const meta = await admin.cluster.topic(topic, { refresh: true }).catch((err) => {
      if (err instanceof KafkaProtocolError && err.code === 3) throw new ToolError(`Topic '${topic}' does not exist`);
      throw err;
    });
    const all = meta.partitions.map((p) => p.partition);
    const wanted = colon < 0 ? all : spec.slice(colon + 1).split(',').map((p) => wholeNumber(p.trim(), 'topic'));
    const missing = wanted.filter((p) => !all.includes(p));
    if (missing.length > 0) throw new ToolError(`The partitions "${missing.map((p) => `${topic}-${p}`).join(',')}" do not exist`);
    out.push(...wanted.map((partition) => ({ topic, partition })));
  }
  return out;
}

async function newOffsets(admin: Admin, scenario: string, targets: Target[], committed: Map<string, bigint>, args: Pick<ResetSpec, 'when' | 'number' | 'notice'>): Promise<Array<Target & { offset: bigint }>> {
  const notice = args.notice ?? ((line: string) => console.log(line));
  const topics = [...new Set(targets.map((t) => t.topic))];
  const bounds = new Map<string, { earliest: bigint; latest: bigint }>();
  const byTime = new Map<string, bigint>();
  for (const topic of topics) {
    for (const o of await admin.fetchOffsets(topic)) bounds.set(`${topic}:${o.partition}`, o);
    if (args.when !== undefined) for (const o of await admin.offsetsForTimes(topic, args.when)) byTime.set(`${topic}:${o.partition}`, o.offset);
  }
  return targets.map((t) => {
    const key = `${t.topic}:${t.partition}`;
    const { earliest, latest } = bounds.get(key)!;
    const current = committed.get(key);
    let offset: bigint;
    switch (scenario) {
      case 'to-earliest':
        offset = earliest;
        break;
      case 'to-latest':
        offset = latest;
        break;
      case 'to-current':
        offset = current ?? latest;
        break;
      case 'to-datetime':
      case 'by-duration': {
        // No record at or after the time: the log end, as Kafka does.
        const found = byTime.get(key) ?? -1n;
        offset = found < 0n ? latest : found;
        break;
      }
      case 'to-offset':
        offset = clamp(BigInt(args.number!), earliest, latest, key, notice);
        break;
      default: // shift-by
        if (current === undefined) throw new ToolError(`Cannot shift offset for partition ${t.topic}-${t.partition} since there is no current committed offset`);
        offset = clamp(current + BigInt(args.number!), earliest, latest, key, notice);
    }
    return { ...t, offset };
  });
}

function clamp(offset: bigint, earliest: bigint, latest: bigint, key: string, notice: (line: string) => void): bigint {
  const tp = key.replace(/:(\d+)$/, '-$1');
  if (offset > latest) {
    notice(`New offset (${offset}) is higher than latest offset for topic partition ${tp}. Value will be set to ${latest}`);
    return latest;
  }
  if (offset < earliest) {
    notice(`New offset (${offset}) is lower than earliest offset for topic partition ${tp}. Value will be set to ${earliest}`);
    return earliest;
  }
  return offset;
}

/** Writes a group's offsets: an OffsetCommit with generation -1 and no member id, at the group's coordinator. */
export async function commitGroupOffsets(admin: Admin, group: string, offsets: Array<Target & { offset: bigint }>): Promise<void> {
  const byTopic = new Map<string, Array<Target & { offset: bigint }>>();
  for (const o of offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
  const coordinator = await coordinatorOf(admin.cluster, group);
  const res = await coordinator.conn.request(ApiKey.OffsetCommit, 8, {
    groupId: group,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [...byTopic].map(([name, ps]) => ({ name, partitions: ps.map((p) => ({ partitionIndex: p.partition, committedOffset: p.offset, committedLeaderEpoch: -1, committedMetadata: '' })) })),
  });
  for (const t of res.topics) for (const p of t.partitions) if (p.errorCode !== 0) throw new KafkaProtocolError(p.errorCode, { topic: t.name, partition: p.partitionIndex });
}

function wholeNumber(raw: string, option: string): number {
  if (!/^[-+]?\d+$/.test(raw.trim())) throw new ToolError(`Cannot parse argument '${raw}' of option ${option}`);
  return Number(raw);
}

/** Kafka's --to-datetime: YYYY-MM-DDTHH:mm:SS.sss, with an optional zone (Z, +hh:mm); none means local time. */
export function parseDateTime(raw: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{3})?(Z|[+-]\d{2}:?\d{2})?$/.exec(raw.trim());
  const ms = m ? Date.parse(`${m[1]}${m[2] ?? '.000'}${m[3] ? m[3].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2') : ''}`) : NaN;
  if (Number.isNaN(ms)) throw new ToolError(`Error parsing timestamp '${raw}': it must look like YYYY-MM-DDTHH:mm:SS.sss, optionally with a zone (Z or +hh:mm)`);
  return ms;
}

/** An ISO-8601 duration as java.time.Duration reads it (PnDTnHnMnS), in milliseconds. */
export function parseDuration(raw: string): number {
  const m = /^([-+]?)P(?:([-+]?\d+)D)?(?:T(?:([-+]?\d+)H)?(?:([-+]?\d+)M)?(?:([-+]?\d+(?:[.,]\d{1,9})?)S)?)?$/i.exec(raw.trim());
  if (!m || (!m[2] && !m[3] && !m[4] && !m[5]) || /T$/i.test(raw.trim())) throw new ToolError(`Error parsing duration '${raw}': it must look like PnDTnHnMnS (e.g. PT1H30M)`);
  const [d, h, min, s] = [m[2], m[3], m[4], m[5]].map((x) => Number((x ?? '0').replace(',', '.')));
  const ms = Math.round(((d! * 24 + h!) * 60 + min!) * 60_000 + s! * 1000);
  return Math.abs(m[1] === '-' ? -ms : ms);
}
