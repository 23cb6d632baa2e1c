// MetadataStore when the bucket goes back (KvRewound: a NATS crash before its periodic sync loses the latest
// writes): the stores write what the bucket lost back from the values they applied, and their snapshots never
// show the lost state. Over the in-memory KV's rewind(), deterministic, no server.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ulid } from 'ulid';
import { MemoryKv } from '../../src/metadata/memory-kv.ts';
import { MetadataStore } from '../../src/metadata/metadata-store.ts';
import { newTopicId } from '../../src/metadata/assignment.ts';
import { topicKey } from '../../src/metadata/metadata-keys.ts';
import type { ClusterSnapshot, TopicInfo } from '../../src/metadata/types.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';
import { nodeIds } from '../../src/runtime/node/node-ids.ts';
import { until } from '../helpers/until.ts';

function topic(name: string): TopicInfo {
  return { name, id: newTopicId(ulid()), partitions: [{ partition: 0, replicas: [1, 2, 3], leader: 1, leaderEpoch: 0, isr: [1, 2, 3] }], config: {}, createdAt: 1 };
}

const open = (kv: MemoryKv) => MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds, writeVisibilityTimeoutMs: 2_000 });

test('writes the bucket lost are written back, and no snapshot ever shows the lost state', async () => {
  const kv = new MemoryKv();
  const a = await open(kv);
  const b = await open(kv);
  try {
    await a.createTopic(topic('kept'));
    const durable = kv.revision;
    await a.createTopic(topic('lost'));
    await a.updateTopic('kept', (t) => {
      t.partitions[0]!.leader = 2;
      t.partitions[0]!.leaderEpoch = 1;
      t.partitions[0]!.isr = [2, 3];
    });
    await a.deleteTopic('lost');
    await b.createTopic(topic('lost-again'));
    await until('both stores see every write', () => b.snapshot().topics['lost-again'] !== undefined && a.snapshot().topics['lost-again'] !== undefined, 2_000);
    const seen: ClusterSnapshot[] = [];
    a.subscribe((next) => seen.push(next));
    b.subscribe((next) => seen.push(next));

    kv.rewind(durable); // the update of 'kept', the create and delete of 'lost' and the create of 'lost-again' are gone
    assert.is((await kv.get(topicKey('lost-again'))), null, 'the bucket lost the create');

    await until('the lost create written back', async () => (await kv.get(topicKey('lost-again'))) !== null, 3_000);
    const kept = JSON.parse(Buffer.from((await kv.get(topicKey('kept')))!.value).toString()) as TopicInfo;
    assert.equal([kept.partitions[0]!.leader, kept.partitions[0]!.leaderEpoch, kept.partitions[0]!.isr], [2, 1, [2, 3]], 'the lost leader change written back');
    assert.is(await kv.get(topicKey('lost')), null, 'a deleted topic stays deleted');
    await until('both stores moved to the repaired bucket', () => a.snapshot().revision > durable && b.snapshot().revision > durable, 3_000);
    for (const s of [...seen, a.snapshot(), b.snapshot()]) {
      assert.ok(s.topics['lost-again'], 'never a snapshot without the lost create');
      assert.is(s.topics['kept']!.partitions[0]!.leaderEpoch, 1, 'never a snapshot with the leader epoch gone back');
      assert.is(s.topics['lost'], undefined);
    }
    // The stores follow the bucket again: a later write is seen by both.
    await b.updateTopic('lost-again', (t) => void (t.config['retention.ms'] = '1000'));
    await until('a write after the repair reaches the other store', () => a.snapshot().topics['lost-again']?.config['retention.ms'] === '1000', 2_000);
  } finally {
    await a.close();
    await b.close();
  }
});

test('a store that restarted after a deletion writes the lost delete back, and a create through it waits for the repair', async () => {
  // Simulation seed 499: a broker restarted after `churn` was deleted knows no revision of the key; the bucket
  // lost the delete; its repair wrote nothing for the key, its snapshot showed the deleted incarnation again,
  // and a CreateTopics through it was refused with TOPIC_ALREADY_EXISTS.
  const kv = new MemoryKv();
  const a = await open(kv);
  let b: MetadataStore | null = null;
  try {
    await a.createTopic(topic('churn'));
    const durable = kv.revision;
    await a.deleteTopic('churn');
    b = await open(kv); // starts after the delete: its replay has no trace of `churn`
    const seen: ClusterSnapshot[] = [];
    b.subscribe((next) => seen.push(next));
    await a.close();

    kv.rewind(durable); // the delete is lost: the bucket holds the deleted incarnation again
    assert.ok(await kv.get(topicKey('churn')), 'the bucket lost the delete');
    const again = topic('churn');
    await b.createTopic(again); // TopicExistsError before: the store saw the key exist and did not wait
    assert.is(JSON.parse(Buffer.from((await kv.get(topicKey('churn')))!.value).toString()).id, again.id, 'the new incarnation is stored');
    for (const s of seen) assert.ok(s.topics['churn'] === undefined || s.topics['churn'].id === again.id, 'never a snapshot with the deleted incarnation');
  } finally {
    await a.close();
    await b?.close();
  }
});

test('a read-modify-write on a key the bucket holds older than the snapshot does is refused until repaired', async () => {
  const kv = new MemoryKv();
  const a = await open(kv);
  try {
    await a.createTopic(topic('t'));
    const durable = kv.revision;
    await a.updateTopic('t', (t) => void (t.partitions[0]!.leaderEpoch = 5));
    kv.rewind(durable);
    // Right after the rewind the store may not have repaired yet; whichever way, the epoch never goes back to 1.
    const after = await a.updateTopic('t', (t) => void (t.partitions[0]!.leaderEpoch += 1));
    assert.is(after.partitions[0]!.leaderEpoch, 6, 'the update applied to the repaired value, not to the lost state');
  } finally {
    await a.close();
  }
});

test.run();
