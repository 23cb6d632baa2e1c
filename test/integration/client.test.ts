// Kastor's own client against a live broker process (auto topic creation off): admin, producer (keys,
// headers, every codec, acks 0/1/all, batching, partitioning as partitionForKey) and the manual-assignment consumer
// (earliest, latest, timestamp, seek, pause/resume, out-of-range reset, close), and the typed errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startSingleBroker, type SingleBroker } from '../helpers/single-broker.ts';
import { Kafka, KafkaProtocolError, KafkaClientError, ConnectionError, partitionForKey, BrokerConnection, type Consumer, type ConsumerBatch, type ConsumerRecord } from '../../src/client/index.ts';
import { batchPositions, readBatchHeader } from '../../src/protocol/record-batch.ts';

let env: SingleBroker;
let kafka: Kafka;

test.before(async () => {
  env = await startSingleBroker(['--auto-create-topics=false']);
  kafka = new Kafka({ bootstrap: env.bootstrap, clientId: 'client-test', retry: { retries: 5, initialBackoffMs: 50, maxBackoffMs: 500 } });
});
test.after(async () => {
  await env?.close();
});

async function createTopic(topic: string, numPartitions = 1, configs?: Record<string, string>): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.createTopics([{ topic, numPartitions, replicationFactor: 1, configs }]);
  } finally {
    await admin.close();
  }
}

/** Reads batches until n records arrived or the deadline passed (then fails with what arrived). */
async function collect(consumer: Consumer, n: number, timeoutMs = 10_000): Promise<{ records: Array<ConsumerRecord & { partition: number }>; batches: ConsumerBatch[] }> {
  const records: Array<ConsumerRecord & { partition: number }> = [];
  const batches: ConsumerBatch[] = [];
  const deadline = Date.now() + timeoutMs;
  while (records.length < n) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`got ${records.length} of ${n} records within ${timeoutMs} ms`);
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([consumer.next(), new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), left)))]);
    clearTimeout(timer);
    if (r === null) continue;
    if (r.done) break;
    batches.push(r.value);
    for (const rec of r.value.records) records.push({ ...rec, partition: r.value.partition });
  }
  return { records, batches };
}

/** The stored batches of a partition, straight from a Fetch: attributes and record counts. */
async function storedBatches(topic: string, partition: number): Promise<Array<{ compression: number; count: number }>> {
  const [host, port] = env.bootstrap.split(':');
  const conn = await BrokerConnection.connect({ host: host!, port: Number(port) });
  try {
    const res = await conn.request(1, 12, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
      topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    });
    const records = res.responses[0]!.partitions[0]!.records!;
    return [...batchPositions(records)].map(({ pos }) => {
      const h = readBatchHeader(records, pos);
      return { compression: h.attributes & 7, count: h.recordsCount };
    });
  } finally {
    conn.close();
  }
}

