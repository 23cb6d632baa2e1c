// The crash-test checker (src/testing/checker.ts) on hand-made histories and replica directories: a clean
// history passes, and each kind of broken promise is reported (and only it).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkHistory, compareReplicaLogs, type ReadRecord, type SentRecord } from '../../src/testing/checker.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch.ts';

const T = 't';
const sent = (id: string, partition: number, seq: number, status: SentRecord['status'], offset?: number, mayRetry = false): SentRecord => ({
  id,
  topic: T,
  partition,
  producer: 'p1',
  seq,
  status,
  offset,
  mayRetry,
});
const read = (partition: number, offset: number, value: string): ReadRecord => ({ topic: T, partition, offset, value });

/** p0: a0..a3 acked at 0..3; p1: b0 acked at 0, b1 failed (absent), b2 unacked but written at 1. */
function cleanHistory() {
  return {
    sent: [
      sent('a0', 0, 0, 'acked', 0),
      sent('a1', 0, 1, 'acked', 1),
      sent('a2', 0, 2, 'acked', 2),
      sent('a3', 0, 3, 'acked', 3),
      sent('b0', 1, 0, 'acked', 0),
      sent('b1', 1, 1, 'failed'),
      sent('b2', 1, 2, 'unacked'),
    ],
    read: [read(0, 0, 'a0'), read(0, 1, 'a1'), read(0, 2, 'a2'), read(0, 3, 'a3'), read(1, 0, 'b0'), read(1, 1, 'b2')],
    highWatermarks: { 't-0': 4, 't-1': 2 },
  };
}

const kinds = (r: ReturnType<typeof checkHistory>) => r.violations.map((v) => v.kind).sort();

test('a clean history passes; unacknowledged records may be present or absent', () => {
  const r = checkHistory(cleanHistory());
  assert.ok(r.ok, JSON.stringify(r.violations));
  assert.equal(r.stats, { sent: 7, acked: 5, failed: 1, unacked: 1, read: 6, unackedPresent: 1, retryDuplicates: 0 });
});

test('an acknowledged record missing is "lost"', () => {
  const h = cleanHistory();
  h.read = h.read.filter((r) => r.value !== 'a3'); // the tail lost, so no gap either
  h.highWatermarks['t-0'] = 3;
  const r = checkHistory(h);
  assert.equal(kinds(r), ['lost']);
  assert.is(r.violations[0]!.id, 'a3');
  assert.is(r.violations[0]!.offset, 3);
});

test('an acknowledged record at another offset than acknowledged is "wrong-offset"', () => {
  const h = cleanHistory();
  h.sent[4] = sent('b0', 1, 0, 'acked', 5);
  assert.equal(kinds(checkHistory(h)), ['wrong-offset']);
});

test('a record read twice is a "duplicate" unless its producer may have retried it', () => {
  const h = cleanHistory();
  h.read.push(read(0, 4, 'a1'));
  h.highWatermarks['t-0'] = 5;
  const r = checkHistory(h);
  assert.equal(kinds(r), ['duplicate']);
  assert.match(r.violations[0]!.message, /a1 appears at 1, 4/);

  h.sent[1] = sent('a1', 0, 1, 'acked', 1, true);
  const allowed = checkHistory(h);
  assert.ok(allowed.ok, JSON.stringify(allowed.violations));
  assert.is(allowed.stats.retryDuplicates, 1);
});

test('order broken within a partition (per producer) is "order"; another producer interleaving is fine', () => {
  const h = cleanHistory();
  // a1 and a2 swapped in the log, acknowledged offsets unknown (e.g. kcat).
  h.sent[1] = { ...sent('a1', 0, 1, 'acked'), offset: undefined };
  h.sent[2] = { ...sent('a2', 0, 2, 'acked'), offset: undefined };
  h.read[1] = read(0, 1, 'a2');
  h.read[2] = read(0, 2, 'a1');
  const r = checkHistory(h);
  assert.equal(kinds(r), ['order']);
  assert.is(r.violations[0]!.id, 'a1');

  const other = cleanHistory();
  other.sent.push({ ...sent('c0', 0, 0, 'acked', 4), producer: 'p2' });
  other.sent.push({ ...sent('a4', 0, 4, 'acked', 5) });
  other.read.push(read(0, 4, 'c0'), read(0, 5, 'a4'));
  other.highWatermarks['t-0'] = 6;
  assert.ok(checkHistory(other).ok);
});

test('non-contiguous offsets are "offset-gap" (a hole, and an offset read twice)', () => {
  const h = cleanHistory();
  h.read = h.read.map((r) => (r.partition === 0 && r.offset >= 2 ? { ...r, offset: r.offset + 1 } : r));
  h.sent[2] = { ...h.sent[2]!, offset: 3 };
  h.sent[3] = { ...h.sent[3]!, offset: 4 };
  h.highWatermarks['t-0'] = 5;
  const r = checkHistory(h);
  assert.equal(kinds(r), ['offset-gap']);
  assert.match(r.violations[0]!.message, /offsets 2\.\.2 missing/);

  const twice = cleanHistory();
  twice.read.push(read(1, 1, 'b2'));
  assert.ok(kinds(checkHistory(twice)).includes('offset-gap'));

  const late = cleanHistory();
  late.read = late.read.filter((r) => !(r.partition === 0 && r.offset === 0));
  late.sent[0] = sent('a0', 0, 0, 'failed');
  assert.equal(kinds(checkHistory(late)), ['offset-gap']); // starts at 1, log start 0
  assert.ok(checkHistory({ ...late, logStartOffsets: { 't-0': 1 } }).ok);
});

