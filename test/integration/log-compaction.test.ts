// Log compaction on three broker processes (replication factor 3), with real clients: kcat (librdkafka) produces
// several values per key, one round gzip-compressed, and a tombstone to a topic with cleanup.policy=compact and
// segment.bytes=1024; KafkaJS's record without a key is refused with INVALID_RECORD. Every broker's cleaner
// compacts its own replica: on disk, every replica ends with records at their original offsets, the latest of
// every key, and no key twice below its active segment; kcat reading from the beginning gets exactly the latest
// value of every key (the tombstone as NULL, before delete.retention.ms). After the leader is killed, the new
// leader (its own replica, cleaned by its own cleaner) gives kcat the same.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka as KafkaJS, logLevel } from 'kafkajs';
import { startTestCluster, type TestCluster } from '../../src/testing/test-cluster.ts';
import { forEachBatch, readRecords } from '../../src/protocol/record-batch.ts';
import { run } from '../helpers/single-broker.ts';
import { until } from '../helpers/until.ts';

const TOPIC = 'table';

type Rec = { offset: number; key: string; value: string | null };

/** Produces `lines` ("key:value"; "key:" is a tombstone) with kcat, acks=all, as one run. */
async function kcatProduce(bootstrap: string, lines: string[], extra: string[] = []): Promise<void> {
  await run('kcat', ['-P', '-b', bootstrap, '-t', TOPIC, '-p', '0', '-K', ':', '-Z', '-X', 'acks=all', ...extra], { input: lines.join('\n') + '\n', timeoutMs: 30_000 });
}

/** What kcat reads from the beginning to the end: offset, key, value (NULL for a tombstone). */
async function kcatConsume(bootstrap: string): Promise<Rec[]> {
  const { stdout } = await run('kcat', ['-C', '-b', bootstrap, '-t', TOPIC, '-p', '0', '-o', 'beginning', '-e', '-q', '-Z', '-f', '%o|%k|%s\\n'], { timeoutMs: 30_000 });
  return stdout.split('\n').filter(Boolean).map((l) => {
    const [offset, key, value] = l.split('|');
    return { offset: Number(offset), key: key!, value: value === 'NULL' ? null : value! };
  });
}

/** A replica's records straight from its segment files, and where its active segment starts; null mid-swap. */
function replicaOnDisk(dir: string): { records: Rec[]; activeBase: number } | null {
  try {
    const logs = readdirSync(dir).filter((n) => /^\d{20}\.log$/.test(n)).sort();
    const records: Rec[] = [];
    for (const name of logs) {
      const data = readFileSync(join(dir, name));
      forEachBatch(data, (pos) => {
        for (const r of readRecords(data, pos)) records.push({ offset: r.offset, key: r.key!.toString(), value: r.value?.toString() ?? null });
      });
    }
    return { records, activeBase: Number(logs.at(-1)!.slice(0, 20)) };
  } catch {
    return null;
  }
}

function latestPerKey(produced: Rec[]): Rec[] {
  const last = new Map<string, Rec>();
  for (const r of produced) last.set(r.key, r);
  return [...last.values()].sort((a, b) => a.offset - b.offset);
}

/** Why a replica is not (yet) compacted as expected, or null when it is. */
function replicaProblem(replica: { records: Rec[]; activeBase: number }, produced: Rec[]): string | null {
  const byOffset = new Map(produced.map((r) => [r.offset, r]));
  for (const r of replica.records) {
    const p = byOffset.get(r.offset);
    if (!p || p.key !== r.key || p.value !== r.value) return `record at ${r.offset} is not what was produced there`;
  }
  for (const l of latestPerKey(produced)) if (!replica.records.some((r) => r.offset === l.offset)) return `latest ${l.key} at ${l.offset} missing`;
  const seen = new Set<string>();
  for (const r of replica.records.filter((x) => x.offset < replica.activeBase)) {
    if (seen.has(r.key)) return `${r.key} twice below the active segment at ${replica.activeBase}`;
    seen.add(r.key);
  }
  return replica.records.length < produced.length ? null : 'nothing removed yet';
}

