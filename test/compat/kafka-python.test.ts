// kafka-python 2.0.2 (Debian's python3-kafka) against a live broker process: a producer, and a consumer
// without a group that assigns partitions and seeks, checked record by record.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startSingleBroker, run, type SingleBroker } from '../helpers/single-broker.ts';

let env: SingleBroker;
const PYTHON = '/usr/bin/python3';

test.before(async () => {
  env = await startSingleBroker(['--num-partitions', '2']);
});
test.after(async () => {
  await env?.close();
});

const SCRIPT = `
import json, sys
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
bootstrap = sys.argv[1]
producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=5)
futures = []
for i in range(2000):
    futures.append(producer.send('py-topic', key=('k%d' % (i % 7)).encode(), value=('v%d' % i).encode(), partition=i % 2))
producer.flush()
metas = [f.get(timeout=10) for f in futures]
producer.close()
consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=3000)
tps = [TopicPartition('py-topic', 0), TopicPartition('py-topic', 1)]
consumer.assign(tps)
consumer.seek_to_beginning()
got = []
while len(got) < 2000:
    batch = consumer.poll(timeout_ms=2000)
    if not batch:
        break
    for tp, records in batch.items():
        for r in records:
            got.append([tp.partition, r.offset, r.key.decode(), r.value.decode()])
consumer.seek(tps[1], 500)
again = consumer.poll(timeout_ms=2000, max_records=1)
first_after_seek = [r.offset for rs in again.values() for r in rs]
end = consumer.end_offsets(tps)
consumer.close()
print(json.dumps({"sent": [[m.partition, m.offset] for m in metas], "got": got, "seek": first_after_seek, "end": {str(k.partition): v for k, v in end.items()}}))
`;

test('kafka-python producer and assign/seek consumer round-trip every record', async () => {
  const { stdout } = await run(PYTHON, ['-c', SCRIPT, env.bootstrap], { timeoutMs: 90_000 });
  const out = JSON.parse(stdout.trim().split('\n').pop()!);
  assert.is(out.sent.length, 2000);
  assert.is(out.got.length, 2000);
  const byPartition: Record<string, Array<[number, string, string]>> = { 0: [], 1: [] };
  for (const [p, o, k, v] of out.got) byPartition[p].push([o, k, v]);
  for (const p of [0, 1]) {
    const rows = byPartition[p];
    assert.is(rows.length, 1000);
    rows.forEach(([o, k, v], j) => {
      const i = j * 2 + p;
      assert.is(o, j);
      assert.is(v, `v${i}`);
      assert.is(k, `k${i % 7}`);
    });
  }
  assert.equal(out.seek, [500]);
  assert.equal(out.end, { 0: 1000, 1: 1000 });
});

test.run();
