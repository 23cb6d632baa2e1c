// The leader epoch cache follows Kafka's LeaderEpochFileCache: monotonic assign, OffsetForLeaderEpoch
// answers, truncation from either end, persistence in leader-epoch-checkpoint.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LeaderEpochCache, UNDEFINED_EPOCH } from '../../src/log/leader-epoch-cache.ts';
import { MemoryStorage } from '../../src/log/memory-storage.ts';

async function cache(leo: { v: number }, storage = new MemoryStorage()) {
  await storage.mkdir('/p');
  return { c: await LeaderEpochCache.load(storage, '/p/leader-epoch-checkpoint', () => leo.v), storage };
}

test('assign keeps entries monotonic and ignores repeats', async () => {
  const leo = { v: 0 };
  const { c } = await cache(leo);
  assert.is(c.latestEpoch(), UNDEFINED_EPOCH);
  assert.ok(c.assign(1, 0));
  assert.not.ok(c.assign(1, 5), 'same epoch, later offset: no change');
  assert.ok(c.assign(3, 10));
  assert.ok(c.assign(5, 20));
  assert.equal(c.entries(), [{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 10 }, { epoch: 5, startOffset: 20 }]);
  // A lower epoch or an earlier start offset removes the entries it contradicts (Kafka's behaviour).
  assert.ok(c.assign(4, 15));
  assert.equal(c.entries(), [{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 10 }, { epoch: 4, startOffset: 15 }]);
  assert.ok(c.assign(6, 12));
  assert.equal(c.entries(), [{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 10 }, { epoch: 6, startOffset: 12 }]);
});

test('endOffsetFor answers as OffsetForLeaderEpoch', async () => {
  const leo = { v: 30 };
  const { c } = await cache(leo);
  c.assign(1, 0);
  c.assign(3, 10);
  c.assign(5, 20);
  assert.equal(c.endOffsetFor(5), { epoch: 5, endOffset: 30 }, 'latest epoch ends at the log end');
  assert.equal(c.endOffsetFor(3), { epoch: 3, endOffset: 20 });
  assert.equal(c.endOffsetFor(4), { epoch: 3, endOffset: 20 }, 'unknown epoch: largest epoch below it, ending where the next starts');
  assert.equal(c.endOffsetFor(0), { epoch: 0, endOffset: 0 }, 'below the first epoch');
  assert.equal(c.endOffsetFor(9), { epoch: -1, endOffset: -1 }, 'above the latest');
  assert.equal(c.endOffsetFor(-1), { epoch: -1, endOffset: -1 });
  leo.v = 42;
  assert.equal(c.endOffsetFor(5), { epoch: 5, endOffset: 42 });
});

test('truncateFromEnd / truncateFromStart and persistence', async () => {
  const leo = { v: 30 };
  const { c, storage } = await cache(leo);
  c.assign(1, 0);
  c.assign(3, 10);
  c.assign(5, 20);
  assert.ok(c.truncateFromEnd(20));
  assert.equal(c.entries().map((e) => e.epoch), [1, 3]);
  assert.not.ok(c.truncateFromEnd(25));
  assert.ok(c.truncateFromStart(12));
  assert.equal(c.entries(), [{ epoch: 3, startOffset: 12 }]);
  await c.persist();
  assert.is(storage.contents('/p/leader-epoch-checkpoint').toString(), '0\n1\n3 12\n');
  const reloaded = (await cache(leo, storage)).c;
  assert.equal(reloaded.entries(), [{ epoch: 3, startOffset: 12 }]);
});

test.run();
