// kcat (librdkafka) against a live broker process: metadata, keyed and unkeyed produce of 100k messages,
// and consumption from the beginning, checked record by record; and librdkafka speaking Kafka 0.8-0.10's protocol
// (message formats v0/v1: Produce v0-v2, Fetch v0-v3, ListOffsets v0) with and without gzip.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startSingleBroker, run, type SingleBroker } from '../helpers/single-broker.ts';
import { partitionForKey } from '../../src/client/partitioner.ts';

let env: SingleBroker;

test.before(async () => {
  env = await startSingleBroker(['--num-partitions', '3']);
});
test.after(async () => {
  await env?.close();
});

function lines(n: number, fn: (i: number) => string): string {
  const out: string[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = fn(i);
  return out.join('\n') + '\n';
}

test('kcat -P unkeyed 100k messages to one partition, -C reads them back in order', async () => {
  const n = 100_000;
  await run('kcat', ['-P', '-b', env.bootstrap, '-t', 'kcat-unkeyed', '-p', '0', '-X', 'linger.ms=5'], { input: lines(n, (i) => `value-${i}`) });
  const { stdout } = await run('kcat', ['-C', '-b', env.bootstrap, '-t', 'kcat-unkeyed', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o %s\n']);
  const got = stdout.trimEnd().split('\n');
  assert.is(got.length, n);
  for (let i = 0; i < n; i++) {
    if (got[i] !== `${i} value-${i}`) assert.unreachable(`record ${i}: expected "${i} value-${i}", got "${got[i]}"`);
  }
});

test('kcat -P keyed messages: each key stays on one partition, in order; -L lists the topic', async () => {
  const n = 30_000;
  const keys = 50;
  await run('kcat', ['-P', '-b', env.bootstrap, '-t', 'kcat-keyed', '-K', ':', '-X', 'partitioner=murmur2_random'], {
    input: lines(n, (i) => `key-${i % keys}:${i}`),
  });
  const meta = await run('kcat', ['-L', '-b', env.bootstrap, '-t', 'kcat-keyed']);
  assert.match(meta.stdout, /topic "kcat-keyed" with 3 partitions/);
  assert.match(meta.stdout, /broker 1 at 127\.0\.0\.1:\d+/);
  const { stdout } = await run('kcat', ['-C', '-b', env.bootstrap, '-t', 'kcat-keyed', '-o', 'beginning', '-e', '-q', '-f', '%p %o %k %s\n']);
  const rows = stdout.trimEnd().split('\n').map((l) => l.split(' '));
  assert.is(rows.length, n);
  const partitionOfKey = new Map<string, string>();
  const lastValueOfKey = new Map<string, number>();
  const nextOffset = new Map<string, number>();
  const seen = new Set<number>();
  for (const [p, o, k, v] of rows) {
    if (partitionOfKey.has(k) && partitionOfKey.get(k) !== p) assert.unreachable(`key ${k} on partitions ${partitionOfKey.get(k)} and ${p}`);
    partitionOfKey.set(k, p);
    const value = Number(v);
    if ((lastValueOfKey.get(k) ?? -1) >= value) assert.unreachable(`key ${k} out of order at value ${value}`);
    lastValueOfKey.set(k, value);
    if (Number(o) !== (nextOffset.get(p) ?? 0)) assert.unreachable(`partition ${p}: offset ${o} after ${(nextOffset.get(p) ?? 0) - 1}`);
    nextOffset.set(p, Number(o) + 1);
    seen.add(value);
  }
  assert.is(seen.size, n);
  assert.ok(new Set(partitionOfKey.values()).size > 1, 'keys spread over more than one partition');
  // librdkafka's murmur2 partitioner, the Java client's and Kastor's agree key by key.
  for (const [k, p] of partitionOfKey) assert.is(Number(p), partitionForKey(k, 3), `partition of ${k}`);
});

test('kcat as a 0.8/0.9/0.10 client (api.version.request=false): message formats v0 and v1, plain and gzip, both ways', async () => {
  for (const [fallback, codec] of [['0.8.2.2', 'gzip'], ['0.9.0.0', 'none'], ['0.9.0.0', 'gzip'], ['0.10.0.0', 'none'], ['0.10.0.0', 'gzip']] as const) {
    const topic = `kcat-legacy-${fallback.replace(/\./g, '_')}-${codec}`;
    const legacy = ['-X', 'api.version.request=false', '-X', `broker.version.fallback=${fallback}`];
    await run('kcat', ['-P', '-b', env.bootstrap, '-t', topic, '-p', '0', '-z', codec, '-K', ':', ...legacy], { input: 'k1:v1\nk2:v2\n:v3\n' });
    const format = ['-o', 'beginning', '-e', '-q', '-f', '%o %k %s %T\n'];
    const old = await run('kcat', ['-C', '-b', env.bootstrap, '-t', topic, '-p', '0', ...format, ...legacy]);
    const now = await run('kcat', ['-C', '-b', env.bootstrap, '-t', topic, '-p', '0', ...format]);
    const rows = (out: string) => out.trimEnd().split('\n').map((l) => l.split(' '));
    const expected = [['0', 'k1', 'v1'], ['1', 'k2', 'v2'], ['2', '', 'v3']];
    assert.equal(rows(old.stdout).map((r) => r.slice(0, 3)), expected, `${fallback} ${codec} read back by itself`);
    assert.equal(rows(now.stdout).map((r) => r.slice(0, 3)), expected, `${fallback} ${codec} read back by a current client`);
    // 0.10 (message format v1) carries the producer's timestamps; 0.8/0.9 (v0) none: -1 stored, 0 shown by a v0 reader.
    const ts = rows(now.stdout).map((r) => Number(r[3]));
    if (fallback === '0.10.0.0') assert.ok(ts.every((t) => t > 1_600_000_000_000), `timestamps ${ts}`);
    else assert.equal(ts, [-1, -1, -1]);
  }
});

test.run();
