// `kastor dev` as a supervisor: with three brokers, a SIGKILLed broker is reported (which one, how it died),
// started again, and the cluster keeps serving Kastor's own client (every record produced with acks=all before,
// during and after is read back); broker flags given to dev directly reach every broker (--num-partitions 4);
// Ctrl-C (SIGINT) still stops every process. With --restart=false a dead broker stays down and dev keeps
// running. Something that keeps the cluster from starting ends dev with exit 1 and one line: a Kafka port
// taken (naming --port-base), a broker that cannot start (its own line, repeated).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka } from '../../src/client/index.ts';
import { fetchMetadata, freePort } from '../../src/testing/index.ts';
import { alive, DevProcess, freePortRun } from '../helpers/dev-process.ts';
import { until } from '../helpers/until.ts';

const root = mkdtempSync(join(tmpdir(), 'kastor-dev-supervisor-'));
const devs: DevProcess[] = [];
const servers: Server[] = [];

test.after(() => {
  for (const d of devs) d.killAll();
  for (const s of servers) s.close();
  rmSync(root, { recursive: true, force: true });
});

async function startDev(name: string, brokers: number, extra: string[]): Promise<{ dev: DevProcess; portBase: number }> {
  const portBase = await freePortRun(brokers);
  const dev = new DevProcess(['--brokers', String(brokers), '--data', join(root, name), '--port-base', String(portBase), '--nats-port', String(await freePort()),
    '--http', 'off', '--http-port-base', '0', '--restart-delay-ms', '300', ...extra]);
  devs.push(dev);
  return { dev, portBase };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function sigintAndGone(dev: DevProcess, pids: number[]): Promise<void> {
  dev.child.kill('SIGINT');
  const exit = await Promise.race([dev.exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 40_000).unref())]);
  assert.is.not(exit, 'late', `kastor dev did not exit within 40 s of SIGINT:\n${dev.output.slice(-3000)}`);
  assert.equal(exit, { code: 0, signal: null }, dev.output.slice(-3000));
  for (const pid of pids) assert.not.ok(alive(pid), `broker pid ${pid} still runs after dev exited`);
}

test('a SIGKILLed broker is reported and restarted, the cluster keeps serving, SIGINT stops everything', async () => {
  const { dev, portBase } = await startDev('three', 3, ['--num-partitions', '4']);
  await dev.waitFor(/^ready$/, 90_000);
  const pids = dev.brokerPids();
  assert.is(pids.size, 3, dev.output);
  const bootstrap = [0, 1, 2].map((n) => `127.0.0.1:${portBase + n}`).join(',');
  const kafka = new Kafka({ bootstrap, clientId: 'dev-supervisor-test', retry: { retries: 40, initialBackoffMs: 100, maxBackoffMs: 1000 } });
  const producer = kafka.producer({ acks: 'all', deliveryTimeoutMs: 60_000, timeoutMs: 10_000 });
  const sent: string[] = [];
  const send = async (tag: string, n: number) => {
    const messages = Array.from({ length: n }, (_, i) => ({ key: `${tag}-${i}`, value: `${tag}-${i}` }));
    await producer.send({ topic: 'svc', messages });
    sent.push(...messages.map((m) => m.value));
  };
  await send('before', 40);
  const meta = await fetchMetadata({ host: '127.0.0.1', port: portBase }, ['svc']);
  assert.is(meta.topics[0]!.partitions.length, 4, 'the auto-created topic has the --num-partitions 4 dev passed through');

  const victim = pids.get(1)!;
  const mark = dev.lines.length;
  process.kill(victim, 'SIGKILL');
  await dev.waitFor(new RegExp(`^broker 1 \\(pid ${victim}\\) died: killed by SIGKILL; restarting it in 300 ms$`), 10_000, mark);
  await send('during', 40); // the other two brokers serve: leaders moved
  const restarted = await dev.waitFor(/^broker 1 restarted — broker 1: /, 60_000, mark);
  const newPid = dev.brokerPids().get(1)!;
  assert.is.not(newPid, victim, restarted);
  assert.ok(alive(newPid), restarted);
  await send('after', 40);
  await producer.close();

  const consumer = kafka.consumer({ maxWaitMs: 200 });
  consumer.assign([0, 1, 2, 3].map((partition) => ({ topic: 'svc', partition, offset: 'earliest' as const })));
  const read = new Set<string>();
  const reading = (async () => {
    for await (const batch of consumer) for (const r of batch.records) read.add(r.value!.toString());
  })();
  await until('every record read back', () => sent.every((v) => read.has(v)), 30_000);
  await consumer.close();
  await reading;
  assert.ok(dev.child.exitCode === null, 'dev still runs');
  await sigintAndGone(dev, [...pids.values(), newPid]);
});

test('--restart=false leaves a dead broker down and dev running', async () => {
  const { dev, portBase } = await startDev('norestart', 1, ['--restart=false']);
  await dev.waitFor(/^ready$/, 60_000);
  const pid = dev.brokerPids().get(1)!;
  const mark = dev.lines.length;
  process.kill(pid, 'SIGKILL');
  await dev.waitFor(new RegExp(`^broker 1 \\(pid ${pid}\\) died: killed by SIGKILL; left down \\(--restart=false\\)$`), 10_000, mark);
  // A negative, so watched for a while: five times the restart delay, nothing may listen on its port again.
  const watchUntil = Date.now() + 1_500;
  while (Date.now() < watchUntil) {
    assert.not.ok(await listening(portBase), `broker 1 came back:\n${dev.output}`);
    assert.not.ok(dev.lines.slice(mark).some((l) => /restart(ed|ing)/.test(l)), dev.output);
    await new Promise((r) => setTimeout(r, 50)); // poll interval of the watch
  }
  assert.ok(dev.child.exitCode === null, 'dev still runs');
  await sigintAndGone(dev, [pid]);
});

test('a Kafka port taken: dev exits 1 at once with one line naming --port-base', async () => {
  const portBase = await freePortRun(3);
  const taken = createServer();
  servers.push(taken);
  await new Promise<void>((resolve) => taken.listen(portBase + 1, '127.0.0.1', () => resolve()));
  const dev = new DevProcess(['--brokers', '3', '--data', join(root, 'taken'), '--port-base', String(portBase), '--nats-port', String(await freePort()), '--http', 'off', '--http-port-base', '0']);
  devs.push(dev);
  const started = Date.now();
  const exit = await dev.exited;
  assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
  assert.is(exit.code, 1, dev.output);
  assert.equal(dev.lines, [`kastor dev: 127.0.0.1:${portBase + 1} is in use — another Kafka or Kastor broker? stop it or choose another address with --port-base`]);
});

test('a broker that cannot start: dev repeats its line and exits 1, stopping the others', async () => {
  const data = join(root, 'broken');
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, 'broker-2'), 'a file where broker 2 wants its data directory');
  const { dev } = await startDev('broken', 2, []);
  const exit = await Promise.race([dev.exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 60_000).unref())]);
  assert.is.not(exit, 'late', dev.output);
  assert.is((exit as { code: number }).code, 1, dev.output);
  const last = dev.lines.filter((l) => !l.startsWith('{')).at(-1)!;
  assert.match(last, /^kastor dev: broker 2 could not start: data directory .*broker-2 is not writable: not a directory/, dev.output);
  for (const pid of dev.brokerPids().values()) assert.not.ok(alive(pid));
});

test.run();
