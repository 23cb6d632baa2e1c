// The log cleaner removes transaction markers as Kafka's does, on a real broker process: a compacted topic
// (delete.retention.ms=0, so a marker may go in the cleaning after the one that found its transaction gone) takes
// a committed and an aborted transaction of Kastor's transactional producer, then plain writes that supersede
// every key they wrote, then a third transaction whose record stays. On disk, the first two markers go (and the
// aborted records), the third stays (its transaction has a record left, and its batch holds the producer's
// sequence); kcat (librdkafka) reading read_committed from the beginning gets the latest committed value of
// every key; and the producer's next transaction commits (its state survived the cleaning).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestCluster, type TestCluster } from '../../src/testing/test-cluster.ts';
import { Kafka } from '../../src/client/index.ts';
import { forEachBatch, readRecords } from '../../src/protocol/record-batch.ts';
import { CONTROL_FLAG } from '../../src/protocol/record-batch-layout.ts';
import { run } from '../helpers/single-broker.ts';
import { until } from '../helpers/until.ts';

const TOPIC = 'txn-table';

/** The replica's batches straight from its segment files: markers by offset, and data records by offset; null mid-swap. */
function onDisk(dir: string): { markers: number[]; records: Array<{ offset: number; key: string; value: string }> } | null {
  try {
    const markers: number[] = [];
    const records: Array<{ offset: number; key: string; value: string }> = [];
    for (const name of readdirSync(dir).filter((n) => /^\d{20}\.log$/.test(n)).sort()) {
      const data = readFileSync(join(dir, name));
      forEachBatch(data, (pos, h) => {
        if ((h.attributes & CONTROL_FLAG) !== 0) markers.push(h.baseOffset);
        else for (const r of readRecords(data, pos)) records.push({ offset: r.offset, key: r.key!.toString(), value: r.value!.toString() });
      });
    }
    return { markers, records };
  } catch {
    return null;
  }
}

test('markers of transactions the cleaner emptied go; read_committed readers and the producer carry on', async () => {
  let cluster: TestCluster | null = null;
  try {
    cluster = await startTestCluster({
      brokers: 1,
      brokerArgs: ['--log-cleaner-backoff-ms', '200'],
      topics: [{ name: TOPIC, partitions: 1, replicationFactor: 1, config: { 'cleanup.policy': 'compact', 'segment.bytes': '1024', 'min.cleanable.dirty.ratio': '0.01', 'delete.retention.ms': '0' } }],
    });
    const kafka = new Kafka({ bootstrap: cluster.bootstrapServers, retry: { retries: 20, initialBackoffMs: 50, maxBackoffMs: 500 } });
    const txn = kafka.producer({ transactionalId: 'marker-cleaning' });
    const plain = kafka.producer({ acks: 'all' });
    await txn.initTransactions();
    const inTxn = async (keys: string[], value: string, end: 'commit' | 'abort') => {
      txn.beginTransaction();
      const [m] = await txn.send({ topic: TOPIC, messages: keys.map((key) => ({ key, value: `${key}-${value}`, partition: 0 })) });
      if (end === 'commit') await txn.commitTransaction();
      else await txn.abortTransaction();
      return Number(m!.offset) + keys.length; // the marker's offset
    };
    const committedMarker = await inTxn(['a', 'b'], 'committed', 'commit');
    const abortedMarker = await inTxn(['a', 'c'], 'aborted', 'abort');
    // Every key of those two transactions written again, then filler enough to roll several 1 KiB segments.
    await plain.send({ topic: TOPIC, messages: ['a', 'b', 'c'].map((key) => ({ key, value: `${key}-plain`, partition: 0 })) });
    const keptMarker = await inTxn(['z'], 'committed', 'commit');
    for (let round = 0; round < 6; round++) {
      await plain.send({ topic: TOPIC, messages: Array.from({ length: 8 }, (_, i) => ({ key: `f${i}`, value: `${round}-${'x'.repeat(60)}`, partition: 0 })) });
    }

    const [dir] = cluster.partitionDirs(TOPIC, 0);
    let disk: ReturnType<typeof onDisk> = null;
    await until(
      `the markers at ${committedMarker} and ${abortedMarker} to leave the log`,
      () => {
        disk = onDisk(dir!);
        // A view taken mid-swap lacks a segment: the latest values must all be there.
        const whole = disk !== null && ['a-plain', 'b-plain', 'c-plain', 'z-committed'].every((v) => disk!.records.some((r) => r.value === v));
        return whole && !disk!.markers.includes(committedMarker) && !disk!.markers.includes(abortedMarker);
      },
      30_000,
    );
    disk = disk!;
    assert.ok(disk.markers.includes(keptMarker), `the marker of the transaction whose record stays is kept: ${keptMarker} in ${JSON.stringify(disk.markers)}, records ${JSON.stringify(disk.records.map((r) => [r.offset, r.key]))}`);
    assert.not.ok(disk.records.some((r) => r.value.endsWith('-aborted')), 'aborted records are gone');

    const { stdout } = await run('kcat', ['-C', '-b', cluster.bootstrapServers, '-t', TOPIC, '-p', '0', '-o', 'beginning', '-e', '-q', '-X', 'isolation.level=read_committed', '-f', '%o:%k=%s\\n'], { timeoutMs: 30_000 });
    const latest = new Map(stdout.split('\n').filter(Boolean).map((l) => l.slice(l.indexOf(':') + 1).split('=') as [string, string]));
    assert.equal(['a', 'b', 'c', 'z'].map((k) => latest.get(k)), ['a-plain', 'b-plain', 'c-plain', 'z-committed'], stdout);

    // The producer's state (epoch, sequence) survived: its next transaction commits and is read.
    const next = await inTxn(['y'], 'after', 'commit');
    assert.ok(next > keptMarker);
    await txn.close();
    await plain.close();
  } finally {
    await cluster?.close();
  }
});

test.run();
