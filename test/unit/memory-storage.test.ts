// MemoryStorage's crash model, which the log's durability tests rely on: synced bytes survive, unsynced
// appends are lost or torn to a prefix, unsynced overwrites/truncations of synced bytes are undone, and
// handles opened before a crash are dead.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStorage } from '../../src/log/memory-storage.ts';
import { StorageError } from '../../src/log/errors.ts';
import { rejects } from '../helpers/log-fixtures.ts';

test('crash keeps synced bytes, drops or tears unsynced ones, undoes unsynced overwrites', async () => {
  const s = new MemoryStorage();
  await s.mkdir('/d');
  const f = await s.open('/d/a', { create: true });
  await f.write(Buffer.from('hello'), 0);
  await f.sync();
  await f.write(Buffer.from(' world'), 5);
  assert.is((await f.read(0, 100)).toString(), 'hello world');
  s.crash();
  assert.is(s.contents('/d/a').toString(), 'hello');
  await rejects(() => f.read(0, 1), (e) => e instanceof StorageError, 'old handles die in a crash');

  const g = await s.open('/d/a');
  await g.write(Buffer.from('12345678'), 5);
  s.crash({ keepUnsynced: (_p, n) => n / 2 });
  assert.is(s.contents('/d/a').toString(), 'hello1234', 'a torn tail keeps a prefix');

  const h = await s.open('/d/a');
  await h.write(Buffer.from('J'), 0);
  await h.truncate(2);
  s.crash();
  assert.is(s.contents('/d/a').toString(), 'hello1234', 'unsynced overwrite and truncate undone');
});

test('directory operations: list, rename, unlink, removeDir, missing files', async () => {
  const s = new MemoryStorage();
  await s.mkdir('/x/y');
  const f = await s.open('/x/y/b.tmp', { create: true });
  await f.write(Buffer.from('v'), 0);
  await f.sync();
  await s.rename('/x/y/b.tmp', '/x/y/b');
  assert.equal(await s.list('/x/y'), ['b']);
  assert.is(await s.size('/x/y/b'), 1);
  await rejects(() => s.open('/x/y/missing'), (e) => e instanceof StorageError && e.facts.code === 'ENOENT');
  await s.unlink('/x/y/b');
  assert.equal(await s.list('/x/y'), []);
  await s.removeDir('/x');
  assert.not.ok(await s.exists('/x/y'));
});

test.run();
