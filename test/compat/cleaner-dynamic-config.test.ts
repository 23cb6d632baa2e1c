// The log cleaner's settings changed at runtime, as Kafka's dynamic broker configs (KIP-226): on a real broker
// process started with --log-cleaner-backoff-ms 200, Kastor's admin sets log.cleaner.io.max.bytes.per.second for
// the whole cluster (the empty broker name, kafka-configs.sh's --entity-default; KafkaJS refuses an empty name)
// and KafkaJS 2.2.4's admin log.cleaner.backoff.ms for broker 1; describeConfigs shows each value with its source
// (static, then DYNAMIC_DEFAULT_BROKER_CONFIG, DYNAMIC_BROKER_CONFIG) and log.cleaner.enable as a read-only static
// config; the running cleaner takes both up at its next pass (its log says so) without a restart; bad values
// are INVALID_CONFIG naming the key (KafkaJS, and Kastor's admin for the message), log.cleaner.enable is refused
// as not dynamic.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import kafkajsModule, { Kafka as KafkaJS, logLevel, type Admin as KafkaJSAdmin } from 'kafkajs';
import { Kafka } from '../../src/client/index.ts';
import { startSingleBroker, type SingleBroker } from '../helpers/single-broker.ts';
import { until } from '../helpers/until.ts';

// KafkaJS is CommonJS: its enums are on the default export only.
const { ConfigResourceTypes } = kafkajsModule;
const IO = 'log.cleaner.io.max.bytes.per.second';
const BACKOFF = 'log.cleaner.backoff.ms';
let broker: SingleBroker;
let kadmin: KafkaJSAdmin;

test.before(async () => {
  broker = await startSingleBroker(['--log-cleaner-backoff-ms', '200']);
  kadmin = new KafkaJS({ clientId: 'cleaner-config', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await kadmin.connect();
});
test.after(async () => {
  await kadmin?.disconnect();
  await broker?.close();
});

/** name → [value, source, readOnly] of broker resource `name` ('' is the cluster-wide default). */
async function describe(name: string, keys: string[]): Promise<Record<string, [string, number, boolean]>> {
  const r = await kadmin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.BROKER, name, configNames: keys }] });
  return Object.fromEntries(r.resources[0]!.configEntries.map((e) => [e.configName, [e.configValue, e.configSource, e.readOnly]]));
}

test('KafkaJS sets the cleaner I/O bound cluster-wide and the backoff for broker 1; sources shown; the running cleaner applies them', async () => {
  assert.equal(await describe('1', [IO, BACKOFF, 'log.cleaner.enable']), {
    'log.cleaner.enable': ['true', 4, true],
    [IO]: ['1.7976931348623157E308', 5, false],
    [BACKOFF]: ['200', 4, false],
  });
  // KafkaJS refuses an empty resource name, so the cluster-wide default goes through Kastor's admin.
  const admin = new Kafka({ bootstrap: broker.bootstrap, clientId: 'cleaner-config-kastor' }).admin();
  try {
    await admin.incrementalAlterConfigs([{ type: 'broker', name: '', ops: [{ name: IO, op: 'set', value: '1048576' }] }]);
  } finally {
    await admin.close();
  }
  await kadmin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configEntries: [{ name: BACKOFF, value: '300' }] }] });
  assert.equal(await describe('1', [IO, BACKOFF]), { [IO]: ['1048576', 3, false], [BACKOFF]: ['300', 2, false] });
  // No restart: the cleaner's next pass (every 200 ms so far) reads both.
  const logged = (msg: string, field: string) => broker.broker.logs.some((l) => l.includes(`"msg":"${msg}"`) && l.includes(field));
  await until('the cleaner to take up the new I/O bound', () => logged('log cleaner I/O bound changed', '"to":1048576'), 15_000);
  await until('the cleaner to take up the new backoff', () => logged('log cleaner backoff changed', '"backoffMs":300'), 15_000);
});

test('bad values are INVALID_CONFIG naming the key; log.cleaner.enable cannot be changed dynamically', async () => {
  const refused = await kadmin
    .alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configEntries: [{ name: BACKOFF, value: '-1' }] }] })
    .then(() => null, (err: { type?: string }) => err);
  assert.is(refused?.type, 'INVALID_CONFIG');
  const admin = new Kafka({ bootstrap: broker.bootstrap, clientId: 'cleaner-config-kastor' }).admin();
  try {
    const bad = await admin.incrementalAlterConfigs([{ type: 'broker', name: '', ops: [{ name: IO, op: 'set', value: 'fast' }] }]).then(() => null, (err: Error) => err);
    assert.match(bad?.message ?? '', `INVALID_CONFIG`);
    assert.match(bad?.message ?? '', `Invalid value fast for configuration ${IO}: Not a number of type DOUBLE`);
    const fixed = await admin.incrementalAlterConfigs([{ type: 'broker', name: '1', ops: [{ name: 'log.cleaner.enable', op: 'set', value: 'false' }] }]).then(() => null, (err: Error) => err);
    assert.match(fixed?.message ?? '', 'Cannot update these configs dynamically: Set(log.cleaner.enable)');
  } finally {
    await admin.close();
  }
  assert.equal(await describe('1', [IO, BACKOFF]), { [IO]: ['1048576', 3, false], [BACKOFF]: ['300', 2, false] }, 'nothing refused was stored');
});

test.run();
