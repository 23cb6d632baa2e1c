// broker.rack across real `kastor broker` processes: four brokers on three racks (`--rack`), each broker's
// Metadata answer gives every broker's rack, `kastor cluster status` (DescribeCluster) shows them, and a
// topic created with replication factor 3 has every partition's replicas on three distinct racks (Kafka's
// rack-aware placement; the rack-unaware one would put brokers 1 and 4, both on az-a, in one partition).
// An empty --rack is a usage error.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runProcess, type ProcessResult } from '../helpers/run-process.ts';
import { fileURLToPath } from 'node:url';
import { startTestCluster, fetchMetadata, createTopics, type TestCluster } from '../../src/testing/index.ts';

const bin = fileURLToPath(new URL('../../bin/kastor.js', import.meta.url));
const RACKS: Record<number, string> = { 1: 'az-a', 2: 'az-b', 3: 'az-c', 4: 'az-a' };
let cluster: TestCluster | undefined;

function kastor(args: string[], timeoutMs = 30_000): Promise<ProcessResult> {
  return runProcess(process.execPath, [bin, ...args], { timeoutMs });
}

test.before(async () => {
  cluster = await startTestCluster({ brokers: 4, racks: RACKS, topics: [{ name: 'spread', partitions: 8, replicationFactor: 3 }] });
});

test.after(async () => {
  await cluster?.close();
});

test("every broker's Metadata answer gives each broker's rack", async () => {
  for (const id of cluster!.brokers) {
    const meta = await fetchMetadata(cluster!.addressOf(id), []);
    const racks = Object.fromEntries(meta.brokers.map((b) => [b.nodeId, b.rack]));
    assert.equal(racks, RACKS, `Metadata from broker ${id}`);
  }
  assert.equal(
    Object.fromEntries(Object.values(cluster!.metadata().brokers).map((b) => [b.id, b.rack])),
    RACKS,
    'registered in the cluster metadata',
  );
});

test('a topic created with RF 3 has every partition on three distinct racks, leaders on every broker', async () => {
  const check = (topic: string, partitions: number) => {
    return fetchMetadata(cluster!.addressOf(2), [topic]).then((meta) => {
      const rackOf = new Map(meta.brokers.map((b) => [b.nodeId, b.rack]));
      const t = meta.topics.find((x) => x.name === topic)!;
      assert.is(t.errorCode, 0);
      assert.is(t.partitions.length, partitions);
      for (const p of t.partitions) {
        assert.is(p.replicaNodes.length, 3);
        const racks = p.replicaNodes.map((b) => rackOf.get(b));
        assert.is(new Set(racks).size, 3, `${topic}-${p.partitionIndex} replicas ${p.replicaNodes} on racks ${racks}`);
      }
      return new Set(t.partitions.map((p) => p.replicaNodes[0]));
    });
  };
  assert.equal(await check('spread', 8), new Set([1, 2, 3, 4]), 'preferred leaders on every broker');
  // A second topic gets another start index (the topic count): placement stays rack-aware.
  const [created] = await createTopics(cluster!.addressOf(3), [{ name: 'later', partitions: 4, replicationFactor: 3 }]);
  assert.is(created!.errorCode, 0, created!.errorMessage ?? '');
  await cluster!.waitForInSync('later');
  await check('later', 4);
});

test('kastor cluster status shows each broker\'s rack (text and JSON)', async () => {
  const text = await kastor(['cluster', 'status', '--bootstrap', cluster!.bootstrapServers]);
  assert.is(text.code, 0, text.stderr);
  for (const id of cluster!.brokers) {
    assert.match(text.stdout, new RegExp(`^  ${id}\\t127\\.0\\.0\\.1:${cluster!.addressOf(id).port}\\track ${RACKS[id]}`, 'm'));
  }
  const json = await kastor(['cluster', 'status', '--json', '--bootstrap', cluster!.bootstrapServers]);
  assert.is(json.code, 0, json.stderr);
  const status = JSON.parse(json.stdout) as { brokers: Array<{ nodeId: number; rack: string | null }> };
  assert.equal(Object.fromEntries(status.brokers.map((b) => [b.nodeId, b.rack])), RACKS);
});

test('an empty --rack is a one-line usage error, exit code 2', async () => {
  for (const rack of [['--rack', ''], ['--rack=']]) {
    const r = await kastor(['broker', '--id', '9', '--data', '/nonexistent-kastor-dir', ...rack]);
    assert.is(r.code, 2, `${rack.join(' ')}: ${r.stderr}`);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, '--rack must be a non-empty rack name');
  }
});

test.run();
