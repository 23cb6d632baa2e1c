// `kastor broker --config FILE` from a Kafka server.properties: the broker takes its id, listener, data
// directory, NATS and HTTP from the file, its auto-created topics get num.partitions and the broker-level
// topic defaults (log.retention.hours, min.insync.replicas) as DescribeConfigs shows; a flag overrides the
// file. An unknown key stops it with exit 2 and one line naming the key.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka } from '../../src/client/index.ts';
import { BrokerProcess } from '../../src/testing/broker-process.ts';
import { fetchMetadata, freePort, NatsServer } from '../../src/testing/index.ts';
import { runProcess } from '../helpers/run-process.ts';

const bin = fileURLToPath(new URL('../../bin/kastor.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kastor-config-file-'));
const cleanups: Array<() => Promise<unknown> | unknown> = [];
test.after(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

test('a broker started from server.properties serves with its settings; a flag overrides the file', async () => {
  const nats = await NatsServer.start();
  cleanups.push(() => nats.dispose());
  const port = await freePort();
  const file = join(dir, 'server.properties');
  writeFileSync(file, [
    'node.id=7', `listeners=PLAINTEXT://127.0.0.1:${await freePort()}`, `log.dirs=${join(dir, 'data')}`, 'num.partitions=2',
    'num.partitions=3', 'log.retention.hours=2', 'min.insync.replicas=1', `kastor.nats=${nats.url}`, '',
  ].join('\n'));
  // BrokerProcess adds --id 1, --listen, --nats and --data flags: they override the file's, so --listen's port is used.
  const broker = await BrokerProcess.start({ id: 1, natsUrl: nats.url, dataDir: join(dir, 'flag-data'), port, extraArgs: ['--config', file] });
  cleanups.push(() => broker.kill());
  const kafka = new Kafka({ bootstrap: `127.0.0.1:${port}`, clientId: 'config-file-test' });
  const producer = kafka.producer({ acks: 'all' });
  await producer.send({ topic: 'from-file', messages: [{ value: 'x' }] });
  await producer.close();
  const meta = await fetchMetadata({ host: '127.0.0.1', port }, ['from-file']);
  assert.is(meta.topics[0]!.partitions.length, 3, 'num.partitions from the file (its last line wins)');
  assert.equal(meta.brokers.map((b) => b.nodeId), [1], 'the --id flag overrides node.id');
  const admin = kafka.admin();
  const configs = (await admin.describeConfigs(['from-file'])).get('from-file')!;
  await admin.close();
  const value = (name: string) => configs[name]?.value;
  assert.is(value('retention.ms'), String(2 * 3_600_000), 'log.retention.hours=2 became the topic default');
});

test('an unknown key: exit 2 and one line naming it', async () => {
  const file = join(dir, 'bad.properties');
  writeFileSync(file, 'node.id=1\nlog.dirs=/tmp/x\nzookeeper.connect=localhost:2181\n');
  const r = await runProcess(process.execPath, [bin, 'broker', '--config', file], { timeoutMs: 30_000 });
  assert.is(r.code, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n'), [`kastor: ${file} line 3: unknown key "zookeeper.connect" (Kafka keys Kastor reads: ${r.stderr.split('Kafka keys Kastor reads: ')[1]!.trim()}`]);
  assert.match(r.stderr, 'unknown key "zookeeper.connect"');
});

test.run();
