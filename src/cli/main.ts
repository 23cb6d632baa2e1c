// The `kastor` command line. Each command lives in its own file; this one only dispatches and turns
// usage errors into one clear line and exit code 2.
import { UsageError } from './args.ts';
import { brokerCommand } from './broker-command.ts';
import { devCommand } from './dev-command.ts';
import { topicCommand } from './topic-command.ts';
import { produceCommand } from './produce-command.ts';
import { consumeCommand } from './consume-command.ts';
import { clusterCommand } from './cluster-command.ts';
import { groupsCommand } from './groups-command.ts';
import { kafkaToolCommand } from './kafka-tools/index.ts';

const COMMANDS: Record<string, { summary: string; run: (argv: string[]) => Promise<number> }> = {
  broker: { summary: 'run one broker (joins the cluster its NATS holds)', run: brokerCommand },
  dev: { summary: 'start a local nats-server and brokers for development', run: devCommand },
  topic: { summary: 'create, list, describe and delete topics', run: topicCommand },
  produce: { summary: 'send lines from stdin or a file as records', run: produceCommand },
  consume: { summary: 'print records of a topic', run: consumeCommand },
  cluster: { summary: 'cluster status: brokers, controller, under-replicated and offline partitions', run: clusterCommand },
  groups: { summary: 'list consumer groups, describe one (members, assignment, committed offsets, lag)', run: groupsCommand },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 2;
  return [
    'kastor — a Kafka-compatible commit-log broker on NATS',
    '',
    'Usage: kastor <command> [options]   (kastor <command> --help for its options)',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  // Internal, not listed: what bin/kafka/kafka-*.sh run (Kafka's options, Kafka's exit codes).
  if (name === 'kafka-tool') return kafkaToolCommand(rest);
  const command = COMMANDS[name];
  if (!command) {
    console.error(`kastor: unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')}; see kastor --help)`);
    return 2;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    if (err instanceof UsageError) {
      console.error(`kastor: ${err.message}`);
      process.exitCode = 2;
    } else {
      console.error(`kastor: ${(err as Error)?.message ?? err}`);
      process.exitCode = 1;
    }
  },
);