test('admin: create, list, describe (partitions, leaders, ISR, configs), cluster, offsets, delete', async () => {
  const admin = kafka.admin();
  try {
    assert.equal(await admin.createTopics([{ topic: 'adm', numPartitions: 3, replicationFactor: 1, configs: { 'retention.ms': '123456' } }]), ['adm']);
    const again = await admin.createTopics([{ topic: 'adm', numPartitions: 3 }]).catch((e) => e);
    assert.instance(again, KafkaProtocolError);
    assert.is(again.errorName, 'TOPIC_ALREADY_EXISTS');
    assert.is(again.topic, 'adm');
    assert.equal(await admin.createTopics([{ topic: 'adm', numPartitions: 3 }], { ifNotExists: true }), []);
    assert.ok((await admin.listTopics()).includes('adm'));
    const [d] = await admin.describeTopics(['adm']);
    assert.is(d!.name, 'adm');
    assert.is(d!.topicId.length, 32);
    assert.equal(d!.partitions.map((p) => [p.partition, p.leader, p.replicas, p.isr]), [[0, 1, [1], [1]], [1, 1, [1], [1]], [2, 1, [1], [1]]]);
    assert.is(d!.configs!['retention.ms']!.value, '123456');
    assert.is(d!.configs!['retention.ms']!.isDefault, false);
    assert.is(d!.configs!['cleanup.policy']!.isDefault, true);
    const cluster = await admin.describeCluster();
    assert.is(cluster.controllerId, 1);
    assert.equal(cluster.brokers.map((b) => `${b.host}:${b.port}`), [env.bootstrap]);
    assert.ok(cluster.clusterId && cluster.clusterId.length > 0);
    const producer = kafka.producer();
    await producer.send({ topic: 'adm', messages: [{ value: 'a', partition: 1, timestamp: 1000 }, { value: 'b', partition: 1, timestamp: 5000 }] });
    await producer.close();
    assert.equal(await admin.fetchOffsets('adm'), [
      { partition: 0, earliest: 0n, latest: 0n },
      { partition: 1, earliest: 0n, latest: 2n },
      { partition: 2, earliest: 0n, latest: 0n },
    ]);
    const byTime = await admin.offsetsForTimes('adm', 2000);
    assert.equal(byTime.map((o) => [o.partition, o.offset]), [[0, -1n], [1, 1n], [2, -1n]]);
    await admin.deleteTopics(['adm']);
    assert.not.ok((await admin.listTopics()).includes('adm'));
  } finally {
    await admin.close();
  }
});

test('produce and consume round trip with keys, headers, every codec and acks 0, 1 and all', async () => {
  await createTopic('rt', 1);
  const rounds = [[1, 'none'], [-1, 'gzip'], ['all', 'none'], [0, 'gzip'], [1, 'snappy'], ['all', 'lz4'], [-1, 'zstd']] as const;
  for (const [acks, compression] of rounds) {
    const producer = kafka.producer({ acks, compression });
    const messages = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: Buffer.from(`v${i}-acks${acks}`), headers: { trace: `t${i}`, bin: Buffer.from([i, 255]) }, partition: 0 }));
    const meta = await producer.send({ topic: 'rt', messages });
    if (acks === 0) assert.ok(meta.every((m) => m.offset === -1n), 'acks=0 has no offsets');
    else assert.equal(meta.map((m) => m.offset - meta[0]!.offset), messages.map((_, i) => BigInt(i)), 'consecutive offsets');
    await producer.close();
  }
  const consumer = kafka.consumer({ maxWaitMs: 100 });
  consumer.assign([{ topic: 'rt', partition: 0, offset: 'earliest' }]);
  const { records } = await collect(consumer, 20 * rounds.length);
  await consumer.close();
  assert.is(records.length, 20 * rounds.length);
  assert.equal(records.map((r) => r.offset), Array.from({ length: 20 * rounds.length }, (_, i) => BigInt(i)));
  const acksOrder = rounds.map(([acks]) => String(acks));
  records.forEach((r, n) => {
    const i = n % 20;
    assert.is(r.key!.toString(), `k${i}`);
    assert.is(r.value!.toString(), `v${i}-acks${acksOrder[Math.floor(n / 20)]}`);
    assert.equal(r.headers.map((h) => [h.key, h.value]), [['trace', Buffer.from(`t${i}`)], ['bin', Buffer.from([i, 255])]]);
  });
  const stored = await storedBatches('rt', 0);
  assert.equal(stored.map((b) => b.compression), [0, 1, 0, 1, 2, 3, 4], 'compressed batches are stored in their codec');
});

