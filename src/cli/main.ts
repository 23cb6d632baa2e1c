// The `kastor` command line. Each command lives in its own file; this one only dispatches and turns
// usage errors into one clear line and exit code 2.
import { UsageError } from './args.ts';

type Run = (argv: string[]) => Promise<number>;

// Each command's module is loaded only when it runs: a client command (and the bin/kafka scripts, which
// librdkafka's suite runs hundreds of times) does not pay for loading the broker, about a second here.
const COMMANDS: Record<string, { summary: string; run: () => Promise<Run> }> = {
  broker: { summary: 'run one broker (joins the cluster its NATS holds)', run: async () => (await import('./broker-command.ts')).brokerCommand },
  dev: { summary: 'start a local nats-server and brokers for development', run: async () => (await import('./dev-command.ts')).devCommand },
  topic: { summary: 'create, list, describe and delete topics', run: async () => (await import('./topic-command.ts')).topicCommand },
  produce: { summary: 'send lines from stdin or a file as records', run: async () => (await import('./produce-command.ts')).produceCommand },
  consume: { summary: 'print records of a topic', run: async () => (await import('./consume-command.ts')).consumeCommand },
  cluster: { summary: 'cluster status: brokers, controller, under-replicated and offline partitions', run: async () => (await import('./cluster-command.ts')).clusterCommand },
  groups: { summary: 'list consumer groups, describe one (members, assignment, committed offsets, lag)', run: async () => (await import('./groups-command.ts')).groupsCommand },
  transactions: { summary: 'list transactions, describe them, show a partition\'s producers (KIP-664)', run: async () => (await import('./transactions-command.ts')).transactionsCommand },
  'nats-config': { summary: "print the NATS authorization that closes Kastor's bus to all but its brokers", run: async () => (await import('./nats-config-command.ts')).natsConfigCommand },
  users: { summary: 'SASL/SCRAM users: create, list, delete (the password from stdin or a prompt)', run: async () => (await import('./users-command.ts')).usersCommand },
  acls: { summary: 'ACLs: add, list, remove (Kafka\'s kafka-acls)', run: async () => (await import('./acls-command.ts')).aclsCommand },
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
  // A broker's log work goes through libuv's thread pool (4 threads by default), and creating or recovering
  // thousands of partitions is mostly fsyncs, each holding a thread for milliseconds: with 16, more of them
  // run at once and the file system commits them together. Read once, at the pool's first use (none yet).
  if (name === 'broker' || name === 'dev') process.env.UV_THREADPOOL_SIZE ??= '16';
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  // Internal, not listed: what bin/kafka/kafka-*.sh run (Kafka's options, Kafka's exit codes).
  if (name === 'kafka-tool') return (await import('./kafka-tools/index.ts')).kafkaToolCommand(rest);
  const command = COMMANDS[name];
  if (!command) {
    console.error(`kastor: unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')}; see kastor --help)`);
    return 2;
  }
  return (await command.run())(rest);
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
