// `kastor cluster`: the cluster as an operator runs it.
// - status: the brokers, the controller, and the partitions that need an operator's eye — under-replicated
//   (ISR smaller than the replica set) and offline (no leader). Exit code 0 either way (the state is the
//   output), 1 when no broker answers.
// - elect-leaders: preferred (leadership back to each partition's first replica, e.g. after a failover) or
//   unclean leader elections (ElectLeaders), of one partition, one topic or all; exit 1 when one failed.
// - reassign: moves partitions to the replica sets of a plan in Kafka's reassignment JSON (what
//   kafka-reassign-partitions.sh --execute reads), then reports progress on stderr until every reassignment
//   is done (AlterPartitionReassignments, ListPartitionReassignments); --cancel reverts the plan's ongoing ones.
// - rebalance: proposes the reassignments that even out replicas and preferred leaders across the brokers
//   (after a broker was added), and unless --dry-run runs them and then a preferred leader election.
// Text by default, `--json` for scripts.
import { readFileSync } from 'node:fs';
import { Kafka } from '../client/index.ts';
import type { Admin, PartitionResult } from '../client/admin.ts';
import { ERRORS } from '../protocol/generated/errors.ts';
import { UsageError, helpText, parseFlags, type FlagSpecs } from './args.ts';
import { parseBootstrapFlag, stringifyJson } from './topic-command.ts';
import { parsePlan, proposeRebalance, type PlanEntry } from './reassignment-plan.ts';

const COMMON = {
  bootstrap: { type: 'string', description: 'brokers to connect to, comma-separated', default: '127.0.0.1:9092', value: 'HOST:PORT[,..]' },
  json: { type: 'boolean', description: 'print JSON instead of text' },
} satisfies FlagSpecs;

const WAIT = { 'timeout-ms': { type: 'number', description: 'give up waiting for the reassignments after this long', default: 600_000, value: 'MS' } } satisfies FlagSpecs;

const SUBCOMMANDS = {
  status: { summary: 'brokers, controller, under-replicated and offline partitions', flags: COMMON },
  'elect-leaders': {
    summary: 'elect leaders: preferred (the first replica) or unclean (any live replica of a leaderless partition)',
    flags: {
      ...COMMON,
      topic: { type: 'string', description: 'only this topic (default: every partition of the cluster)', value: 'TOPIC' },
      partition: { type: 'number', description: 'only this partition of --topic', value: 'N' },
      type: { type: 'string', description: 'preferred or unclean', default: 'preferred', value: 'TYPE' },
    },
  },
  reassign: {
    summary: 'move partitions to the replicas a plan names (Kafka reassignment JSON), waiting until done',
    flags: {
      ...COMMON,
      ...WAIT,
      plan: { type: 'string', description: 'the plan: {"version":1,"partitions":[{"topic":..,"partition":..,"replicas":[..]}]}', required: true, value: 'FILE' },
      cancel: { type: 'boolean', description: "cancel the plan's ongoing reassignments (back to the original replicas)" },
    },
  },
  rebalance: {
    summary: 'even out replicas and leaders across the brokers (after adding one)',
    flags: { ...COMMON, ...WAIT, 'dry-run': { type: 'boolean', description: 'print the proposed plan only' } },
  },
} satisfies Record<string, { summary: string; flags: FlagSpecs }>;

type Sub = keyof typeof SUBCOMMANDS;

interface PartitionIssue {
  topic: string;
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

const ELECTION_NOT_NEEDED = 84;
const POLL_MS = 500;

export async function clusterCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const names = Object.keys(SUBCOMMANDS);
  if (!sub || sub === '--help' || sub === '-h') {
    if (!sub) throw new UsageError(`"cluster" needs a subcommand (${names.join(', ')}; see: kastor cluster --help)`);
    const width = Math.max(...names.map((n) => n.length)) + 3;
    const subcommands = names.map((n) => `  ${n.padEnd(width)}${SUBCOMMANDS[n as Sub].summary}`);
    console.log([helpText('cluster <subcommand>', 'see and run the cluster', COMMON), '', 'Subcommands:', ...subcommands, '', 'kastor cluster <subcommand> --help lists its own options'].join('\n'));
    return 0;
  }
  if (sub.startsWith('--')) throw new UsageError(`"cluster" needs a subcommand (${names.join(', ')}; see: kastor cluster --help)`);
  if (!(sub in SUBCOMMANDS)) throw new UsageError(`unknown cluster subcommand "${sub}" (subcommands: ${names.join(', ')}; see: kastor cluster --help)`);
  const spec = SUBCOMMANDS[sub as Sub];
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(helpText(`cluster ${sub}`, spec.summary, spec.flags));
    return 0;
  }
  const f = parseFlags(`cluster ${sub}`, spec.flags as FlagSpecs, rest) as Record<string, unknown> & { _: string[]; bootstrap: string; json?: boolean };
  if (f._.length > 0) throw new UsageError(`unexpected argument "${f._[0]}" for "cluster ${sub}"`);
  const plan = sub === 'reassign' ? readPlan(f.plan as string) : null;
  if (sub === 'elect-leaders') checkElectFlags(f);

  const kafka = new Kafka({ bootstrap: parseBootstrapFlag(f.bootstrap), clientId: 'kastor-cli', retry: { retries: 3, maxBackoffMs: 1000 } });
  const admin = kafka.admin();
  try {
    switch (sub as Sub) {
      case 'status':
        return await status(admin, f.json === true);
      case 'elect-leaders':
        return await electLeaders(admin, f);
      case 'reassign':
        return await reassign(admin, plan!, f.cancel === true, f.json === true, f['timeout-ms'] as number);
      case 'rebalance':
        return await rebalance(admin, f['dry-run'] === true, f.json === true, f['timeout-ms'] as number);
    }
  } finally {
    await admin.close();
  }
}