test('sends within lingerMs share one batch per partition; flush sends without waiting for linger', async () => {
  await createTopic('linger', 2);
  const producer = kafka.producer({ lingerMs: 400 });
  const sends = [0, 1, 2].map((i) => producer.send({ topic: 'linger', messages: [{ value: `a${i}`, partition: 0 }, { value: `b${i}`, partition: 1 }] }));
  const results = await Promise.all(sends);
  assert.equal(results.map((r) => r.map((m) => [m.partition, m.offset])), [[[0, 0n], [1, 0n]], [[0, 1n], [1, 1n]], [[0, 2n], [1, 2n]]]);
  await producer.close();
  assert.equal(await storedBatches('linger', 0), [{ compression: 0, count: 3 }], 'one RecordBatch for the three sends');
  assert.equal(await storedBatches('linger', 1), [{ compression: 0, count: 3 }]);

  const lazy = kafka.producer({ lingerMs: 60_000 });
  const sent = lazy.send({ topic: 'linger', messages: [{ value: 'c', partition: 0 }] });
  const t0 = Date.now();
  await lazy.flush();
  assert.ok(Date.now() - t0 < 10_000, 'flush does not wait for lingerMs');
  assert.equal((await sent).map((m) => m.offset), [3n]);
  await lazy.close();
});

test('keys land on partitionForKey; null keys round-robin, or stick to one partition per batch', async () => {
  await createTopic('keys', 4);
  const producer = kafka.producer();
  const keys = Array.from({ length: 60 }, (_, i) => `user-${i * 7919}`);
  const meta = await producer.send({ topic: 'keys', messages: keys.map((key) => ({ key, value: key })) });
  meta.forEach((m, i) => assert.is(m.partition, partitionForKey(keys[i]!, 4), keys[i]));
  assert.ok(new Set(meta.map((m) => m.partition)).size > 1);
  const rr = await producer.send({ topic: 'keys', messages: Array.from({ length: 8 }, (_, i) => ({ value: `n${i}` })) });
  const counts = [0, 0, 0, 0];
  for (const m of rr) counts[m.partition]!++;
  assert.equal(counts, [2, 2, 2, 2], 'round-robin spreads null keys evenly');
  await producer.close();
  const sticky = kafka.producer({ partitioner: 'sticky' });
  const st = await sticky.send({ topic: 'keys', messages: Array.from({ length: 8 }, (_, i) => ({ value: `s${i}` })) });
  assert.is(new Set(st.map((m) => m.partition)).size, 1, 'sticky keeps one partition for the batch');
  await sticky.close();

  const consumer = kafka.consumer({ maxWaitMs: 100 });
  consumer.assign([0, 1, 2, 3].map((partition) => ({ topic: 'keys', partition, offset: 'earliest' })));
  const { records } = await collect(consumer, 76);
  await consumer.close();
  for (const r of records.filter((x) => x.key !== null)) assert.is(r.partition, partitionForKey(r.key!, 4));
});

test('consumer starts at earliest, latest, an offset and a timestamp', async () => {
  await createTopic('starts', 1);
  const producer = kafka.producer();
  await producer.send({ topic: 'starts', messages: [1000, 2000, 3000, 4000].map((timestamp, i) => ({ value: `r${i}`, timestamp })) });

  const atOffset = kafka.consumer({ maxWaitMs: 100 });
  atOffset.assign([{ topic: 'starts', partition: 0, offset: 2n }]);
  assert.equal((await collect(atOffset, 2)).records.map((r) => r.value!.toString()), ['r2', 'r3'], 'mid-batch offset skips earlier records of the batch');
  await atOffset.close();

  const byTime = kafka.consumer({ maxWaitMs: 100 });
  byTime.assign([{ topic: 'starts', partition: 0, offset: { timestamp: 2500 } }]);
  const tr = (await collect(byTime, 2)).records;
  assert.equal(tr.map((r) => [r.offset, r.timestamp]), [[2n, 3000], [3n, 4000]]);
  await byTime.close();

  const latest = kafka.consumer({ maxWaitMs: 100 });
  latest.assign([{ topic: 'starts', partition: 0, offset: 'latest' }]);
  const late = kafka.consumer({ maxWaitMs: 100 });
  late.assign([{ topic: 'starts', partition: 0, offset: { timestamp: 99_999 } }]);
  // Positions resolve through ListOffsets before the first fetch; produce once both are known.
  const deadline = Date.now() + 10_000;
  const pending: Array<Promise<IteratorResult<ConsumerBatch>>> = [latest.next(), late.next()];
  while (latest.position({ topic: 'starts', partition: 0 }) === null || late.position({ topic: 'starts', partition: 0 }) === null) {
    if (Date.now() > deadline) throw new Error('positions did not resolve');
    await new Promise((r) => setImmediate(r));
  }
  assert.is(latest.position({ topic: 'starts', partition: 0 }), 4n);
  assert.is(late.position({ topic: 'starts', partition: 0 }), 4n, 'a time after the last record starts at the end');
  await producer.send({ topic: 'starts', messages: [{ value: 'new' }] });
  const [a, b] = (await Promise.all(pending)).map((r) => r.value as ConsumerBatch);
  assert.equal(a!.records.map((r) => [r.offset, r.value!.toString()]), [[4n, 'new']]);
  assert.equal(b!.records.map((r) => r.offset), [4n]);
  assert.is(a!.highWatermark, 5n);
  await latest.close();
  await late.close();

  const earliest = kafka.consumer({ maxWaitMs: 100 });
  earliest.assign([{ topic: 'starts', partition: 0, offset: 'earliest' }]);
  assert.equal((await collect(earliest, 5)).records.map((r) => r.offset), [0n, 1n, 2n, 3n, 4n]);
  await earliest.close();
  await producer.close();
});

