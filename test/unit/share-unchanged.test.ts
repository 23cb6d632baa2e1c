// shareUnchanged: a decoded metadata value keeps the previous value's objects wherever they are deep-equal, so
// subscribers see identity changes only where something changed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { shareUnchanged } from '../../src/metadata/share-unchanged.ts';

const topic = (isr1: number[], extra: Record<string, unknown> = {}) => ({
  name: 't',
  partitions: [
    { partition: 0, leader: 1, replicas: [1, 2, 3], isr: [1, 2, 3] },
    { partition: 1, leader: 2, replicas: [2, 3, 1], isr: isr1 },
  ],
  configs: { 'cleanup.policy': 'delete' },
  ...extra,
});

test('a deep-equal value is the old one', () => {
  const old = Object.freeze(topic([2, 3, 1]));
  assert.is(shareUnchanged(old, topic([2, 3, 1])), old);
});

test('only the changed path gets new objects; the rest are the old ones', () => {
  const old = topic([2, 3, 1]);
  const next = shareUnchanged(old, topic([2, 3]));
  assert.is.not(next, old);
  assert.is(next.partitions[0], old.partitions[0]);
  assert.is.not(next.partitions[1], old.partitions[1]);
  assert.is(next.partitions[1]!.replicas, old.partitions[1]!.replicas);
  assert.equal(next.partitions[1]!.isr, [2, 3]);
  assert.is(next.configs, old.configs);
  assert.equal(old.partitions[1]!.isr, [2, 3, 1], 'the old value is not touched');
});

test('added, removed and reordered parts', () => {
  const old = topic([2, 3, 1]);
  const added = shareUnchanged(old, topic([2, 3, 1], { id: 'x' }));
  assert.is.not(added, old);
  assert.is(added.partitions, old.partitions);
  const removed = shareUnchanged(added, topic([2, 3, 1]));
  assert.is.not(removed, added);
  assert.equal(Object.keys(removed).sort(), ['configs', 'name', 'partitions']);
  const grown = topic([2, 3, 1]);
  grown.partitions.push({ partition: 2, leader: 3, replicas: [3, 1, 2], isr: [3] });
  const g = shareUnchanged(old, grown);
  assert.is.not(g.partitions, old.partitions);
  assert.is(g.partitions[1], old.partitions[1]);
  const shrunk = shareUnchanged(g, topic([2, 3, 1]));
  assert.is.not(shrunk.partitions, g.partitions);
  assert.is(shrunk.partitions[0], g.partitions[0]);
  // The same keys in another order are the same value.
  const reordered = { configs: { 'cleanup.policy': 'delete' }, partitions: topic([2, 3, 1]).partitions, name: 't' };
  assert.is(shareUnchanged(old, reordered), old);
  // A primitive changing type, an array becoming an object: the new value.
  assert.equal(shareUnchanged({ a: [1] }, { a: { 0: 1 } }), { a: { 0: 1 } });
  assert.equal(shareUnchanged({ a: 1 }, { a: '1' }), { a: '1' });
});

test.run();
