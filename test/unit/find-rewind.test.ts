// findRewind (src/runtime/node/nats-kv-watch.ts): how a resubscribing NATS KV watch tells, from what it delivered
// and every key's last write now, that the bucket lost writes, and up to where it is known whole.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findRewind, type KeyWrite } from '../../src/runtime/node/nats-kv-watch.ts';

const w = (revision: number, time = revision * 10): KeyWrite => ({ revision, time });
const map = (entries: Record<string, KeyWrite>) => new Map(Object.entries(entries));

// Delivered: a@1, b@2, c@4 (over its write at 3), d@5.
const delivered = map({ a: w(1), b: w(2), c: w(4), d: w(5) });

test('nothing lost: the same last writes, or newer ones after the last delivered revision', () => {
  assert.is(findRewind(delivered, map({ a: w(1), b: w(2), c: w(4), d: w(5) }), 5), null);
  assert.is(findRewind(delivered, map({ a: w(6), b: w(2), c: w(4), d: w(5), e: w(7) }), 5), null);
});

test('a delivered write the bucket no longer holds: the key older, missing, or its revision reused', () => {
  // c went back to its write at 3 (made before the loss: it is no later than the last delivered write).
  assert.is(findRewind(delivered, map({ a: w(1), b: w(2), c: w(3), d: w(5) }), 5), 3);
  assert.is(findRewind(map({ a: w(1), b: w(2), c: w(4) }), map({ a: w(1), b: w(2), c: w(3) }), 4), 3);
  assert.is(findRewind(map({ a: w(1), b: w(2), c: w(4) }), map({ a: w(1), b: w(2) }), 4), 2);
  // Revision 4 handed out again after the restart, to the same key: another timestamp.
  assert.is(findRewind(map({ a: w(1), b: w(2), c: w(4) }), map({ a: w(1), b: w(2), c: w(4, 999) }), 4), 2);
});

test('a write the watch would have delivered but never saw: the bucket handed a lost revision out again', () => {
  // Lost: c@3, d@4; after the restart e took revision 3 (timestamped later than anything delivered).
  assert.is(findRewind(map({ a: w(1), b: w(2), c: w(3), d: w(4) }), map({ a: w(1), b: w(2), e: w(3, 100) }), 4), 2);
  // ... or a newer write of a delivered key, at a revision the watch had already passed.
  assert.is(findRewind(map({ a: w(1), b: w(2), c: w(3), d: w(4) }), map({ a: w(3, 100), b: w(2) }), 4), 2);
});

test('the revision returned never reaches past the first evidence, nor past writes made after the loss', () => {
  // b was lost at 2 and its key written again after the restart at 5 (newer than delivered: no evidence by itself),
  // a post-restart write took 2 elsewhere: only a@1 is known kept.
  assert.is(findRewind(map({ a: w(1), b: w(2) }), map({ a: w(1), b: w(5, 100), x: w(2, 90) }), 2), 1);
  // Nothing known kept: 0.
  assert.is(findRewind(map({ a: w(1) }), map({}), 1), 0);
});

test.run();