test('kcat on a compacted topic over three brokers: every replica compacted, the latest value per key read, before and after a leader change', async () => {
  let cluster: TestCluster | undefined;
  try {
    cluster = await startTestCluster({
      brokers: 3,
      brokerArgs: ['--log-cleaner-backoff-ms', '200'],
      topics: [{
        name: TOPIC, partitions: 1, replicationFactor: 3,
        config: { 'cleanup.policy': 'compact', 'segment.bytes': '1024', 'min.cleanable.dirty.ratio': '0.01', 'delete.retention.ms': '3600000' },
      }],
    });
    const bootstrap = cluster.bootstrapServers;
    const produced: Rec[] = [];
    const produce = async (recs: Array<[string, string | null]>, extra: string[] = []) => {
      await kcatProduce(bootstrap, recs.map(([k, v]) => `${k}:${v ?? ''}`), extra);
      for (const [key, value] of recs) produced.push({ offset: produced.length, key, value });
    };
    for (let round = 0; round < 6; round++) {
      const recs = Array.from({ length: 10 }, (_, k): [string, string | null] => [`k${k}`, round === 5 && k === 3 ? null : `v${round}-${k}-${'x'.repeat(60)}`]);
      await produce(recs, round === 2 ? ['-z', 'gzip'] : []);
    }
    // Other keys, so the last round's records are in a sealed segment the cleaner can reach.
    await produce(Array.from({ length: 10 }, (_, k): [string, string | null] => [`f${k}`, `filler-${k}-${'y'.repeat(60)}`]));

    const kafkajs = new KafkaJS({ clientId: 'compaction-test', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const producer = kafkajs.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await producer.connect();
    let refused: unknown = null;
    try {
      await producer.send({ topic: TOPIC, acks: -1, messages: [{ value: 'no key' }] });
    } catch (e) {
      refused = e;
    }
    await producer.disconnect();
    assert.ok(refused, 'a record without a key is refused');
    assert.match(JSON.stringify({ type: (refused as { type?: string }).type, cause: String((refused as { cause?: unknown }).cause ?? ''), message: (refused as Error).message }), /INVALID_RECORD|Compacted topic/);

    const expected = latestPerKey(produced);
    assert.ok(expected.some((r) => r.key === 'k3' && r.value === null));
    const dirs = cluster.partitionDirs(TOPIC, 0);
    assert.is(dirs.length, 3);
    let problems: Array<string | null> = [];
    await until('every replica compacted', () => {
      problems = dirs.map((d) => {
        const r = replicaOnDisk(d);
        return r ? replicaProblem(r, produced) : 'mid-swap';
      });
      return problems.every((p) => p === null);
    }, 60_000, 200).catch((e) => {
      throw new Error(`${(e as Error).message}: ${JSON.stringify(problems)}`);
    });
    let read: Rec[] = [];
    await until('kcat reads the latest value of every key', async () => {
      read = await kcatConsume(bootstrap);
      return JSON.stringify(read) === JSON.stringify(expected);
    }, 30_000, 200).catch((e) => {
      throw new Error(`${(e as Error).message}: read ${JSON.stringify(read.map((r) => r.offset))}`);
    });

    // The leader dies; the new one serves its own compacted replica. One more record rolls its active segment
    // (a follower's segments can end elsewhere than the leader's), so all its earlier records are cleanable.
    const old = await cluster.killLeader(TOPIC, 0);
    await cluster.waitForLeader(TOPIC, 0, { notBroker: old, timeoutMs: 30_000 });
    await produce([['after', `the-leader-change-${'z'.repeat(60)}`]]);
    await produce([['after2', `and-one-more-${'z'.repeat(60)}`]]);
    const expectedAfter = latestPerKey(produced);
    await until('kcat reads the latest value of every key from the new leader', async () => {
      read = await kcatConsume(bootstrap);
      return JSON.stringify(read) === JSON.stringify(expectedAfter);
    }, 60_000, 200).catch((e) => {
      throw new Error(`${(e as Error).message}: read ${JSON.stringify(read.map((r) => r.offset))}`);
    });
  } finally {
    await cluster?.close();
  }
});

test.run();
