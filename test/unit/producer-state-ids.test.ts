// Producer ids (KIP-98): blocks reserved in the metadata bucket by compare-and-set never overlap, even
// when brokers reserve at the same time; a broker's allocator hands ids out of its block and reserves the
// next one when it runs out, concurrent callers sharing one reservation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryKv } from '../../src/metadata/memory-kv.ts';
import { MetadataStore } from '../../src/metadata/metadata-store.ts';
import { PRODUCER_IDS_KEY } from '../../src/metadata/metadata-keys.ts';
import { ProducerIdAllocator } from '../../src/producer-state/producer-id-allocator.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';
import { nodeIds } from '../../src/runtime/node/node-ids.ts';

test('concurrent block reservations from several stores are disjoint and contiguous', async () => {
  const kv = new MemoryKv();
  const stores = await Promise.all([1, 2, 3].map(() => MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds, maxUpdateAttempts: 64 })));
  try {
    const blocks = await Promise.all(stores.flatMap((s, i) => [0, 1, 2, 3].map(() => s.reserveProducerIdBlock(i + 1, 1000))));
    const starts = blocks.map((b) => b.start).sort((a, b) => a - b);
    assert.equal(starts, Array.from({ length: 12 }, (_, i) => i * 1000));
    for (const b of blocks) assert.is(b.end - b.start, 1000);
    const stored = JSON.parse(Buffer.from((await kv.get(PRODUCER_IDS_KEY))!.value).toString());
    assert.is(stored.nextBlockStart, 12_000);
    assert.equal(stores[0]!.snapshot().topics, {}, 'the key is not part of the cluster snapshot');
  } finally {
    for (const s of stores) await s.close();
  }
});

test('the allocator hands out a block, then reserves the next; concurrent callers share a reservation', async () => {
  let reservations = 0;
  let next = 0;
  const alloc = new ProducerIdAllocator(async () => {
    reservations++;
    const start = next;
    next += 3;
    return { start, end: start + 3 };
  });
  const ids = await Promise.all(Array.from({ length: 7 }, () => alloc.allocate()));
  assert.equal([...ids].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6]);
  assert.is(reservations, 3);
});

test('a failed reservation fails the caller and the next call tries again', async () => {
  let fail = true;
  const alloc = new ProducerIdAllocator(async () => {
    if (fail) throw new Error('bucket unavailable');
    return { start: 10, end: 20 };
  });
  let err: Error | null = null;
  await alloc.allocate().catch((e: Error) => (err = e));
  assert.match(String(err), /bucket unavailable/);
  fail = false;
  assert.is(await alloc.allocate(), 10);
});

test.run();
