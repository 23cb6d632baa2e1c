// The pure parts of Kafka's scripts (src/cli/kafka-tools): joptsimple's option syntax (abbreviations, =value,
// repeats, optional values, the errors), Java properties files for --command-config, --command-config's
// PLAINTEXT-only rule, Kafka's topic include lists, topic ids as Kafka prints them, and --reset-offsets'
// times and durations.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ToolError, connectionOptions, parseOptions, parseProperties, type OptionSpecs } from '../../src/cli/kafka-tools/options.ts';
import { includeList, kafkaTopicId } from '../../src/cli/kafka-tools/topics.ts';
import { parseDateTime, parseDuration } from '../../src/cli/kafka-tools/consumer-groups-reset.ts';

const SPECS: OptionSpecs = {
  list: { description: '' },
  topic: { value: 'topic', description: '' },
  'topic-id': { value: 'id', description: '' },
  config: { value: 'k=v', repeats: true, description: '' },
  state: { value: 'state', optionalValue: true, description: '' },
};

const refused = (argv: string[], message: string | RegExp) => {
  try {
    parseOptions(SPECS, argv);
  } catch (err) {
    assert.instance(err, ToolError);
    assert.match((err as Error).message, message);
    return;
  }
  assert.unreachable(`${argv.join(' ')} should be refused`);
};

test('options: --name value, --name=value, prefixes, repeats, a value that looks like an option', () => {
  const o = parseOptions(SPECS, ['--bootstrap', 'h:1', '--topic=a=b', '--config', 'x=1', '--config=y=2', '--li']);
  assert.is(o.value('bootstrap-server'), 'h:1', 'a unique prefix stands for the whole name');
  assert.is(o.value('topic'), 'a=b', 'only the first = separates the value');
  assert.equal(o.all('config'), ['x=1', 'y=2']);
  assert.ok(o.has('list'));
  assert.not.ok(o.has('topic-id'));
  assert.is(parseOptions(SPECS, ['--topic', '--list']).value('topic'), '--list', 'a value is taken whatever it looks like');
  assert.is(parseOptions(SPECS, ['--topic', 'x']).value('topic'), 'x', 'an exact name wins over a longer one (--topic-id)');
  assert.is(parseOptions(SPECS, ['--state', '--list']).value('state'), '', 'an optional value left out');
  assert.is(parseOptions(SPECS, ['--state', 'Stable']).value('state'), 'Stable');
});

test('options: unknown, ambiguous, missing values, repeats and stray arguments are ToolErrors naming them', () => {
  refused(['--frobnicate'], '--frobnicate is not a recognized option');
  refused(['--to'], /--to is ambiguous/);
  refused(['--topic'], '--topic requires an argument');
  refused(['--list=yes'], '--list takes no value');
  refused(['--topic', 'a', '--topic', 'b'], '--topic was given more than once');
  refused(['--list', 'extra'], "unexpected argument 'extra'");
});

test('properties: separators, comments, continuations and escapes as java.util.Properties reads them', () => {
  const p = parseProperties('# comment\n! also\n\na=1\nb : 2\nc 3\n  d=x\\\n   y\ne=tab\\there\nf\\ g=\\u0041\nempty=\n');
  assert.equal(Object.fromEntries(p), { a: '1', b: '2', c: '3', d: 'xy', e: 'tab\there', 'f g': 'A', empty: '' });
});

test('--command-config: PLAINTEXT and unknown settings accepted, TLS and SASL refused, client.id used', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kastor-tool-options-'));
  try {
    const file = join(dir, 'admin.properties');
    const connect = (props: string) => {
      writeFileSync(file, props);
      return connectionOptions(parseOptions({}, ['--bootstrap-server', 'PLAINTEXT://h:9092,k:9093', '--command-config', file]), 'tool');
    };
    const settings = connect('security.protocol=plaintext\nclient.id=mine\nsome.unknown=1\n');
    assert.equal(settings.bootstrap, ['h:9092', 'k:9093']);
    assert.is(settings.clientId, 'mine');
    for (const protocol of ['SSL', 'SASL_PLAINTEXT', 'SASL_SSL']) {
      assert.throws(() => connect(`security.protocol=${protocol}\n`), (err: Error) => err instanceof ToolError && err.message.includes(`security.protocol=${protocol}`));
    }
    assert.throws(() => connectionOptions(parseOptions({}, ['--bootstrap-server', 'nohost']), 'tool'), /--bootstrap-server must be HOST:PORT/);
    assert.throws(() => connectionOptions(parseOptions({}, []), 'tool'), /--bootstrap-server must be specified/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("topic include lists: a whole-name regular expression, commas as 'or', quotes and spaces dropped", () => {
  assert.ok(includeList('orders').test('orders'));
  assert.not.ok(includeList('orders').test('orders-2'), 'the whole name must match');
  assert.ok(includeList('ord.*').test('orders-2'));
  const either = includeList(" 'a, b' ");
  assert.ok(either.test('a') && either.test('b'));
  assert.not.ok(either.test('a, b'));
  assert.throws(() => includeList('(['), /is an invalid regex/);
});

test('topic ids print as Kafka prints them (base64url, no padding); the zero id not at all', () => {
  assert.is(kafkaTopicId('0189a3c2b5e84f1f9a3b0c1d2e3f4a5b'), Buffer.from('0189a3c2b5e84f1f9a3b0c1d2e3f4a5b', 'hex').toString('base64url'));
  assert.is(kafkaTopicId('0189a3c2b5e84f1f9a3b0c1d2e3f4a5b')!.length, 22);
  assert.is(kafkaTopicId('0'.repeat(32)), null);
});

test('--to-datetime and --by-duration', () => {
  assert.is(parseDateTime('2024-03-01T10:00:00.000Z'), Date.UTC(2024, 2, 1, 10));
  assert.is(parseDateTime('2024-03-01T10:00:00.000+02:00'), Date.UTC(2024, 2, 1, 8));
  assert.is(parseDateTime('2024-03-01T10:00:00'), new Date(2024, 2, 1, 10).getTime(), 'no zone: local time');
  assert.throws(() => parseDateTime('yesterday'), /Error parsing timestamp/);
  assert.is(parseDuration('PT1H30M'), 90 * 60_000);
  assert.is(parseDuration('P1DT0.5S'), 86_400_000 + 500);
  assert.is(parseDuration('-PT10M'), 600_000, 'Kafka goes back by the absolute duration');
  assert.throws(() => parseDuration('P'), /Error parsing duration/);
  assert.throws(() => parseDuration('PT'), /Error parsing duration/);
});

test.run();
