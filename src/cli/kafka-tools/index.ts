// `kastor kafka-tool TOOL ARGS...`: the internal command behind bin/kafka/kafka-*.sh, Kafka's command-line
// scripts answered by Kastor. Each tool takes Kafka 3.9's options and prints what Kafka's tool prints; it
// never throws: every failure is a line on stderr and exit code 1, as Kafka's tools exit.
import { kafkaTopics } from './topics.ts';
import { kafkaConfigs } from './configs.ts';
import { kafkaConsumerGroups } from './consumer-groups.ts';
import { kafkaAcls } from './acls.ts';
import { kafkaDeleteRecords } from './delete-records.ts';
import { kafkaLeaderElection } from './leader-election.ts';
import { kafkaReassignPartitions } from './reassign-partitions.ts';

const TOOLS: Record<string, (argv: string[]) => Promise<number>> = {
  topics: kafkaTopics,
  configs: kafkaConfigs,
  'consumer-groups': kafkaConsumerGroups,
  acls: kafkaAcls,
  'delete-records': kafkaDeleteRecords,
  'leader-election': kafkaLeaderElection,
  'reassign-partitions': kafkaReassignPartitions,
};

export async function kafkaToolCommand(argv: string[]): Promise<number> {
  const [tool, ...rest] = argv;
  const run = tool === undefined ? undefined : TOOLS[tool];
  if (!run) {
    console.error(`kastor kafka-tool: unknown tool "${tool ?? ''}" (tools: ${Object.keys(TOOLS).join(', ')}; run them as bin/kafka/kafka-TOOL.sh)`);
    return 1;
  }
  // `kafka-topics.sh --list | head -1` closes the pipe early: stop quietly, as Kafka's tools do, not with a trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  return run(rest);
}
