// `kastor cluster status`: the brokers, the controller, and the partitions that need an operator's eye —
// under-replicated (ISR smaller than the replica set) and offline (no leader). Text by default, `--json` for
// scripts and monitoring; exit code 0 either way (the state is the output), 1 when no broker answers.
import { Kafka } from '../client/index.ts';
import { UsageError, helpText, parseFlags, type FlagSpecs } from './args.ts';
import { parseBootstrapFlag, stringifyJson } from './topic-command.ts';

const FLAGS = {
  bootstrap: { type: 'string', description: 'brokers to connect to, comma-separated', default: '127.0.0.1:9092', value: 'HOST:PORT[,..]' },
  json: { type: 'boolean', description: 'print JSON instead of text' },
} satisfies FlagSpecs;

const SUBCOMMANDS = ['status'];

interface PartitionIssue {
  topic: string;
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

export async function clusterCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log([helpText('cluster', 'show the state of the cluster', FLAGS), '', 'Subcommands:', '  status   brokers, controller, under-replicated and offline partitions'].join('\n'));
    return 0;
  }
  const [sub, ...rest] = argv;
  if (!sub || sub.startsWith('--')) throw new UsageError(`"cluster" needs a subcommand (${SUBCOMMANDS.join(', ')}; see: kastor cluster --help)`);
  if (!SUBCOMMANDS.includes(sub)) throw new UsageError(`unknown cluster subcommand "${sub}" (subcommands: ${SUBCOMMANDS.join(', ')}; see: kastor cluster --help)`);
  const f = parseFlags(`cluster ${sub}`, FLAGS, rest);
  if (f._.length > 0) throw new UsageError(`unexpected argument "${f._[0]}" for "cluster status"`);

  const kafka = new Kafka({ bootstrap: parseBootstrapFlag(f.bootstrap), clientId: 'kastor-cli', retry: { retries: 3, maxBackoffMs: 1000 } });
  const admin = kafka.admin();
  try {
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
    const status = {
      clusterId: cluster.clusterId,
      controllerId: cluster.controllerId,
      brokers: cluster.brokers,
      topics: topics.length,
      partitions,
      underReplicatedPartitions: underReplicated,
      offlinePartitions: offline,
    };
    if (f.json) {
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
    ];
    console.log(lines.join('\n'));
    return 0;
  } finally {
    await admin.close();
  }
}

function issueLine(p: PartitionIssue): string {
  return `  ${p.topic}-${p.partition}\tleader ${p.leader < 0 ? 'none' : p.leader}\treplicas ${p.replicas.join(',')}\tisr ${p.isr.join(',') || '-'}`;
}