test('seek moves the position and drops what was fetched; pause holds a partition until resume', async () => {
  await createTopic('seekpause', 2);
  const producer = kafka.producer();
  await producer.send({ topic: 'seekpause', messages: Array.from({ length: 10 }, (_, i) => ({ value: `p${i % 2}-${Math.floor(i / 2)}`, partition: i % 2 })) });
  await producer.close();

  const consumer = kafka.consumer({ maxWaitMs: 100 });
  consumer.assign([{ topic: 'seekpause', partition: 0, offset: 'earliest' }]);
  const first = await collect(consumer, 5);
  assert.equal(first.records.map((r) => r.value!.toString()), ['p0-0', 'p0-1', 'p0-2', 'p0-3', 'p0-4']);
  assert.is(consumer.position({ topic: 'seekpause', partition: 0 }), 5n);
  consumer.seek({ topic: 'seekpause', partition: 0, offset: 3 });
  assert.equal((await collect(consumer, 2)).records.map((r) => r.offset), [3n, 4n]);

  consumer.assign([
    { topic: 'seekpause', partition: 0, offset: 'earliest' },
    { topic: 'seekpause', partition: 1, offset: 'earliest' },
  ]);
  consumer.pause([{ topic: 'seekpause', partition: 0 }]);
  assert.equal(consumer.paused(), [{ topic: 'seekpause', partition: 0 }]);
  const onlyOne = await collect(consumer, 5);
  assert.ok(onlyOne.batches.every((b) => b.partition === 1), 'a paused partition yields nothing');
  assert.is(consumer.position({ topic: 'seekpause', partition: 0 }), 0n);
  consumer.resume([{ topic: 'seekpause' }]);
  const rest = await collect(consumer, 5);
  assert.ok(rest.batches.every((b) => b.partition === 0));
  assert.equal(rest.records.map((r) => r.offset), [0n, 1n, 2n, 3n, 4n]);
  await consumer.close();
});

test('a big batch is delivered in slices of 1,000 records (a slice ends inside a batch, or goes on into the next), the position after each', async () => {
  await createTopic('slices', 1);
  const producer = kafka.producer({ lingerMs: 1000 });
  await producer.send({ topic: 'slices', messages: Array.from({ length: 2500 }, (_, i) => ({ value: `s${i}` })) });
  await producer.send({ topic: 'slices', messages: [{ value: 'after' }] });
  await producer.close();
  assert.equal((await storedBatches('slices', 0)).map((b) => b.count), [2500, 1], 'one batch of 2,500 records, then one of 1');

  const consumer = kafka.consumer({ maxWaitMs: 100 });
  consumer.assign([{ topic: 'slices', partition: 0, offset: 'earliest' }]);
  const sizes: number[] = [];
  const positions: bigint[] = [];
  let seen = 0;
  while (seen < 2501) {
    const r = await consumer.next();
    if (r.done) break;
    sizes.push(r.value.records.length);
    positions.push(consumer.position({ topic: 'slices', partition: 0 })!);
    assert.equal(r.value.records.map((x) => x.value!.toString()), Array.from({ length: r.value.records.length }, (_, i) => (seen + i === 2500 ? 'after' : `s${seen + i}`)));
    seen += r.value.records.length;
  }
  assert.equal(sizes, [1000, 1000, 501]);
  assert.equal(positions, [1000n, 2000n, 2501n]);
  await consumer.close();
});

