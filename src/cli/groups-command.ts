// `kastor groups list|describe GROUP|reset-offsets GROUP|delete GROUP`: what kafka-consumer-groups.sh does.
// `list` asks every broker for the groups it coordinates (ListGroups) and merges them; `describe` finds the
// group's coordinator (FindCoordinator), shows its state and members with their assignments (DescribeGroups,
// the consumer protocol's assignment decoded), its committed offsets (OffsetFetch) and the lag against each
// partition's log end (ListOffsets latest at the partition leader). Speaks the protocol through
// BrokerConnection. `reset-offsets` plans and writes new committed offsets with kafka-consumer-groups.sh's
// --reset-offsets logic (kafka-tools/consumer-groups-reset.ts: only for a group without active members, offsets
// clamped to the log), writing unless --dry-run; `delete` removes an empty group and its offsets (DeleteGroups).
import { BrokerConnection } from '../client/broker-connection.ts';
import { Kafka } from '../client/index.ts';
import { ApiKey } from '../protocol/generated/api-keys.ts';
import { ERRORS } from '../protocol/generated/errors.ts';
import { decodeAssignment } from '../group/consumer-protocol.ts';
import { UsageError, helpText, parseFlags, type FlagSpecs } from './args.ts';
import { commitGroupOffsets, parseDateTime, planGroupReset, type ResetSpec } from './kafka-tools/consumer-groups-reset.ts';
import { deleteGroupAt, groupsView } from './kafka-tools/groups-cluster.ts';
import { stringifyJson } from './topic-command.ts';

const FLAGS = {
  bootstrap: { type: 'string', description: 'a broker to connect to', default: '127.0.0.1:9092', value: 'HOST:PORT' },
  'bootstrap-server': { type: 'string', description: 'the same as --bootstrap (Kafka\'s name)', value: 'HOST:PORT' },
  json: { type: 'boolean', description: 'print JSON instead of text' },
  topic: { type: 'string', description: 'reset-offsets: the topic (T: every partition, T:0,2: those)', value: 'T' },
  'to-earliest': { type: 'boolean', description: 'reset-offsets: to each partition\'s log start' },
  'to-latest': { type: 'boolean', description: 'reset-offsets: to each partition\'s log end (high watermark)' },
  'to-datetime': { type: 'string', description: 'reset-offsets: to the first offset at or after this time', value: 'YYYY-MM-DDTHH:mm:SS[.sss][Z|+hh:mm]' },
  'shift-by': { type: 'string', description: 'reset-offsets: move the committed offsets by N (negative: back)', value: 'N' },
  'to-offset': { type: 'string', description: 'reset-offsets: to this offset (clamped to the log)', value: 'N' },
  'dry-run': { type: 'boolean', description: 'reset-offsets: print the new offsets without writing them' },
} satisfies FlagSpecs;

const SUMMARY = 'list consumer groups, describe one (members, assignment, committed offsets, lag), reset its offsets, delete it';

const SCENARIOS = ['to-earliest', 'to-latest', 'to-datetime', 'shift-by', 'to-offset'] as const;

export function groupsHelp(): string {
  return [
    helpText('groups', SUMMARY, FLAGS),
    '',
    'Subcommands:',
    '  list',
    '  describe GROUP',
    '  reset-offsets GROUP --topic T (--to-earliest|--to-latest|--to-datetime ISO|--shift-by N|--to-offset N) [--dry-run]',
    '  delete GROUP   an empty group, with its committed offsets',
  ].join('\n');
}

export interface GroupListing {
  groupId: string;
  protocolType: string;
  state: string;
  coordinator: number;
}

export interface PartitionOffsets {
  topic: string;
  partition: number;
  committed: number | null;
  logEnd: number | null;
  lag: number | null;
  metadata: string | null;
  owner: string | null;
}

export interface GroupDescription {
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  coordinator: number;
  members: Array<{ memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; assignment: Array<{ topic: string; partitions: number[] }> }>;
  offsets: PartitionOffsets[];
}

function parseHostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  const port = Number(s.slice(i + 1));
  if (i < 0 || !Number.isInteger(port)) throw new UsageError(`--bootstrap must be HOST:PORT, got "${s}"`);
  return { host: s.slice(0, i), port };
}

const errorName = (code: number) => ERRORS[code]?.name ?? `error ${code}`;

class Cluster {
  private readonly conns = new Map<number, Promise<BrokerConnection>>();
  brokers = new Map<number, { host: string; port: number }>();
  leaders = new Map<string, number>();

  constructor(private readonly bootstrap: BrokerConnection) {}

  async refresh(): Promise<void> {
    const md = await this.bootstrap.request(ApiKey.Metadata, 4, { topics: null, allowAutoTopicCreation: false });
    this.brokers = new Map(md.brokers.map((b) => [b.nodeId, { host: b.host, port: b.port }]));
    for (const t of md.topics) for (const p of t.partitions) this.leaders.set(`${t.name}\u0000${p.partitionIndex}`, p.leaderId);
  }

  conn(id: number): Promise<BrokerConnection> {
    let c = this.conns.get(id);
    if (!c) {
      const b = this.brokers.get(id);
      if (!b) return Promise.reject(new Error(`broker ${id} is not in the cluster metadata`));
      c = BrokerConnection.connect({ host: b.host, port: b.port, clientId: 'kastor-groups' });
      this.conns.set(id, c);
    }
    return c;
  }

  async close(): Promise<void> {
    for (const c of this.conns.values()) (await c.catch(() => null))?.close();
    this.bootstrap.close();
  }
}

export async function listGroupsOf(cluster: Cluster): Promise<GroupListing[]> {
  const out: GroupListing[] = [];
  for (const id of cluster.brokers.keys()) {
    const res = await (await cluster.conn(id)).request(ApiKey.ListGroups, 4, { statesFilter: [] });
    if (res.errorCode !== 0) throw new Error(`ListGroups at broker ${id} failed: ${errorName(res.errorCode)}`);
    for (const g of res.groups) out.push({ groupId: g.groupId, protocolType: g.protocolType, state: g.groupState ?? '', coordinator: id });
  }
  return out.sort((a, b) => a.groupId.localeCompare(b.groupId));
}

export async function describeGroupOf(cluster: Cluster, groupId: string): Promise<GroupDescription> {
  const bootstrap = await cluster.conn([...cluster.brokers.keys()][0]);
  const found = await bootstrap.request(ApiKey.FindCoordinator, 3, { key: groupId, keyType: 0 });
  if (found.errorCode) throw new Error(`FindCoordinator for "${groupId}" failed: ${errorName(found.errorCode!)}`);
  const coordinator = await cluster.conn(found.nodeId!);
  const described = (await coordinator.request(ApiKey.DescribeGroups, 5, { groups: [groupId], includeAuthorizedOperations: false })).groups[0];
  if (described.errorCode) throw new Error(`DescribeGroups for "${groupId}" failed: ${errorName(described.errorCode)}`);
  const fetched = await coordinator.request(ApiKey.OffsetFetch, 7, { groupId, topics: null, requireStable: false });
  if (fetched.errorCode) throw new Error(`OffsetFetch for "${groupId}" failed: ${errorName(fetched.errorCode!)}`);

  const members = described.members.map((m) => ({
    memberId: m.memberId,
    groupInstanceId: m.groupInstanceId ?? null,
    clientId: m.clientId,
    clientHost: m.clientHost,
    assignment: described.protocolType === 'consumer' ? (decodeAssignment(m.memberAssignment)?.partitions ?? []) : [],
  }));
  const owners = new Map<string, string>();
  for (const m of members) for (const a of m.assignment) for (const p of a.partitions) owners.set(`${a.topic}\u0000${p}`, m.memberId);
  const committed = new Map<string, { offset: number; metadata: string | null }>();
  for (const t of fetched.topics ?? []) for (const p of t.partitions) if (p.committedOffset >= 0n) committed.set(`${t.name}\u0000${p.partitionIndex}`, { offset: Number(p.committedOffset), metadata: p.metadata });

  const keys = [...new Set([...committed.keys(), ...owners.keys()])].sort();
  const logEnds = await logEndOffsets(cluster, keys);
  const offsets: PartitionOffsets[] = keys.map((k) => {
    const [topic, partition] = k.split('\u0000');
    const c = committed.get(k);
    const end = logEnds.get(k) ?? null;
    return { topic, partition: Number(partition), committed: c?.offset ?? null, logEnd: end, lag: c && end !== null ? Math.max(0, end - c.offset) : null, metadata: c?.metadata ?? null, owner: owners.get(k) ?? null };
  });
  return { groupId, state: described.groupState, protocolType: described.protocolType, protocol: described.protocolData, coordinator: found.nodeId!, members, offsets };
}

