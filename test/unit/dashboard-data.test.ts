// The dashboard's data helpers: how a record's bytes are shown (text, JSON, hex, truncated), the record
// browser's query parsing, the bounds of the lag history, and which paths name dev actions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { showBytes, SHOWN_BYTES } from '../../src/dashboard/record-browser.ts';
import { recordPageQuery } from '../../src/dashboard/dashboard-server.ts';
import { LagHistory, MAX_SAMPLES, MAX_GROUPS, FORGET_AFTER_MS } from '../../src/dashboard/lag-history.ts';
import { devRequestOf } from '../../src/dashboard/dev-routes.ts';
import type { GroupView } from '../../src/dashboard/cluster-view.ts';

test('bytes are shown as text, pretty JSON, hex or null', () => {
  assert.equal(showBytes(null), { kind: 'null', text: '', size: 0, truncated: false });
  assert.equal(showBytes(Buffer.from('héllo')), { kind: 'text', text: 'héllo', size: 6, truncated: false });
  assert.equal(showBytes(Buffer.from('{"a":[1]}')), { kind: 'json', text: '{\n  "a": [\n    1\n  ]\n}', size: 9, truncated: false });
  assert.is(showBytes(Buffer.from('{not json')).kind, 'text');
  assert.is(showBytes(Buffer.from('42')).kind, 'text', 'a bare number stays text');
  assert.equal(showBytes(Buffer.from([0xff, 0x00, 0x10])), { kind: 'hex', text: 'ff 00 10', size: 3, truncated: false });
});

test('long fields are cut at SHOWN_BYTES, a multi-byte character cut in two still text', () => {
  const long = showBytes(Buffer.from('é'.repeat(SHOWN_BYTES)));
  assert.is(long.kind, 'text');
  assert.ok(long.truncated);
  assert.is(long.size, SHOWN_BYTES * 2);
  assert.ok(Buffer.byteLength(long.text) <= SHOWN_BYTES);
  const json = showBytes(Buffer.from(`{"v":"${'x'.repeat(SHOWN_BYTES)}"}`));
  assert.is(json.kind, 'text', 'a cut JSON value is shown as text');
  const bin = showBytes(Buffer.alloc(SHOWN_BYTES + 10, 0xff));
  assert.is(bin.kind, 'hex');
  assert.ok(bin.truncated);
});

test('the record query: where to start, bounds and mistakes', () => {
  const q = (s: string) => recordPageQuery(new URLSearchParams(s));
  assert.equal(q('topic=t&partition=2&from=offset&offset=5&limit=10'), { topic: 't', partition: 2, from: { offset: 5n }, limit: 10, waitMs: 0 });
  assert.equal(q('topic=t&from=timestamp&timestamp=1000'), { topic: 't', partition: 0, from: { timestamp: 1000 }, limit: 50, waitMs: 0 });
  assert.equal((q('topic=t&from=end&waitMs=2000') as { from: unknown }).from, 'end');
  assert.is(q('partition=1'), 'topic is required');
  assert.is(q('topic=t&partition=-1'), 'partition must be a partition number');
  assert.is(q('topic=t&from=offset&offset=x'), 'offset must be a non-negative integer');
  assert.match(q('topic=t&from=later') as string, /from must be/);
});

const group = (groupId: string, lag: number): GroupView => ({
  groupId,
  coordinator: 1,
  state: 'Stable',
  generation: 1,
  members: 1,
  lag,
  partitions: [{ topic: 't', partition: 0, committed: 0, highWatermark: lag, lag }],
});

test('lag history keeps the last samples per group, a bounded number of groups, and forgets silent ones', () => {
  const h = new LagHistory();
  for (let i = 0; i < MAX_SAMPLES + 20; i++) h.sample([group('g', i)], i * 1000);
  const s = h.series('g')!;
  assert.is(s.samples.length, MAX_SAMPLES);
  assert.equal(s.samples.at(-1), { at: (MAX_SAMPLES + 19) * 1000, lag: { 't-0': MAX_SAMPLES + 19 } });
  for (let i = 0; i < MAX_GROUPS + 5; i++) h.sample([group(`x${i}`, 1)], 500_000);
  assert.is(h.series(`x${MAX_GROUPS + 4}`), null, 'groups past the bound are not kept');
  h.sample([group('x0', 0)], 500_000 + FORGET_AFTER_MS + 1);
  assert.is(h.series('g'), null, 'a group unreported for long is forgotten');
  assert.ok(h.series('x0'));
});

test('dev action paths', () => {
  assert.equal(devRequestOf('/api/dev/brokers/2/kill'), { kind: 'broker', brokerId: 2, action: 'kill' });
  assert.equal(devRequestOf('/api/dev/produce'), { kind: 'produce' });
  assert.is((devRequestOf('/api/dev/brokers/2/explode') as { kind: string }).kind, 'unknown');
  assert.is(devRequestOf('/api/cluster'), null);
});

test.run();
