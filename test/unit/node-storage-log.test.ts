// The partition log on real files (NodeStorage) in a temp dir: append, close, reopen, read back; then a
// torn tail made by truncating the file mid-batch is cut on reopen.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { truncateSync, statSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PartitionLog } from '../../src/log/partition-log.ts';
import { NodeStorage } from '../../src/log/node-storage.ts';
import { batchOf, recordsIn, tempDir } from '../helpers/log-fixtures.ts';

test('append, close, reopen, read back; torn tail cut on reopen', async () => {
  const { dir: root, cleanup } = tempDir('node-log');
  try {
    const dir = join(root, 'orders-3');
    const storage = new NodeStorage();
    const one = batchOf('n00', 4).length;
    const config = { segmentBytes: one * 5, flush: 'always' as const, indexIntervalBytes: 100 };
    const log = await PartitionLog.open({ dir, storage, config });
    for (let i = 0; i < 12; i++) await log.append(batchOf(`n${String(i).padStart(2, '0')}`, 4), 2);
    log.setHighWatermark(40);
    await log.close();
    const files = readdirSync(dir).sort();
    assert.ok(files.includes('00000000000000000000.log') && files.includes('00000000000000000020.index') && files.includes('00000000000000000040.timeindex'), files.join(','));
    assert.ok(files.includes('leader-epoch-checkpoint') && files.includes('recovery-point-checkpoint') && files.includes('high-watermark-checkpoint'));

    const again = await PartitionLog.open({ dir, storage, config });
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
    const third = await PartitionLog.open({ dir, storage, config, onWarning: (msg, facts) => warnings.push({ msg, facts }) });
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
    const log = await PartitionLog.open({ dir, storage, config });
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
    const again = await PartitionLog.open({ dir, storage, config });
    assert.is(again.logStartOffset, 100);
    assert.is(again.logEndOffset, 102);
    assert.equal(again.epochs.entries(), [{ epoch: 3, startOffset: 100 }]);
    assert.equal(recordsIn((await again.read(100, 1 << 20)).data), [[100, 'after-0'], [101, 'after-1']]);
    await again.close();
  } finally {
    cleanup();
  }
});

test.run();
