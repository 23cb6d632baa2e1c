// The sparse index file behind both segment indexes: entries appended or truncated while a persist's write is
// in flight end up in the file as memory holds them after the next persist (a flush persists the active
// segment's index while appends go on, and a restart resumes recovery from it: Segment.resumeAt).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStorage } from '../../src/log/memory-storage.ts';
import type { StorageFile } from '../../src/log/storage.ts';
import { OffsetIndex } from '../../src/log/offset-index.ts';

const PATH = '/d/00000000000000000000.index';

/** The file, with writes held until release() while `hold` is set. */
async function gatedFile(storage: MemoryStorage): Promise<{ file: StorageFile; hold: () => void; release: () => void }> {
  await storage.mkdir('/d');
  const file = await storage.open(PATH, { create: true });
  const write = file.write.bind(file);
  let gate: Promise<void> | null = null;
  let open: () => void = () => {};
  file.write = async (data, position) => {
    if (gate) await gate;
    return write(data, position);
  };
  return {
    file,
    hold: () => void (gate = new Promise((r) => (open = r))),
    release: () => {
      gate = null;
      open();
    },
  };
}

async function reloaded(storage: MemoryStorage): Promise<Array<{ offset: number; position: number }>> {
  const index = new OffsetIndex(0, await storage.open(PATH), PATH);
  assert.is(await index.load(1 << 30), null, 'the file loads');
  const out = [];
  for (let o = 0; o < 100; o++) {
    const e = index.floorEntry(o);
    if (e && e.offset === o) out.push(e);
  }
  return out;
}

test('entries appended while a persist writes are written by the next persist, none skipped', async () => {
  const storage = new MemoryStorage();
  const { file, hold, release } = await gatedFile(storage);
  const index = new OffsetIndex(0, file, PATH);
  for (let i = 0; i < 3; i++) index.append(i * 10, i * 100);
  hold();
  const first = index.persist();
  for (let i = 3; i < 5; i++) index.append(i * 10, i * 100);
  release();
  await first;
  await index.persist();
  assert.equal(await reloaded(storage), [0, 1, 2, 3, 4].map((i) => ({ offset: i * 10, position: i * 100 })));
});

test('a truncation while a persist writes: the next persist cuts what the write put past it', async () => {
  const storage = new MemoryStorage();
  const { file, hold, release } = await gatedFile(storage);
  const index = new OffsetIndex(0, file, PATH);
  for (let i = 0; i < 2; i++) index.append(i * 10, i * 100);
  await index.persist();
  for (let i = 2; i < 5; i++) index.append(i * 10, i * 100);
  hold();
  const first = index.persist();
  index.truncateToPosition(300);
  index.append(35, 350);
  release();
  await first;
  await index.persist();
  assert.equal(await reloaded(storage), [
    { offset: 0, position: 0 },
    { offset: 10, position: 100 },
    { offset: 20, position: 200 },
    { offset: 35, position: 350 },
  ]);
});

test.run();
