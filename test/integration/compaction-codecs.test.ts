// Log compaction of snappy, lz4 and zstd batches with a real client: kcat (librdkafka) produces several rounds
// of the same keys compressed with each codec to its own compacted topic on one broker. The broker's cleaner
// compacts them: kcat reading from the beginning gets exactly the latest value of every key (so it also reads
// the batches Kastor compressed again: xerial snappy, an lz4 frame, a zstd frame), and on disk the cleaned
// batches are still in their codec with fewer records. A keyless record in a compressed batch is refused.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestCluster, type TestCluster } from '../../src/testing/test-cluster.ts';
import { forEachBatch } from '../../src/protocol/record-batch.ts';
import { run } from '../helpers/single-broker.ts';
import { until } from '../helpers/until.ts';

const CODECS = [['snappy', 2], ['lz4', 3], ['zstd', 4]] as const;

type Rec = { offset: number; key: string; value: string };

async function kcatProduce(bootstrap: string, topic: string, lines: string[], extra: string[] = []): Promise<void> {
  await run('kcat', ['-P', '-b', bootstrap, '-t', topic, '-p', '0', '-K', ':', '-X', 'acks=all', ...extra], { input: lines.join('\n') + '\n', timeoutMs: 30_000 });
}

async function kcatConsume(bootstrap: string, topic: string): Promise<Rec[]> {
  const { stdout } = await run('kcat', ['-C', '-b', bootstrap, '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o|%k|%s\\n'], { timeoutMs: 30_000 });
  return stdout.split('\n').filter(Boolean).map((l) => {
    const [offset, key, value] = l.split('|');
    return { offset: Number(offset), key: key!, value: value! };
  });
}

/** Codec id and record count of every batch in the partition's segment files; null mid-swap. */
function batchesOnDisk(dir: string): Array<{ codec: number; count: number }> | null {
  try {
    const out: Array<{ codec: number; count: number }> = [];
    for (const name of readdirSync(dir).filter((n) => /^\d{20}\.log$/.test(n)).sort()) {
      forEachBatch(readFileSync(join(dir, name)), (_pos, h) => out.push({ codec: h.attributes & 7, count: h.recordsCount }));
    }
    return out;
  } catch {
    return null;
  }
}

test('kcat snappy, lz4 and zstd batches on compacted topics: cleaned, read back with the latest value per key', async () => {
  let cluster: TestCluster | undefined;
  try {
    cluster = await startTestCluster({
      brokers: 1,
      brokerArgs: ['--log-cleaner-backoff-ms', '200'],
      topics: CODECS.map(([codec]) => ({
        name: `table-${codec}`, partitions: 1, replicationFactor: 1,
        config: { 'cleanup.policy': 'compact', 'segment.bytes': '1024', 'min.cleanable.dirty.ratio': '0.01', 'delete.retention.ms': '3600000' },
      })),
    });
    const bootstrap = cluster.bootstrapServers;
    for (const [codec, id] of CODECS) {
      const topic = `table-${codec}`;
      const produced: Rec[] = [];
      const produce = async (recs: Array<[string, string]>, extra: string[]) => {
        await kcatProduce(bootstrap, topic, recs.map(([k, v]) => `${k}:${v}`), extra);
        for (const [key, value] of recs) produced.push({ offset: produced.length, key, value });
      };
      // The last round has half the keys, so the round before keeps the other half: a batch rewritten, not dropped.
      for (let round = 0; round < 8; round++) {
        await produce(Array.from({ length: round === 7 ? 5 : 10 }, (_, k): [string, string] => [`k${k}`, `v${round}-${k}-${'x'.repeat(60)}`]), ['-z', codec]);
      }
      // Uncompressed other keys, so the last round sits in a sealed segment the cleaner can reach.
      await produce(Array.from({ length: 12 }, (_, k): [string, string] => [`f${k}`, `filler-${k}-${'y'.repeat(60)}`]), []);

      // Kafka's LogValidator: a record without a key on a compacted topic is refused, inside a compressed batch too.
      const refused = await kcatProduce(bootstrap, topic, ['no-key-here'], ['-z', codec, '-X', 'message.send.max.retries=0']).then(() => null, (e: Error) => e);

      const last = new Map<string, Rec>();
      for (const r of produced) last.set(r.key, r);
      const expected = [...last.values()].sort((a, b) => a.offset - b.offset);
      let read: Rec[] = [];
      await until(`${codec}: kcat reads the latest value of every key`, async () => {
        read = await kcatConsume(bootstrap, topic);
        return JSON.stringify(read) === JSON.stringify(expected);
      }, 60_000, 200).catch((e) => {
        throw new Error(`${(e as Error).message}: read ${JSON.stringify(read.map((r) => [r.offset, r.key]))}`);
      });
      assert.not.ok(read.some((r) => r.value === 'no-key-here'), `${codec}: the keyless record was not stored (${refused?.message.slice(0, 200) ?? 'kcat exited 0'})`);
      const after = batchesOnDisk(cluster.partitionDirs(topic, 0)[0]!)!;
      // What the cleaner kept of the compressed rounds (round 6's other five keys, round 7's five) is still in
      // batches of this codec: ten records, however kcat cut its batches (under load it may split a round in two).
      const kept = after.filter((b) => b.codec === id).reduce((n, b) => n + b.count, 0);
      assert.is(kept, 10, `${codec}: the rewritten batches are still ${codec}, holding the ten latest values: ${JSON.stringify(after)}`);
      assert.not.ok(after.some((b) => b.codec !== id && b.codec !== 0), `${codec}: no batch changed codec`);
    }
  } finally {
    await cluster?.close();
  }
});

test.run();