test('a read that stops below the high watermark is "short-read"; records nobody sent are "unexpected"', () => {
  const h = cleanHistory();
  h.highWatermarks['t-0'] = 6;
  assert.equal(kinds(checkHistory(h)), ['short-read']);

  const u = cleanHistory();
  u.read.push(read(0, 4, 'zz'), read(0, 5, 'b0'));
  u.highWatermarks['t-0'] = 6;
  const r = checkHistory(u);
  assert.equal(kinds(r), ['unexpected', 'unexpected']);
  assert.match(r.violations.map((v) => v.message).join('\n'), /b0 was sent to t-1 but read from t-0@5/);
});

test('idOf extracts the id from a larger value; a value it rejects is unexpected', () => {
  const h = cleanHistory();
  h.read = h.read.map((r) => ({ ...r, value: JSON.stringify({ id: r.value, pad: 'x' }) }));
  const idOf = (v: string) => {
    try {
      return (JSON.parse(v) as { id: string }).id;
    } catch {
      return null;
    }
  };
  assert.ok(checkHistory({ ...h, idOf }).ok);
  h.read.push(read(1, 2, 'not json'));
  h.highWatermarks['t-1'] = 3;
  assert.equal(kinds(checkHistory({ ...h, idOf })), ['unexpected']);
});

// --- replica logs ---------------------------------------------------------------------------------------

const batch = (baseOffset: number, values: string[], epoch = 0) =>
  buildRecordBatch({ baseOffset, partitionLeaderEpoch: epoch, timestamp: 1_700_000_000_000, records: values.map((value) => ({ value })) });

function replicaDirs(contents: Buffer[][]): { root: string; dirs: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'kastor-checker-test-'));
  const dirs = contents.map((segments, i) => {
    const dir = join(root, `broker-${i + 1}`, 't-0');
    mkdirSync(dir, { recursive: true });
    // One segment per given buffer, named by its first batch's base offset (as the log names them).
    for (const seg of segments) writeFileSync(join(dir, `${String(seg.readUInt32BE(4)).padStart(20, '0')}.log`), seg);
    return dir;
  });
  return { root, dirs };
}

test('compareReplicaLogs: identical replicas pass, bytes past the HW are ignored, segments are concatenated', () => {
  const b0 = batch(0, ['a', 'b']);
  const b2 = batch(2, ['c']);
  const b3 = batch(3, ['d']);
  const other = batch(3, ['D'], 1);
  const { root, dirs } = replicaDirs([[Buffer.concat([b0, b2, b3])], [b0, Buffer.concat([b2, other])], [Buffer.concat([b0, b2, Buffer.from('torn tail')])]]);
  try {
    const r = compareReplicaLogs(dirs, 3);
    assert.ok(r.ok, JSON.stringify(r.violations));
    assert.is(r.batches.get(dirs[1]!)!.length, 2);
    // At HW 4 the third replica is short and the second differs.
    const r4 = compareReplicaLogs(dirs, 4);
    assert.equal(r4.violations.map((v) => `${v.kind} ${v.dir === dirs[1] ? 2 : v.dir === dirs[2] ? 3 : 1}`).sort(), ['differs 2', 'torn 3']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('compareReplicaLogs: one flipped byte below the HW, a missing batch, a different leader epoch stamp', () => {
  const b0 = batch(0, ['a', 'b']);
  const b2 = batch(2, ['c']);
  const flipped = Buffer.from(b2);
  flipped[flipped.length - 1] ^= 1;
  const { root, dirs } = replicaDirs([[Buffer.concat([b0, b2])], [Buffer.concat([b0, flipped])], [b0], [Buffer.concat([b0, batch(2, ['c'], 7)])]]);
  try {
    const r = compareReplicaLogs(dirs, 3);
    const byDir = (i: number) => r.violations.filter((v) => v.dir === dirs[i]).map((v) => v.kind);
    assert.equal(byDir(0), []);
    assert.equal(byDir(1), ['differs']);
    assert.equal(byDir(2), ['missing']);
    assert.equal(byDir(3), ['differs']);
    assert.is(r.violations.find((v) => v.dir === dirs[1])!.offset, 2);
    // The report names what differs: the records of one, the leader epoch stamp of the other.
    assert.match(r.violations.find((v) => v.dir === dirs[1])!.message, /: records;/);
    assert.match(r.violations.find((v) => v.dir === dirs[3])!.message, /: partitionLeaderEpoch; partitionLeaderEpoch 7 vs 0/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
