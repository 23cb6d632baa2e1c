// kafka-consumer-groups.sh over Kastor, following Kafka 3.9's ConsumerGroupCommand: --list (with --state),
// --describe --group G (offsets by default: GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG
// CONSUMER-ID HOST CLIENT-ID; or --members, or --state), --delete --group G, and --reset-offsets
// (consumer-groups-reset.ts). What the groups are is read by `kastor groups`' own functions (listGroupsOf,
// describeGroupOf); this file only translates options and prints Kafka's tables.
//
// Unlike Kafka's tool, which exits 0 after printing "Error: ...", a group that does not exist or could not be
// deleted exits 1 here, so a script can tell. Refused with one line: --delete-offsets, --describe --verbose,
// --from-file and --export.
import { Kafka } from '../../client/index.ts';
import type { Admin } from '../../client/admin.ts';
import { ERRORS } from '../../protocol/generated/errors.ts';
import { describeGroupOf, listGroupsOf, type GroupDescription } from '../groups-command.ts';
import { helpOrVersion, ToolError, checkCommon, connectionOptions, kafkaMessage, onlyWith, oneAction, parseOptions, type OptionSpecs, type ParsedOptions } from './options.ts';
import { RESET_OPTIONS, resetOffsets } from './consumer-groups-reset.ts';
import { deleteGroupAt, groupsView, type GroupsCluster } from './groups-cluster.ts';

const ACTIONS = ['list', 'describe', 'delete', 'reset-offsets', 'delete-offsets'];
const STATES = ['PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead', 'Empty'];

const SPECS: OptionSpecs = {
  list: { description: 'list all consumer groups' },
  describe: { description: 'describe consumer groups: offsets and lag (default), --members or --state' },
  delete: { description: 'delete empty consumer groups (their committed offsets go with them)' },
  'reset-offsets': { description: 'reset a group\'s offsets (dry run unless --execute)' },
  'delete-offsets': { description: 'refused: not supported by Kastor\'s tool yet' },
  group: { value: 'consumer group', repeats: true, description: 'the consumer group (repeatable)' },
  'all-groups': { description: 'every consumer group' },
  members: { description: 'with --describe: the members of the group' },
  offsets: { description: 'with --describe: offsets and lag per partition (the default)' },
  state: { value: 'state[,state]', optionalValue: true, description: 'with --describe: the group\'s state; with --list: show (or filter by) state' },
  verbose: { description: 'refused: not supported by Kastor\'s tool yet' },
  timeout: { value: 'ms', description: 'how long to wait for the cluster (default 5000)' },
  ...RESET_OPTIONS,
};

const ALLOWED_WITH: Record<string, string[]> = {
  group: ['describe', 'delete', 'reset-offsets', 'delete-offsets'],
  'all-groups': ['describe', 'delete', 'reset-offsets'],
  members: ['describe'],
  offsets: ['describe'],
  state: ['describe', 'list'],
  ...Object.fromEntries(Object.keys(RESET_OPTIONS).map((o) => [o, o === 'topic' ? ['reset-offsets', 'delete-offsets'] : ['reset-offsets']])),
};

export async function kafkaConsumerGroups(argv: string[]): Promise<number> {
  let admin: Admin | undefined;
  try {
    const opts = parseOptions(SPECS, argv);
    const early = helpOrVersion(argv, opts, 'kafka-consumer-groups.sh', 'list all consumer groups, describe a consumer group, delete consumer group info, or reset consumer group offsets.', SPECS);
    if (early !== null) return early;
    checkCommon(opts);
    const action = oneAction(opts, ACTIONS);
    if (!opts.has('bootstrap-server')) throw new ToolError('Missing required argument "[bootstrap-server]"');
    onlyWith(opts, action, ALLOWED_WITH);
    if (action === 'delete-offsets') throw new ToolError('--delete-offsets is not supported by Kastor\'s kafka-consumer-groups.sh yet');
    if (opts.has('verbose')) throw new ToolError('--verbose is not supported by Kastor\'s kafka-consumer-groups.sh yet');
    if (action !== 'list' && !opts.has('group') && !opts.has('all-groups')) throw new ToolError(`Option [${action}] takes one of these options: [all-groups], [group]`);
    const settings = connectionOptions(opts, 'kafka-consumer-groups');
    const timeout = opts.value('timeout');
    if (timeout !== undefined) {
      if (!/^\d+$/.test(timeout)) throw new ToolError(`Cannot parse argument '${timeout}' of option timeout`);
      settings.requestTimeoutMs = Number(timeout);
    }
    admin = new Kafka(settings).admin();
    const view = groupsView(admin.cluster);
    await view.refresh();
    const ok = await RUN[action]!(admin, view, opts);
    return ok ? 0 : 1;
  } catch (err) {
    console.error(err instanceof ToolError ? err.message : `\nError: Executing consumer group command failed due to ${kafkaMessage(err)}`);
    return 1;
  } finally {
    await admin?.close();
  }
}

async function groupIds(view: GroupsCluster, opts: ParsedOptions): Promise<string[]> {
  if (opts.has('all-groups')) return (await listGroupsOf(view)).filter(isConsumerGroup).map((g) => g.groupId);
  return opts.all('group');
}

/** Kafka's listConsumerGroups: the consumer protocol's groups and groups with no protocol (offsets only). */
const isConsumerGroup = (g: { protocolType: string }) => g.protocolType === 'consumer' || g.protocolType === '';

