// The e2e latency bench's pure parts (bench/e2e-load.ts): the recorder of arrivals (duplicates and strays counted
// apart, percentiles over a range, the producer-ack split) and kcat's line format, written and read back through
// a line reader fed in arbitrary chunks. The links themselves run against real brokers in `npm run bench -- e2e`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LatencyRecorder, kcatLines, parseKcatLine, lineReader } from '../../bench/e2e-load.ts';

test('recorder: one latency per sequence number; a duplicate or a stray is counted, never recorded', () => {
  const rec = new LatencyRecorder(4);
  rec.arrive(0, 10, 11);
  rec.arrive(1, 10, 12);
  rec.arrive(1, 10, 99);
  rec.arrive(7, 10, 12);
  rec.arrive(-1, 10, 12);
  assert.is(rec.consumed, 2);
  assert.is(rec.duplicates, 1);
  assert.is(rec.strays, 2);
  assert.equal(Array.from(rec.latency.subarray(0, 2)), [1, 2]);
});

test('recorder: percentiles over [from, to) only, and the producer-ack part where acks were reported', () => {
  const rec = new LatencyRecorder(1000);
  for (let i = 0; i < 1000; i++) rec.arrive(i, 0, i < 100 ? 5000 : i - 99);
  rec.acked(100, 900, 0, 0.5);
  const s = rec.stats(100, 1000);
  assert.is(s.p50_ms, 450);
  assert.is(s.p99_ms, 891);
  assert.is(s.p999_ms, 900);
  assert.is(s.max_ms, 900);
  assert.is(s.produce_ack_p50_ms, 0.5);
  const none = new LatencyRecorder(2);
  none.arrive(0, 0, 1);
  assert.is(none.stats(0, 1).produce_ack_p99_ms, null);
});

test('recorder: waitFor resolves once every record arrived and fails with the counts after its deadline', async () => {
  const rec = new LatencyRecorder(3);
  const done = rec.waitFor(3, 5_000, () => null);
  for (let i = 0; i < 3; i++) rec.arrive(i, 0, 1);
  await done;
  const short = new LatencyRecorder(3);
  short.arrive(0, 0, 1);
  try {
    await short.waitFor(3, 0, () => null);
    assert.unreachable('a missing record must fail the wait');
  } catch (err) {
    assert.match((err as Error).message, '1/3 records consumed');
  }
  try {
    await short.waitFor(3, 5_000, () => new Error('producer failed'));
    assert.unreachable('a link failure must fail the wait');
  } catch (err) {
    assert.is((err as Error).message, 'producer failed');
  }
});

test('kcat lines: record-sized, newline-terminated, read back to sequence and stamp through any chunking', () => {
  const text = kcatLines(41, 3, 1234.56789, 64);
  const lines = text.split('\n').slice(0, -1);
  assert.is(lines.length, 3);
  for (const l of lines) assert.is(l.length, 63);
  const seen: Array<{ seq: number; sentAt: number }> = [];
  const feed = lineReader((line) => seen.push(parseKcatLine(line)));
  const bytes = Buffer.from(text, 'latin1');
  for (let at = 0; at < bytes.length; at += 7) feed(bytes.subarray(at, at + 7));
  assert.equal(seen, [41, 42, 43].map((seq) => ({ seq, sentAt: 1234.5679 })));
});

test.run();
