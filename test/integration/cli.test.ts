// The `kastor` command end to end, spawned as an operator runs it (node bin/kastor.js ...) against a live
// broker: topic create/list/describe/delete/alter, produce from stdin and a file, consume in each format and from
// each start, cluster status; bad flags exit 2 with one line, an unreachable cluster exits 1 with a clear one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runProcess, type ProcessResult } from '../helpers/run-process.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSingleBroker, type SingleBroker } from '../helpers/single-broker.ts';
import { partitionForKey } from '../../src/client/index.ts';

const bin = fileURLToPath(new URL('../../bin/kastor.js', import.meta.url));
let env: SingleBroker;
let dir: string;

type Result = ProcessResult;

function kastor(args: string[], input = '', timeoutMs = 30_000): Promise<Result> {
  return runProcess(process.execPath, [bin, ...args], { input, timeoutMs });
}

const ok = async (args: string[], input = ''): Promise<Result> => {
  const r = await kastor([...args, '--bootstrap', env.bootstrap], input);
  assert.is(r.code, 0, `kastor ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
};

test.before(async () => {
  env = await startSingleBroker(['--auto-create-topics=false']);
  dir = mkdtempSync(join(tmpdir(), 'kastor-cli-test-'));
});
test.after(async () => {
  await env?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('topic create, list, describe (text and JSON) and delete', async () => {
  assert.match((await ok(['topic', 'create', 'orders', '--partitions', '3', '--replication-factor', '1', '--config', 'retention.ms=3600000', '--config=max.message.bytes=2000000'])).stdout, 'created topic orders');
  const again = await kastor(['topic', 'create', 'orders', '--partitions', '3', '--bootstrap', env.bootstrap]);
  assert.is(again.code, 1);
  assert.match(again.stderr, 'TOPIC_ALREADY_EXISTS');
  assert.is((await ok(['topic', 'create', 'orders', '--partitions', '3', '--if-not-exists'])).code, 0);
  await ok(['topic', 'create', '--topic', 'scratch', '--partitions', '1']);
  assert.equal((await ok(['topic', 'list'])).stdout.trim().split('\n'), ['orders', 'scratch']);
  assert.equal(JSON.parse((await ok(['topic', 'list', '--json'])).stdout), ['orders', 'scratch']);
  const text = (await ok(['topic', 'describe', 'orders'])).stdout;
  assert.match(text, /Topic: orders\tTopicId: [0-9a-f]{32}\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: \S*retention.ms=3600000/);
  assert.match(text, 'max.message.bytes=2000000');
  assert.match(text, 'Partition: 2\tLeader: 1\tReplicas: 1\tIsr: 1');
  const [described] = JSON.parse((await ok(['topic', 'describe', 'orders', '--json'])).stdout);
  assert.is(described.name, 'orders');
  assert.equal(described.partitions.map((p: { partition: number; leader: number; isr: number[] }) => [p.partition, p.leader, p.isr]), [[0, 1, [1]], [1, 1, [1]], [2, 1, [1]]]);
  assert.is(described.configs['retention.ms'].value, '3600000');
  assert.match((await ok(['topic', 'delete', 'scratch'])).stdout, 'deleted topic scratch');
  assert.equal((await ok(['topic', 'list'])).stdout.trim().split('\n'), ['orders']);
  assert.match((await ok(['topic', 'alter', 'orders', '--partitions', '5'])).stdout, 'topic orders now has 5 partitions');
  const grown = (await ok(['topic', 'describe', 'orders'])).stdout;
  assert.match(grown, 'PartitionCount: 5\t');
  assert.match(grown, 'Partition: 4\tLeader: 1\tReplicas: 1\tIsr: 1');
  const lower = await kastor(['topic', 'alter', 'orders', '--partitions', '2', '--bootstrap', env.bootstrap]);
  assert.is(lower.code, 1);
  assert.match(lower.stderr, 'INVALID_PARTITIONS (topic orders): Topic currently has 5 partitions, which is higher than the requested 2.');
});

test('produce key<TAB>value lines from stdin, consume them back as JSON, key-value and values', async () => {
  await ok(['topic', 'create', 'kv', '--partitions', '3']);
  const lines = Array.from({ length: 30 }, (_, i) => `key-${i}\tvalue ${i}`);
  const produced = await ok(['produce', '--topic', 'kv', '--key-separator', 'TAB', '--acks', '1'], lines.join('\n') + '\n');
  assert.match(produced.stderr, 'produced 30 records to kv');
  assert.is(produced.stdout, '');
  const json = (await ok(['consume', '--topic', 'kv', '--from-beginning', '--exit-at-end', '--format', 'json'])).stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.is(json.length, 30);
  for (const r of json) {
    const i = Number(r.key.slice(4));
    assert.is(r.value, `value ${i}`);
    assert.is(r.partition, partitionForKey(r.key, 3), 'the CLI partitions keys as partitionForKey');
    assert.type(r.offset, 'number');
    assert.type(r.timestamp, 'number');
    assert.equal(r.headers, []);
  }
  const perPartition = new Map<number, number[]>();
  for (const r of json) perPartition.set(r.partition, [...(perPartition.get(r.partition) ?? []), r.offset]);
  for (const offsets of perPartition.values()) assert.equal(offsets, offsets.map((_, i) => i), 'offsets in order from 0 per partition');
  const kv = (await ok(['consume', '--topic', 'kv', '--from-beginning', '--exit-at-end', '--format', 'key-value'])).stdout.trim().split('\n');
  assert.equal(kv.sort(), [...lines].sort());
  const two = (await ok(['consume', '--topic', 'kv', '--from-beginning', '--max', '2'])).stdout.trim().split('\n');
  assert.is(two.length, 2);
  assert.ok(two.every((v) => /^value \d+$/.test(v)));
});

test('produce from --file with gzip and acks=all; consume one partition from an offset and from a timestamp', async () => {
  await ok(['topic', 'create', 'file', '--partitions', '1']);
  const path = join(dir, 'input.txt');
  writeFileSync(path, Array.from({ length: 12 }, (_, i) => `line ${i}`).join('\n') + '\n');
  await ok(['produce', '--topic', 'file', '--file', path, '--compression', 'gzip', '--acks', 'all']);
  const fromOffset = (await ok(['consume', '--topic', 'file', '--partition', '0', '--offset', '9', '--exit-at-end'])).stdout;
  assert.is(fromOffset, 'line 9\nline 10\nline 11\n');
  const before = Date.now();
  await ok(['produce', '--topic', 'file'], 'late 1\nlate 2\n');
  const fromTime = (await ok(['consume', '--topic', 'file', '--timestamp', String(before), '--exit-at-end'])).stdout;
  assert.is(fromTime, 'late 1\nlate 2\n');
  const latestOnly = await ok(['consume', '--topic', 'file', '--exit-at-end']);
  assert.is(latestOnly.stdout, '', 'without a start flag only new records are read');
});

test('cluster status shows brokers, controller and partition health (text and JSON)', async () => {
  const text = (await ok(['cluster', 'status'])).stdout;
  assert.match(text, 'Controller: 1');
  assert.match(text, `1\t${env.bootstrap}\t(controller)`);
  assert.match(text, 'Under-replicated partitions: 0');
  assert.match(text, 'Offline partitions: 0');
  const status = JSON.parse((await ok(['cluster', 'status', '--json'])).stdout);
  assert.is(status.controllerId, 1);
  assert.equal(status.brokers.map((b: { nodeId: number }) => b.nodeId), [1]);
  assert.ok(status.partitions >= 4);
  assert.equal(status.underReplicatedPartitions, []);
  assert.equal(status.offlinePartitions, []);
});

test('bad usage exits 2 with one line; an unreachable cluster exits 1 with a clear message; --help', async () => {
  const usage = [
    ['topic', 'frobnicate'],
    ['topic', 'create', 'x', '--partitions', 'many'],
    ['topic', 'list', '--nope'],
    ['produce'],
    ['produce', '--topic', 't', '--acks', '2'],
    ['consume', '--topic', 't', '--format', 'xml'],
    ['consume', '--topic', 't', '--from-beginning', '--offset', '3'],
    ['cluster', 'health'],
    ['topic', 'list', '--bootstrap', 'nohost'],
  ];
  const unreachable = [['topic', 'list'], ['cluster', 'status'], ['consume', '--topic', 't'], ['produce', '--topic', 't']];
  const help = ['topic', 'produce', 'consume', 'cluster'];
  // Independent processes, four at a time (each spends most of its time loading TypeScript; seventeen at once
  // on a loaded 2-core machine took one past its 30 s deadline).
  const runs: Array<() => Promise<Result>> = [
    ...usage.map((args) => () => kastor(args)),
    ...unreachable.map((cmd) => () => kastor([...cmd, '--bootstrap', '127.0.0.1:1'], 'x\n')),
    ...help.map((cmd) => () => kastor([cmd, '--help'])),
  ];
  const results: Result[] = [];
  for (let i = 0; i < runs.length; i += 4) results.push(...(await Promise.all(runs.slice(i, i + 4).map((run) => run()))));
  const usageResults = results.slice(0, usage.length);
  const unreachableResults = results.slice(usage.length, usage.length + unreachable.length);
  const helpResults = results.slice(usage.length + unreachable.length);
  usageResults.forEach((r, i) => {
    const args = usage[i]!.join(' ');
    assert.is(r.code, 2, `kastor ${args}: ${r.stderr}`);
    assert.is(r.stderr.trim().split('\n').length, 1, `one line for kastor ${args}: ${r.stderr}`);
    assert.match(r.stderr, /^kastor: /);
  });
  assert.match(usageResults[0]!.stderr, 'unknown topic subcommand "frobnicate"');
  unreachableResults.forEach((r, i) => {
    assert.is(r.code, 1, `kastor ${unreachable[i]!.join(' ')} against nothing: ${r.stderr}`);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, 'kastor: no Kafka broker reachable: 127.0.0.1:1');
  });
  helpResults.forEach((r, i) => {
    assert.is(r.code, 0);
    assert.match(r.stdout, `kastor ${help[i]}`);
    assert.match(r.stdout, '--bootstrap');
  });
});

test.run();