test('OFFSET_OUT_OF_RANGE resets per autoOffsetReset, or surfaces as a typed error with none', async () => {
  await createTopic('oor', 1);
  const producer = kafka.producer();
  await producer.send({ topic: 'oor', messages: [{ value: 'x' }, { value: 'y' }] });
  await producer.close();
  const reset = kafka.consumer({ maxWaitMs: 100, autoOffsetReset: 'earliest' });
  reset.assign([{ topic: 'oor', partition: 0, offset: 1000 }]);
  assert.equal((await collect(reset, 2)).records.map((r) => r.value!.toString()), ['x', 'y']);
  await reset.close();
  const strict = kafka.consumer({ maxWaitMs: 100, autoOffsetReset: 'none' });
  strict.assign([{ topic: 'oor', partition: 0, offset: 1000 }]);
  const err = await strict.next().catch((e) => e);
  assert.instance(err, KafkaProtocolError);
  assert.is(err.errorName, 'OFFSET_OUT_OF_RANGE');
  assert.is(err.partition, 0);
  await strict.close();
});

test('close ends a waiting iterator cleanly', async () => {
  await createTopic('idle', 1);
  const consumer = kafka.consumer({ maxWaitMs: 5000 });
  consumer.assign([{ topic: 'idle', partition: 0, offset: 'latest' }]);
  const seen: number[] = [];
  const loop = (async () => {
    for await (const b of consumer) seen.push(b.records.length);
    return 'ended';
  })();
  const deadline = Date.now() + 10_000;
  while (consumer.position({ topic: 'idle', partition: 0 }) === null && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  await consumer.close();
  assert.is(await loop, 'ended');
  assert.equal(seen, []);
});

test('errors are typed: unknown topic (auto-create off), unreachable bootstrap, closed producer', async () => {
  const quick = new Kafka({ bootstrap: env.bootstrap, retry: { retries: 1, initialBackoffMs: 10 } });
  const producer = quick.producer();
  const err = await producer.send({ topic: 'no-such-topic', messages: [{ value: 'x' }] }).catch((e) => e);
  assert.instance(err, KafkaProtocolError);
  assert.is(err.code, 3);
  assert.is(err.errorName, 'UNKNOWN_TOPIC_OR_PARTITION');
  assert.is(err.name, 'UNKNOWN_TOPIC_OR_PARTITION');
  assert.is(err.retriable, true);
  assert.is(err.topic, 'no-such-topic');
  await producer.close();
  const closed = await producer.send({ topic: 'rt', messages: [{ value: 'x' }] }).catch((e) => e);
  assert.instance(closed, KafkaClientError);
  assert.is(closed.code, 'CLIENT_CLOSED');

  const nowhere = new Kafka({ bootstrap: ['127.0.0.1:1'], retry: { retries: 1, initialBackoffMs: 10 } }).admin();
  const unreachable = await nowhere.listTopics().catch((e) => e);
  assert.instance(unreachable, KafkaClientError);
  assert.is(unreachable.code, 'BROKERS_UNREACHABLE');
  assert.is(unreachable.retriable, true);
  assert.instance(unreachable.cause, ConnectionError);
  assert.match(unreachable.message, '127.0.0.1:1');
  await nowhere.close();

  const bad = (() => {
    try {
      new Kafka({ bootstrap: 'no-port' }).admin();
    } catch (e) {
      return e;
    }
  })();
  assert.instance(bad, KafkaClientError);
  assert.is((bad as KafkaClientError).code, 'INVALID_ARGUMENT');
});

test.run();