const RUN: Record<string, (admin: Admin, view: GroupsCluster, opts: ParsedOptions) => Promise<boolean>> = {
  async list(_admin, view, opts) {
    const groups = (await listGroupsOf(view)).filter(isConsumerGroup);
    if (!opts.has('state')) {
      for (const g of groups) console.log(g.groupId);
      return true;
    }
    const wanted = statesOf(opts.value('state')!);
    const shown = groups.filter((g) => wanted.length === 0 || wanted.includes(g.state));
    const width = Math.max(15, ...shown.map((g) => g.groupId.length)) + 10;
    console.log(`${'GROUP'.padEnd(width)} STATE`);
    for (const g of shown) console.log(`${g.groupId.padEnd(width)} ${g.state}`);
    return true;
  },

  async describe(_admin, view, opts) {
    let ok = true;
    for (const groupId of await groupIds(view, opts)) {
      const d = await describeGroupOf(view, groupId);
      if (d.state === 'Dead' || (d.state === '' && d.offsets.length === 0)) {
        console.error(`\nError: Consumer group '${groupId}' does not exist.`);
        ok = false;
        continue;
      }
      if (d.state === 'Empty') console.error(`\nConsumer group '${groupId}' has no active members.`);
      if (d.state === 'PreparingRebalance' || d.state === 'CompletingRebalance') console.error(`\nWarning: Consumer group '${groupId}' is rebalancing.`);
      if (opts.has('members')) printMembers(d);
      else if (opts.has('state') && !opts.has('offsets')) printState(d, view);
      else printOffsets(d);
    }
    return ok;
  },

  async delete(admin, view, opts) {
    const results = new Map<string, number>();
    for (const groupId of await groupIds(view, opts)) {
      results.set(groupId, await deleteGroupAt(admin.cluster, groupId));
    }
    const quoted = (ids: string[]) => ids.map((g) => `'${g}'`).join(', ');
    const deleted = [...results].filter(([, code]) => code === 0).map(([g]) => g);
    const failed = [...results].filter(([, code]) => code !== 0);
    if (failed.length === 0) {
      console.log(`Deletion of requested consumer groups (${quoted(deleted)}) was successful.`);
      return true;
    }
    console.error('\nError: Deletion of some consumer groups failed:');
    for (const [g, code] of failed) console.error(`* Group '${g}' could not be deleted due to: ${ERRORS[code]?.name ?? code}: ${ERRORS[code]?.message ?? ''}`);
    if (deleted.length > 0) console.log(`\nThese consumer groups were deleted successfully: ${quoted(deleted)}`);
    return false;
  },

  async 'reset-offsets'(admin, view, opts) {
    return resetOffsets(admin, view, opts, await groupIds(view, opts));
  },
};

function statesOf(raw: string): string[] {
  if (raw.trim() === '') return [];
  return raw.split(',').map((s) => {
    const state = STATES.find((x) => x.toLowerCase() === s.trim().toLowerCase());
    if (!state) throw new ToolError(`Invalid state list '${raw}'. Valid states are: ${STATES.join(', ')}`);
    return state;
  });
}

/** Kafka's `%-Ns` columns: each value padded to the column's width, one space between columns. */
function row(widths: number[], values: string[]): string {
  return values.map((v, i) => (i < widths.length ? v.padEnd(widths[i]!) : v)).join(' ');
}

function printOffsets(d: GroupDescription): void {
  const members = new Map(d.members.map((m) => [m.memberId, m]));
  const rows = d.offsets.map((o) => {
    const m = o.owner ? members.get(o.owner) : undefined;
    const show = (n: number | null) => (n === null ? '-' : String(n));
    return [d.groupId, o.topic, String(o.partition), show(o.committed), show(o.logEnd), show(o.lag), m?.memberId ?? '-', m?.clientHost ?? '-', m?.clientId ?? '-'];
  });
  if (rows.length === 0) return;
  const width = (col: number) => Math.max(15, ...rows.map((r) => r[col]!.length));
  const widths = [width(0), width(1), 10, 15, 15, 15, width(6), width(7)];
  console.log('\n' + row(widths, ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID']));
  for (const r of rows) console.log(row(widths, r));
}

function printMembers(d: GroupDescription): void {
  const rows = d.members.map((m) => [d.groupId, m.memberId, m.clientHost, m.clientId, String(m.assignment.reduce((n, a) => n + a.partitions.length, 0))]);
  const width = (col: number) => Math.max(15, ...rows.map((r) => r[col]!.length));
  const widths = [width(0), width(1), width(2), width(3), 15];
  console.log('\n' + row(widths, ['GROUP', 'CONSUMER-ID', 'HOST', 'CLIENT-ID', '#PARTITIONS']));
  for (const r of rows) console.log(row(widths, r));
}

function printState(d: GroupDescription, view: GroupsCluster): void {
  const b = view.brokers.get(d.coordinator);
  const coordinator = `${b?.host ?? '?'}:${b?.port ?? '?'}  (${d.coordinator})`;
  const widths = [Math.max(15, d.groupId.length), Math.max(25, coordinator.length), 20, 20];
  console.log('\n' + row(widths, ['GROUP', 'COORDINATOR (ID)', 'ASSIGNMENT-STRATEGY', 'STATE', '#MEMBERS']));
  console.log(row(widths, [d.groupId, coordinator, d.protocol || '-', d.state, String(d.members.length)]));
}