async function status(admin: Admin, json: boolean): Promise<number> {
  const cluster = await admin.describeCluster();
  const topics = await admin.describeTopics(null, { configs: false });
  const underReplicated: PartitionIssue[] = [];
  const offline: PartitionIssue[] = [];
  let partitions = 0;
  for (const t of topics) {
    for (const p of t.partitions) {
      partitions++;
      const issue = { topic: t.name, partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr };
      if (p.leader < 0) offline.push(issue);
      if (p.isr.length < p.replicas.length) underReplicated.push(issue);
    }
  }
  const reassigning = await admin.listPartitionReassignments().catch(() => []);
  const status = {
    clusterId: cluster.clusterId,
    controllerId: cluster.controllerId,
    brokers: cluster.brokers,
    topics: topics.length,
    partitions,
    underReplicatedPartitions: underReplicated,
    offlinePartitions: offline,
    reassigningPartitions: reassigning,
  };
  if (json) {
    console.log(stringifyJson(status, 2));
    return 0;
  }
  const lines = [
    `Cluster: ${cluster.clusterId ?? '(unknown)'}`,
    `Controller: ${cluster.controllerId < 0 ? 'none' : cluster.controllerId}`,
    `Brokers: ${cluster.brokers.length}`,
    ...cluster.brokers.map((b) => `  ${b.nodeId}\t${b.host}:${b.port}${b.rack ? `\track ${b.rack}` : ''}${b.nodeId === cluster.controllerId ? '\t(controller)' : ''}`),
    `Topics: ${topics.length}, partitions: ${partitions}`,
    `Under-replicated partitions: ${underReplicated.length}`,
    ...underReplicated.map(issueLine),
    `Offline partitions: ${offline.length}`,
    ...offline.map(issueLine),
    ...(reassigning.length > 0 ? [`Reassigning partitions: ${reassigning.length}`, ...reassigning.map((r) => `  ${r.topic}-${r.partition}\treplicas ${r.replicas.join(',')}\tadding ${r.addingReplicas.join(',') || '-'}\tremoving ${r.removingReplicas.join(',') || '-'}`)] : []),
  ];
  console.log(lines.join('\n'));
  return 0;
}

function issueLine(p: PartitionIssue): string {
  return `  ${p.topic}-${p.partition}\tleader ${p.leader < 0 ? 'none' : p.leader}\treplicas ${p.replicas.join(',')}\tisr ${p.isr.join(',') || '-'}`;
}

function checkElectFlags(f: Record<string, unknown>): void {
  if (f.type !== 'preferred' && f.type !== 'unclean') throw new UsageError(`--type must be preferred or unclean, got "${String(f.type)}"`);
  if (f.partition !== undefined && f.topic === undefined) throw new UsageError('--partition needs --topic');
  if (f.partition !== undefined && (!Number.isSafeInteger(f.partition) || (f.partition as number) < 0)) throw new UsageError(`--partition must be a non-negative integer, got ${String(f.partition)}`);
}

async function electLeaders(admin: Admin, f: Record<string, unknown>): Promise<number> {
  const topic = f.topic as string | undefined;
  let partitions: Array<{ topic: string; partition: number }> | null = null;
  if (topic !== undefined && f.partition !== undefined) partitions = [{ topic, partition: f.partition as number }];
  else if (topic !== undefined) {
    const [t] = await admin.describeTopics([topic], { configs: false });
    partitions = t!.partitions.map((p) => ({ topic, partition: p.partition }));
  }
  const results = await admin.electLeaders({ type: f.type as 'preferred' | 'unclean', partitions });
  results.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  const failed = results.filter((r) => r.errorCode !== 0 && r.errorCode !== ELECTION_NOT_NEEDED);
  if (f.json) console.log(stringifyJson({ results: results.map((r) => ({ ...r, error: r.errorCode === 0 ? null : errorName(r.errorCode) })) }, 2));
  else if (results.length === 0) console.log('No partition needed an election.');
  else for (const r of results) console.log(`${r.topic}-${r.partition}\t${resultText(r)}`);
  return failed.length > 0 ? 1 : 0;
}

