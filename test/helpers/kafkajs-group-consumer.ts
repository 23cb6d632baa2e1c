// A KafkaJS consumer in a consumer group, run as its own process so a test can SIGKILL it. Prints one JSON
// line per fact on stdout: {"event":"assigned","partitions":[..]} at each join, {"event":"message",...} per
// record and {"event":"committed",...} once the commit of the next offset was acknowledged.
// Usage: node --import tsx kafkajs-group-consumer.ts BOOTSTRAP GROUP TOPIC
import { Kafka, logLevel } from 'kafkajs';

const [bootstrap, groupId, topic] = process.argv.slice(2);
const print = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + '\n');

const kafka = new Kafka({ clientId: 'group-test', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } });
const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 500, rebalanceTimeout: 10_000 });
consumer.on(consumer.events.GROUP_JOIN, (e) => print({ event: 'assigned', memberId: e.payload.memberId, partitions: [...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b) }));
consumer.on(consumer.events.CRASH, (e) => print({ event: 'crash', error: String(e.payload.error) }));

await consumer.connect();
await consumer.subscribe({ topics: [topic], fromBeginning: true });
await consumer.run({
  autoCommit: false,
  eachMessage: async ({ partition, message }) => {
    print({ event: 'message', partition, offset: Number(message.offset), value: message.value?.toString() });
    const next = Number(message.offset) + 1;
    await consumer.commitOffsets([{ topic, partition, offset: String(next) }]);
    print({ event: 'committed', partition, offset: next });
  },
});
const stop = () => void consumer.disconnect().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
