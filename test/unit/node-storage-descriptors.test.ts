// NodeStorage within a budget of open descriptors (src/runtime/node/descriptor-pool.ts): files beyond it have
// their descriptors closed while idle and reopened by path on their next use, with every byte intact; files
// renamed, renamed over, unlinked or under a removed directory keep their descriptors; a partition log of many
// segments works within a budget smaller than its file count. Real files in a temp dir, descriptors counted in
// /proc/self/fd.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PartitionLog } from '../../src/log/partition-log.ts';
import { NodeStorage } from '../../src/runtime/node/node-storage.ts';
import { defaultDescriptorBudget } from '../../src/runtime/node/descriptor-pool.ts';
import type { StorageFile } from '../../src/log/storage.ts';
import { batchOf, recordsIn, tempDir } from '../helpers/log-fixtures.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';

const openFds = () => readdirSync('/proc/self/fd').length;
const text = (b: Buffer) => b.toString('utf8');
/** Lets the pool's asynchronous closes of evicted descriptors finish. */
const closesSettle = () => new Promise((r) => setTimeout(r, 20));

test('20 files on a budget of 4: descriptors stay within it, every read, write, sync, size and truncate works', async () => {
  const { dir, cleanup } = tempDir('fd-budget');
  const storage = new NodeStorage({ maxOpenFiles: 4 });
  const files: StorageFile[] = [];
  try {
    const before = openFds();
    for (let i = 0; i < 20; i++) {
      const f = await storage.open(join(dir, `f${i}`), { create: true });
      await f.write(Buffer.from(`file ${i} `), 0);
      // Large writes go through the thread pool, as do reads of bytes this handle did not write lately.
      await f.write(Buffer.alloc(100_000, 65 + (i % 26)), 10);
      files.push(f);
    }
    await closesSettle();
    assert.ok(openFds() - before <= 4, `${openFds() - before} descriptors open for a budget of 4`);
    assert.ok(storage.pool.evictions >= 16, `${storage.pool.evictions} evictions`);
    for (let i = 0; i < 20; i++) {
      assert.is(text(await files[i]!.read(0, `file ${i} `.length)), `file ${i} `);
      const big = await files[i]!.read(10, 100_000);
      assert.is(big.length, 100_000);
      assert.ok(big.every((c) => c === 65 + (i % 26)));
      assert.is(await files[i]!.size(), 100_010);
    }
    await Promise.all(files.map((f) => f.sync()));
    await files[3]!.truncate(7);
    assert.is(await files[3]!.size(), 7);
    assert.is(readFileSync(join(dir, 'f3'), 'utf8'), 'file 3 ');
    await closesSettle();
    assert.ok(openFds() - before <= 4, `${openFds() - before} descriptors open after reads and syncs`);
    for (const f of files) await f.close();
    await closesSettle();
    assert.is(openFds(), before);
    const err = await files[0]!.read(0, 1).then(() => null, (e: Error) => e);
    assert.match(String(err), /closed/);
  } finally {
    await Promise.allSettled(files.map((f) => f.close()));
    cleanup();
  }
});

test('renamed, renamed-over, unlinked and removed files keep their bytes behind their handles on a budget of 1', async () => {
  const { dir, cleanup } = tempDir('fd-paths');
  const storage = new NodeStorage({ maxOpenFiles: 1 });
  try {
    const a = await storage.open(join(dir, 'a'), { create: true });
    await a.write(Buffer.from('alpha'), 0);
    const b = await storage.open(join(dir, 'b'), { create: true }); // evicts a
    await b.write(Buffer.from('bravo'), 0);
    // a's descriptor was closed; after the rename it is reopened by its new path.
    await storage.rename(join(dir, 'a'), join(dir, 'c'));
    const other = await storage.open(join(dir, 'other'), { create: true }); // evicts again
    await a.write(Buffer.from('!'), 5);
    assert.is(text(await a.read(0, 6)), 'alpha!');
    assert.is(readFileSync(join(dir, 'c'), 'utf8'), 'alpha!');

    // Renamed over: b's file is no longer at any path; its handle still reads it.
    await storage.rename(join(dir, 'c'), join(dir, 'b'));
    await other.read(0, 1);
    assert.is(text(await b.read(0, 5)), 'bravo');
    assert.is(text(await a.read(0, 6)), 'alpha!');

    // Unlinked, and under a removed directory.
    await storage.unlink(join(dir, 'b'));
    assert.is(text(await a.read(0, 6)), 'alpha!');
    mkdirSync(join(dir, 'sub'));
    const s = await storage.open(join(dir, 'sub', 's'), { create: true });
    await s.write(Buffer.from('sierra'), 0);
    await other.read(0, 1);
    await storage.removeDir(join(dir, 'sub'));
    assert.is(text(await s.read(0, 6)), 'sierra');
    for (const f of [a, b, s, other]) await f.close();
  } finally {
    cleanup();
  }
});

test('a partition log of 30 segments on a budget of 8 descriptors appends, reads, reopens', async () => {
  const { dir: root, cleanup } = tempDir('fd-log');
  try {
    const dir = join(root, 'orders-0');
    const storage = new NodeStorage({ maxOpenFiles: 8 });
    const one = batchOf('b00', 2).length;
    const config = { segmentBytes: one * 2, flush: 'always' as const, indexIntervalBytes: 50 };
    const log = await PartitionLog.open({ clock: nodeClock, dir, storage, config });
    for (let i = 0; i < 60; i++) await log.append(batchOf(`b${String(i).padStart(2, '0')}`, 2), 1);
    log.setHighWatermark(120);
    assert.ok(readdirSync(dir).filter((n) => n.endsWith('.log')).length >= 30);
    assert.ok(storage.pool.evictions > 0);
    assert.equal(recordsIn((await log.read(3, 1)).data)[0], [2, 'b01-0']);
    assert.equal(recordsIn((await log.read(118, 1)).data).at(-1), [119, 'b59-1']);
    await log.close();
    const again = await PartitionLog.open({ clock: nodeClock, dir, storage, config });
    assert.is(again.logEndOffset, 120);
    assert.equal(recordsIn((await again.read(61, 1)).data)[0], [60, 'b30-0']);
    await again.close();
  } finally {
    cleanup();
  }
});

test('the default budget is half the soft open-file limit', () => {
  const limits = (soft: string) => `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                20000                files\n`;
  assert.is(defaultDescriptorBudget(limits('20000')), 10_000);
  assert.is(defaultDescriptorBudget(limits('1024')), 512);
  assert.is(defaultDescriptorBudget(limits('unlimited')), 524_288);
  assert.is(defaultDescriptorBudget('nothing here'), 512);
  assert.ok(defaultDescriptorBudget() >= 64);
});

test.run();