/** ListOffsets latest (the high watermark) at each partition's leader. */
async function logEndOffsets(cluster: Cluster, keys: string[]): Promise<Map<string, number>> {
  const byLeader = new Map<number, Map<string, number[]>>();
  for (const k of keys) {
    const leader = cluster.leaders.get(k);
    if (leader === undefined || leader < 0) continue;
    const [topic, partition] = k.split('\u0000');
    const topics = byLeader.get(leader) ?? new Map<string, number[]>();
    byLeader.set(leader, topics);
    topics.set(topic, [...(topics.get(topic) ?? []), Number(partition)]);
  }
  const out = new Map<string, number>();
  for (const [leader, topics] of byLeader) {
    const res = await (await cluster.conn(leader)).request(ApiKey.ListOffsets, 2, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [...topics].map(([name, ps]) => ({ name, partitions: ps.map((p) => ({ partitionIndex: p, timestamp: -1n })) })),
    });
    for (const t of res.topics) for (const p of t.partitions) if (p.errorCode === 0) out.set(`${t.name}\u0000${p.partitionIndex}`, Number(p.offset));
  }
  return out;
}

function printListing(groups: GroupListing[]): void {
  if (groups.length === 0) return void console.log('(no groups)');
  const w = Math.max(5, ...groups.map((g) => g.groupId.length));
  console.log(`${'GROUP'.padEnd(w)}  ${'STATE'.padEnd(19)}  ${'PROTOCOL TYPE'.padEnd(13)}  COORDINATOR`);
  for (const g of groups) console.log(`${g.groupId.padEnd(w)}  ${g.state.padEnd(19)}  ${g.protocolType.padEnd(13)}  ${g.coordinator}`);
}

function printDescription(d: GroupDescription): void {
  console.log(`group ${d.groupId}: ${d.state}, protocol ${d.protocolType || '-'}/${d.protocol || '-'}, coordinator broker ${d.coordinator}, ${d.members.length} member(s)`);
  for (const m of d.members) {
    const assigned = m.assignment.map((a) => `${a.topic}[${a.partitions.join(',')}]`).join(' ') || '-';
    console.log(`  member ${m.memberId}${m.groupInstanceId ? ` (instance ${m.groupInstanceId})` : ''} client ${m.clientId} ${m.clientHost}: ${assigned}`);
  }
  if (d.offsets.length === 0) return;
  const w = Math.max(5, ...d.offsets.map((o) => o.topic.length));
  console.log(`${'TOPIC'.padEnd(w)}  PARTITION  COMMITTED  LOG-END  LAG     OWNER`);
  const show = (n: number | null) => (n === null ? '-' : String(n));
  for (const o of d.offsets) {
    console.log(`${o.topic.padEnd(w)}  ${String(o.partition).padEnd(9)}  ${show(o.committed).padEnd(9)}  ${show(o.logEnd).padEnd(7)}  ${show(o.lag).padEnd(6)}  ${o.owner ?? '-'}`);
  }
}

