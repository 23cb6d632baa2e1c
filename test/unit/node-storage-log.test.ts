// The partition log on real files (NodeStorage) in a temp dir: append, close, reopen, read back; then a
// torn tail made by truncating the file mid-batch is cut on reopen. And NodeStorage's files themselves: small
// writes and reads of recent bytes run synchronously, the rest through the thread pool, with the same bytes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { truncateSync, statSync, existsSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { PartitionLog } from '../../src/log/partition-log.ts';
import { NodeStorage, SYNC_IO_MAX_BYTES, RECENT_WRITE_BYTES } from '../../src/runtime/node/node-storage.ts';
import { batchOf, recordsIn, tempDir } from '../helpers/log-fixtures.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';

test('append, close, reopen, read back; torn tail cut on reopen', async () => {
  const { dir: root, cleanup } = tempDir('node-log');
  try {
    const dir = join(root, 'orders-3');
    const storage = new NodeStorage();
    const one = batchOf('n00', 4).length;
    const config = { segmentBytes: one * 5, flush: 'always' as const, indexIntervalBytes: 100 };
    const log = await PartitionLog.open({ clock: nodeClock, dir, storage, config });
    for (let i = 0; i < 12; i++) await log.append(batchOf(`n${String(i).padStart(2, '0')}`, 4), 2);
    log.setHighWatermark(40);
    await log.close();
    const files = readdirSync(dir).sort();
    assert.ok(files.includes('00000000000000000000.log') && files.includes('00000000000000000020.index') && files.includes('00000000000000000040.timeindex'), files.join(','));
    assert.ok(files.includes('leader-epoch-checkpoint') && files.includes('recovery-point-checkpoint') && files.includes('high-watermark-checkpoint'));

    const again = await PartitionLog.open({ clock: nodeClock, dir, storage, config });
    assert.is(again.logEndOffset, 48);
    assert.is(again.highWatermark, 40);
    assert.equal(again.epochs.entries(), [{ epoch: 2, startOffset: 0 }]);
    assert.equal(recordsIn((await again.read(45, 1)).data), [[44, 'n11-0'], [45, 'n11-1'], [46, 'n11-2'], [47, 'n11-3']]);
    assert.equal(recordsIn((await again.read(21, 1)).data)[0], [20, 'n05-0']);
    await again.close();

    // Tear the last batch (recovery point is behind it once we rewind the checkpoint).
    const last = join(dir, '00000000000000000040.log');
    truncateSync(last, statSync(last).size - 10);
    writeFileSync(join(dir, 'recovery-point-checkpoint'), '0\n1\n40\n');
    const warnings: Array<{ msg: string; facts: any }> = [];
    const third = await PartitionLog.open({ clock: nodeClock, dir, storage, config, onWarning: (msg, facts) => warnings.push({ msg, facts }) });
    assert.is(third.logEndOffset, 44);
    assert.is(statSync(last).size, one, 'file cut at the last valid batch');
    assert.ok(warnings.some((w) => w.msg.includes('torn') && w.facts.file === last));
    assert.is((await third.append(batchOf('n99', 1), 2)).baseOffset, 44);
    await third.delete();
    assert.not.ok(existsSync(dir));
  } finally {
    cleanup();
  }
});

test('resetTo empties the log on disk and starts it at a later offset; a reopen finds it there', async () => {
  const { dir: root, cleanup } = tempDir('node-log-reset');
  try {
    const dir = join(root, 'orders-0');
    const storage = new NodeStorage();
    const config = { segmentBytes: batchOf('x', 4).length * 2 };
    const log = await PartitionLog.open({ clock: nodeClock, dir, storage, config });
    for (let i = 0; i < 5; i++) await log.append(batchOf(`r${i}`, 4), 1);
    log.setHighWatermark(20);
    await log.resetTo(100);
    assert.is(log.logStartOffset, 100);
    assert.is(log.logEndOffset, 100);
    assert.is(log.highWatermark, 100);
    assert.equal(log.epochs.entries(), []);
    assert.equal(readdirSync(dir).filter((f) => f.endsWith('.log')), ['00000000000000000100.log']);
    await log.append(batchOf('after', 2), 3);
    await log.close();
    const again = await PartitionLog.open({ clock: nodeClock, dir, storage, config });
    assert.is(again.logStartOffset, 100);
    assert.is(again.logEndOffset, 102);
    assert.equal(again.epochs.entries(), [{ epoch: 3, startOffset: 100 }]);
    assert.equal(recordsIn((await again.read(100, 1 << 20)).data), [[100, 'after-0'], [101, 'after-1']]);
    await again.close();
  } finally {
    cleanup();
  }
});

test('NodeStorage files: small and large writes, recent and older reads, truncation and reopen give the same bytes', async () => {
  const { dir, cleanup } = tempDir('node-file');
  try {
    const path = join(dir, 'f.log');
    const storage = new NodeStorage();
    const file = await storage.open(path, { create: true });
    let image = Buffer.alloc(0);
    const put = async (data: Buffer): Promise<void> => {
      const at = image.length;
      await file.write(data, at);
      image = Buffer.concat([image, data]);
    };
    const small = randomBytes(100);
    const pending = file.write(small, 0);
    // The small write ran on the event loop: the bytes are in the file before its promise settles.
    assert.equal(readFileSync(path), small);
    await pending;
    image = small;
    await put(randomBytes(SYNC_IO_MAX_BYTES * 3 + 7)); // through the thread pool
    for (let i = 0; i < 200; i++) await put(randomBytes(1 + ((i * 7919) % 3000)));
    await put(randomBytes(RECENT_WRITE_BYTES + 12_345)); // pushes the first writes out of the recent range
    for (let i = 0; i < 50; i++) await put(randomBytes(SYNC_IO_MAX_BYTES - i));

    const check = async (f: typeof file, position: number, length: number): Promise<void> => {
      const got = await f.read(position, length);
      assert.ok(got.equals(image.subarray(position, position + length)), `read ${length} at ${position} of ${image.length}`);
    };
    const probes: Array<[number, number]> = [
      [0, 100], [50, 100], [0, SYNC_IO_MAX_BYTES * 4], [image.length - 10, 10], [image.length - 10, 1000], [image.length, 50],
      [image.length - SYNC_IO_MAX_BYTES, SYNC_IO_MAX_BYTES], [image.length - RECENT_WRITE_BYTES - 5, 300], [image.length - 3_000_000, SYNC_IO_MAX_BYTES + 1],
    ];
    for (const [position, length] of probes) await check(file, position, length);

    await file.truncate(image.length - 70_000);
    image = image.subarray(0, image.length - 70_000);
    await check(file, image.length - 100, 5000);
    await put(randomBytes(777));
    await check(file, image.length - 2000, 2000);
    assert.is(await file.size(), image.length);
    await file.truncate(0);
    image = Buffer.alloc(0);
    await check(file, 0, 10);
    await put(randomBytes(4096));
    await check(file, 1000, 100);
    await put(randomBytes(SYNC_IO_MAX_BYTES * 2));
    await file.close();

    assert.ok(readFileSync(path).equals(image));
    const reopened = await storage.open(path);
    for (const [position, length] of [[0, 4096], [1000, 100], [4096, SYNC_IO_MAX_BYTES * 2], [image.length - 10, 100]] as Array<[number, number]>) await check(reopened, position, length);
    await reopened.close();
  } finally {
    cleanup();
  }
});

test.run();