function readPlan(path: string): PlanEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --plan ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const plan = parsePlan(text, path);
  if (plan.length === 0) throw new UsageError(`${path} names no partition`);
  return plan;
}

async function reassign(admin: Admin, plan: PlanEntry[], cancel: boolean, json: boolean, timeoutMs: number): Promise<number> {
  const results = await admin.alterPartitionReassignments(plan.map((p) => ({ topic: p.topic, partition: p.partition, replicas: cancel ? null : p.replicas })));
  const failed = results.filter((r) => r.errorCode !== 0);
  for (const r of failed) console.error(`${r.topic}-${r.partition}\t${resultText(r)}`);
  const accepted = results.filter((r) => r.errorCode === 0).map((r) => ({ topic: r.topic, partition: r.partition }));
  const done = await waitForReassignments(admin, accepted, timeoutMs);
  const final = await layoutOf(admin, accepted);
  if (json) console.log(stringifyJson({ done, partitions: final, failed: failed.map((r) => ({ ...r, error: errorName(r.errorCode) })) }, 2));
  else for (const p of final) console.log(`${p.topic}-${p.partition}\treplicas ${p.replicas.join(',')}\tleader ${p.leader < 0 ? 'none' : p.leader}\tisr ${p.isr.join(',') || '-'}`);
  return failed.length > 0 || !done ? 1 : 0;
}

async function rebalance(admin: Admin, dryRun: boolean, json: boolean, timeoutMs: number): Promise<number> {
  const cluster = await admin.describeCluster();
  const topics = await admin.describeTopics(null, { configs: false });
  const layout = topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partition, replicas: p.replicas })));
  const plan = { version: 1, partitions: proposeRebalance(cluster.brokers.map((b) => b.nodeId), layout) };
  if (dryRun || plan.partitions.length === 0) {
    if (json) console.log(stringifyJson(plan, 2));
    else if (plan.partitions.length === 0) console.log('Replicas and leaders are already even across the brokers.');
    else for (const p of plan.partitions) console.log(`${p.topic}-${p.partition}\t${layout.find((l) => l.topic === p.topic && l.partition === p.partition)!.replicas.join(',')} -> ${p.replicas.join(',')}`);
    return 0;
  }
  const code = await reassign(admin, plan.partitions, false, json, timeoutMs);
  // The new first replicas lead once they are asked to (Kafka's auto.leader.rebalance would, later).
  const elected = await admin.electLeaders({ type: 'preferred', partitions: plan.partitions.map((p) => ({ topic: p.topic, partition: p.partition })) });
  const notElected = elected.filter((r) => r.errorCode !== 0 && r.errorCode !== ELECTION_NOT_NEEDED);
  for (const r of notElected) console.error(`${r.topic}-${r.partition}\tpreferred leader election: ${resultText(r)}`);
  return code;
}

/** Polls ListPartitionReassignments until none of `partitions` is ongoing; progress on stderr. */
async function waitForReassignments(admin: Admin, partitions: Array<{ topic: string; partition: number }>, timeoutMs: number): Promise<boolean> {
  if (partitions.length === 0) return true;
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const ongoing = await admin.listPartitionReassignments(partitions);
    const line =
      ongoing.length === 0
        ? `reassignment done: ${partitions.length} partition(s)`
        : `reassigning ${ongoing.length} of ${partitions.length} partition(s): ${ongoing.map((r) => `${r.topic}-${r.partition} adding ${r.addingReplicas.join(',') || '-'} removing ${r.removingReplicas.join(',') || '-'}`).join('; ')}`;
    if (line !== last) console.error(line);
    last = line;
    if (ongoing.length === 0) return true;
    if (Date.now() > deadline) {
      console.error(`still reassigning after ${timeoutMs} ms; it goes on in the cluster (kastor cluster status shows it)`);
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function layoutOf(admin: Admin, partitions: Array<{ topic: string; partition: number }>) {
  const topics = [...new Set(partitions.map((p) => p.topic))];
  if (topics.length === 0) return [];
  const described = await admin.describeTopics(topics, { configs: false });
  return partitions.map(({ topic, partition }) => {
    const p = described.find((t) => t.name === topic)?.partitions.find((q) => q.partition === partition);
    return { topic, partition, replicas: p?.replicas ?? [], leader: p?.leader ?? -1, isr: p?.isr ?? [] };
  });
}

function errorName(code: number): string {
  return ERRORS[code]?.name ?? `error ${code}`;
}

function resultText(r: PartitionResult): string {
  if (r.errorCode === 0) return 'done';
  return `${errorName(r.errorCode)}${r.errorMessage ? `: ${r.errorMessage}` : ''}`;
}