export async function groupsCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(groupsHelp());
    return 0;
  }
  const f = parseFlags('groups', FLAGS, argv);
  const [sub, group] = f._;
  if (sub !== 'list' && sub !== 'describe' && sub !== 'reset-offsets' && sub !== 'delete') {
    throw new UsageError(`groups needs a subcommand: list, describe GROUP, reset-offsets GROUP or delete GROUP (see: kastor groups --help)`);
  }
  if (sub !== 'list' && !group) throw new UsageError(`groups ${sub} needs a GROUP`);
  const bootstrap = f['bootstrap-server'] ?? f.bootstrap;
  if (sub === 'reset-offsets') return resetGroupOffsets(bootstrap, group!, f);
  if (sub === 'delete') return deleteGroup(bootstrap, group!, f.json);
  const { host, port } = parseHostPort(bootstrap);
  const cluster = new Cluster(await BrokerConnection.connect({ host, port, clientId: 'kastor-groups' }));
  try {
    await cluster.refresh();
    if (sub === 'list') {
      const groups = await listGroupsOf(cluster);
      if (f.json) console.log(JSON.stringify(groups));
      else printListing(groups);
    } else {
      const d = await describeGroupOf(cluster, group);
      if (f.json) console.log(JSON.stringify(d));
      else printDescription(d);
    }
    return 0;
  } finally {
    await cluster.close();
  }
}

type GroupsFlags = ReturnType<typeof parseFlags<typeof FLAGS>>;

function adminAt(bootstrap: string) {
  parseHostPort(bootstrap);
  return new Kafka({ bootstrap: [bootstrap], clientId: 'kastor-groups', retry: { retries: 3, maxBackoffMs: 1000 } }).admin();
}

async function resetGroupOffsets(bootstrap: string, group: string, f: GroupsFlags): Promise<number> {
  const chosen = SCENARIOS.filter((s) => f[s] !== undefined && f[s] !== false);
  if (chosen.length !== 1) throw new UsageError('groups reset-offsets needs exactly one of --to-earliest, --to-latest, --to-datetime ISO, --shift-by N, --to-offset N');
  if (!f.topic) throw new UsageError('groups reset-offsets needs --topic T');
  const scenario = chosen[0]!;
  const spec: ResetSpec = { scenario, topics: [f.topic], notice: (line) => console.error(line) };
  if (scenario === 'to-datetime') {
    try {
      spec.when = parseDateTime(f['to-datetime']);
    } catch (err) {
      throw new UsageError(`--to-datetime: ${(err as Error).message}`);
    }
  }
  if (scenario === 'shift-by' || scenario === 'to-offset') {
    const raw = f[scenario];
    if (!/^[-+]?\d+$/.test(raw)) throw new UsageError(`--${scenario} must be a whole number, got "${raw}"`);
    spec.number = Number(raw);
  }
  const admin = adminAt(bootstrap);
  try {
    const view = groupsView(admin.cluster);
    await view.refresh();
    const planned = await planGroupReset(admin, view, group, spec);
    if ('error' in planned) {
      console.error(planned.error);
      return 1;
    }
    if (!f['dry-run'] && planned.offsets.length > 0) await commitGroupOffsets(admin, group, planned.offsets);
    if (f.json) {
      console.log(stringifyJson({ group, dryRun: f['dry-run'] ?? false, offsets: planned.offsets }));
      return 0;
    }
    const w = Math.max(5, ...planned.offsets.map((o) => o.topic.length));
    console.log(`${'TOPIC'.padEnd(w)}  PARTITION  NEW-OFFSET`);
    for (const o of planned.offsets) console.log(`${o.topic.padEnd(w)}  ${String(o.partition).padEnd(9)}  ${o.offset}`);
    console.log(f['dry-run'] ? '(dry run: nothing written)' : `reset ${planned.offsets.length} partition(s) of group ${group}`);
    return 0;
  } finally {
    await admin.close();
  }
}

async function deleteGroup(bootstrap: string, group: string, json: boolean): Promise<number> {
  const admin = adminAt(bootstrap);
  try {
    const code = await deleteGroupAt(admin.cluster, group);
    if (code !== 0) {
      console.error(`cannot delete group ${group}: ${errorName(code)}${ERRORS[code]?.message ? ` (${ERRORS[code]!.message})` : ''}`);
      return 1;
    }
    console.log(json ? stringifyJson({ deleted: group }) : `deleted group ${group}`);
    return 0;
  } finally {
    await admin.close();
  }
}
