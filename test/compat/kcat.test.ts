// kcat (librdkafka) against a live broker process: metadata, keyed and unkeyed produce of 100k messages,
// and consumption from the beginning, checked record by record.
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

test.run();
