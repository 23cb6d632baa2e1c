// kcat load generator (bench/kcat-load.ts): the argument lists given to kcat, the input file's shape, and the
// parser of kcat's per-record size output. kcat itself runs against Kastor in the benchmarks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, existsSync } from 'node:fs';
import {
  kcatProduceArgs,
  kcatConsumeArgs,
  kcatErrorLines,
  kcatInputFile,
  kcatCleanup,
  SizeLineCounter,
} from '../../bench/kcat-load.ts';

const base = { brokers: '127.0.0.1:9092,127.0.0.1:9093', topic: 'orders', records: 1000, recordBytes: 100 } as const;

/** The value following each `-X` as a property map. */
function props(args: string[]): Map<string, string> {
  const out = new Map<string, string>();
  args.forEach((a, i) => {
    if (a === '-X') {
      const [k, v] = args[i + 1]!.split('=');
      out.set(k!, v!);
    }
  });
  return out;
}

test('produce: mode, brokers, topic, acks, linger, batching, and the input file last after -l', () => {
  const args = kcatProduceArgs({ ...base, acks: -1, lingerMs: 2 }, '/tmp/in.txt');
  assert.equal(args.slice(0, 5), ['-P', '-b', '127.0.0.1:9092,127.0.0.1:9093', '-t', 'orders']);
  assert.equal(args.slice(-2), ['-l', '/tmp/in.txt']);
  const p = props(args);
  assert.is(p.get('acks'), '-1');
  assert.is(p.get('linger.ms'), '2');
  assert.is(p.get('batch.num.messages'), '10000');
  assert.is(p.get('queue.buffering.max.messages'), '100000');
  assert.ok(Number(p.get('message.timeout.ms')) > 0);
  assert.not.ok(args.includes('-p'));
  assert.not.ok(args.includes('-q'), 'the producer must keep verbosity 1 to report failed deliveries');
});

test('produce: defaults, acks 0 and 1, one partition pinned, a queue big enough for the run, extra args before the file', () => {
  const one = kcatProduceArgs({ ...base, records: 3_000_000, acks: 1, partitions: 1, extra: ['-X', 'compression.codec=lz4'] }, 'f');
  assert.is(props(one).get('acks'), '1');
  assert.is(props(one).get('linger.ms'), '5');
  assert.is(props(one).get('queue.buffering.max.messages'), '3000000');
  assert.is(props(one).get('compression.codec'), 'lz4');
  assert.equal(one.slice(one.indexOf('-p'), one.indexOf('-p') + 2), ['-p', '0']);
  assert.equal(one.slice(-2), ['-l', 'f']);
  assert.is(props(kcatProduceArgs({ ...base, acks: 0, partitions: 6 }, 'f')).get('acks'), '0');
  assert.not.ok(kcatProduceArgs({ ...base, acks: 0, partitions: 6 }, 'f').includes('-p'));
});

test('produce: bad shapes are refused before kcat runs', () => {
  assert.throws(() => kcatProduceArgs({ ...base, acks: 2 as 1 }, 'f'), /acks/);
  assert.throws(() => kcatProduceArgs({ ...base, acks: 1, records: 0 }, 'f'), /records/);
  assert.throws(() => kcatProduceArgs({ ...base, acks: 1, recordBytes: 1 }, 'f'), /recordBytes/);
});

test('consume: from the beginning, quiet, one size per line; -c and -e by default, either alone on request, -p when given', () => {
  const both = kcatConsumeArgs({ brokers: 'b:1', topic: 't', records: 10 });
  assert.equal(both, ['-C', '-b', 'b:1', '-t', 't', '-o', 'beginning', '-c', '10', '-e', '-q', '-f', '%S\\n']);
  const eof = kcatConsumeArgs({ brokers: 'b:1', topic: 't', records: 10, until: 'eof' });
  assert.equal(eof, ['-C', '-b', 'b:1', '-t', 't', '-o', 'beginning', '-e', '-q', '-f', '%S\\n']);
  const count = kcatConsumeArgs({ brokers: 'b:1', topic: 't', records: 10, partition: 3, until: 'count' });
  assert.equal(count, ['-C', '-b', 'b:1', '-t', 't', '-p', '3', '-o', 'beginning', '-c', '10', '-q', '-f', '%S\\n']);
});

test('input file: records lines of recordBytes-1 distinct printable bytes, made once, removed by cleanup', () => {
  const path = kcatInputFile(1000, 100);
  try {
    assert.is(kcatInputFile(1000, 100), path);
    const text = readFileSync(path, 'latin1');
    assert.is(text.length, 1000 * 100);
    const lines = text.split('\n');
    assert.is(lines.pop(), '');
    assert.is(lines.length, 1000);
    assert.ok(lines.every((l) => l.length === 99 && /^[0-9a-z]+$/.test(l)));
    assert.is(new Set(lines).size, 1000);
    assert.is(readFileSync(kcatInputFile(3, 2), 'latin1'), '0\n1\n2\n');
  } finally {
    kcatCleanup();
  }
  assert.is(existsSync(path), false);
});

test('size output: counts lines and bytes across chunk boundaries, flags wrong sizes, null values and partial lines', () => {
  const c = new SizeLineCounter(99);
  const out = Buffer.from('99\n99\n9');
  c.push(out);
  assert.is(c.partial, true);
  c.push(Buffer.from('9\n-1\n12\n'));
  assert.is(c.lines, 5);
  assert.is(c.bytes, 99 * 3 + 12);
  assert.is(c.wrongSize, 2);
  assert.is(c.partial, false);
  assert.throws(() => new SizeLineCounter().push(Buffer.from('hello\n')), /unexpected byte/);
});

test('stderr: failed deliveries and client errors are errors, informational lines are not', () => {
  const stderr = [
    '%5|1.0|MOCK|rdkafka#producer-1| [thrd:app]: Mock cluster enabled',
    '% Delivery failed for message: Broker: Not enough in-sync replicas',
    '% ERROR: Local: All broker connections are down: 1/1 brokers are down: terminating',
    '',
  ].join('\n');
  assert.equal(kcatErrorLines(stderr), [
    '% Delivery failed for message: Broker: Not enough in-sync replicas',
    '% ERROR: Local: All broker connections are down: 1/1 brokers are down: terminating',
  ]);
});

test.run();
