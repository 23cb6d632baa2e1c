// `kastor/testing` itself: startTestCluster starts a real cluster that Kafka clients use and close() leaves
// nothing behind (processes, ports, directories) — also when the test threw or the start failed; two
// clusters in one process do not collide; the fault injections do what they say.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { connect as natsConnect } from '@nats-io/transport-node';
import { startTestCluster, TcpProxy, createTopics, fetchMetadata, NatsServerNotFoundError, type TestCluster } from '../../src/testing/index.ts';
import { run } from '../helpers/single-broker.ts';

const open: TestCluster[] = [];
test.after.each(async () => {
  await Promise.allSettled(open.splice(0).map((c) => c.close()));
});

async function start(...args: Parameters<typeof startTestCluster>): Promise<TestCluster> {
  const c = await startTestCluster(...args);
  open.push(c);
  return c;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });
}

/** Our child processes that a cluster starts (brokers, nats-server), as `pid command`; tsx's esbuild service is not one. */
function children(): string[] {
  try {
    return execFileSync('ps', ['--ppid', String(process.pid), '-o', 'pid=,args='], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /kastor\.js|nats-server/.test(l));
  } catch {
    return []; // ps exits 1 when there is no child
  }
}

const myDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith(`kastor-cluster-${process.pid}-`));

async function pollUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('starts an RF=3 cluster kcat can use with acks=all, and close() leaves no process, port or directory', async () => {
  const c = await start({ brokers: 3, topics: [{ name: 'orders', partitions: 3, replicationFactor: 3, config: { 'min.insync.replicas': '2' } }] });
  assert.equal(c.brokers, [1, 2, 3]);
  assert.match(c.bootstrapServers, /^127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/);
  const t = c.metadata().topics.orders!;
  assert.is(t.partitions.length, 3);
  for (const p of t.partitions) {
    assert.is(p.replicas.length, 3);
    assert.ok(c.brokers.includes(p.leader));
  }
  assert.equal(t.config, { 'min.insync.replicas': '2' });
  const { stdout } = await run('kcat', ['-L', '-b', c.bootstrapServers]);
  assert.match(stdout, /3 brokers:/);
  await run('kcat', ['-P', '-b', c.bootstrapServers, '-t', 'orders', '-p', '1', '-X', 'acks=all'], { input: 'hello\n' });
  const consumed = await run('kcat', ['-C', '-b', c.bootstrapServers, '-t', 'orders', '-p', '1', '-o', 'beginning', '-e', '-q', '-f', '%o %s\n']);
  assert.is(consumed.stdout, '0 hello\n');

  const pids = c.brokers.map((id) => c.pidOf(id)!);
  const ports = [...c.brokers.map((id) => c.addressOf(id).port), ...c.brokers.map((id) => Number(new URL(c.natsUrlOf(id)).port)), c.nats!.port];
  const dir = c.dataDir;
  assert.ok(existsSync(dir));
  assert.ok(pids.every(alive));
  await c.close();
  await c.close(); // idempotent
  assert.ok(!pids.some(alive), 'every broker process is gone');
  for (const port of ports) assert.ok(await portRefuses(port), `port ${port} is closed`);
  assert.not.ok(existsSync(dir), 'the cluster directory is removed');
  assert.equal(children(), [], 'no child process is left');
});

test('two clusters side by side in one process do not collide', async () => {
  const [a, b] = await Promise.all([
    start({ brokers: 2, topics: [{ name: 'same', partitions: 1, replicationFactor: 2 }] }),
    start({ brokers: 2, topics: [{ name: 'same', partitions: 1, replicationFactor: 2 }] }),
  ]);
  const portsA = a.bootstrapServers.split(',');
  assert.ok(!b.bootstrapServers.split(',').some((p) => portsA.includes(p)));
  assert.is.not(a.nats!.url, b.nats!.url);
  assert.is.not(a.dataDir, b.dataDir);
  assert.is.not(a.metadata().clusterId, b.metadata().clusterId);
  await run('kcat', ['-P', '-b', a.bootstrapServers, '-t', 'same', '-p', '0', '-X', 'acks=all'], { input: 'from-a\n' });
  await run('kcat', ['-P', '-b', b.bootstrapServers, '-t', 'same', '-p', '0', '-X', 'acks=all'], { input: 'from-b1\nfrom-b2\n' });
  const read = async (c: TestCluster) =>
    (await run('kcat', ['-C', '-b', c.bootstrapServers, '-t', 'same', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%s\n'])).stdout;
  assert.is(await read(a), 'from-a\n');
  assert.is(await read(b), 'from-b1\nfrom-b2\n');
  await a.close();
  // b is untouched by a's close.
  assert.is(await read(b), 'from-b1\nfrom-b2\n');
});

test('close() through `await using` after a thrown error still cleans up; a failed start cleans up too', async () => {
  let dir = '';
  let pids: number[] = [];
  const body = async () => {
    await using c = await startTestCluster({ brokers: 1, topics: [{ name: 'x', partitions: 1, replicationFactor: 1 }] });
    dir = c.dataDir;
    pids = [c.pidOf(1)!];
    throw new Error('the test failed');
  };
  try {
    await body();
    assert.unreachable('body throws');
  } catch (err) {
    assert.is((err as Error).message, 'the test failed');
  }
  assert.ok(dir !== '' && !existsSync(dir));
  assert.ok(!pids.some(alive));

  const before = myDirs();
  try {
    await startTestCluster({ brokers: 2, topics: [{ name: 'too-wide', partitions: 1, replicationFactor: 3 }] });
    assert.unreachable('RF 3 on 2 brokers must fail');
  } catch (err) {
    assert.match((err as Error).message, /CreateTopics failed: too-wide: error 38/); // INVALID_REPLICATION_FACTOR
  }
  assert.equal(myDirs(), before);
  assert.equal(children(), []);

  const saved = process.env.KASTOR_NATS_SERVER;
  process.env.KASTOR_NATS_SERVER = '/nonexistent/nats-server';
  try {
    await startTestCluster({ brokers: 1 });
    assert.unreachable('no nats-server');
  } catch (err) {
    assert.instance(err, NatsServerNotFoundError);
    assert.match((err as Error).message, /nats-server was not found/);
  } finally {
    if (saved === undefined) delete process.env.KASTOR_NATS_SERVER;
    else process.env.KASTOR_NATS_SERVER = saved;
  }
  assert.equal(myDirs(), before);
});

test('killBroker: the process dies and its port closes; the others keep answering Metadata; once a controller exists the broker is deregistered within the session timeout; restartBroker brings it back', async () => {
  const c = await start({ brokers: 3, sessionTimeoutMs: 3_000, topics: [{ name: 'k', partitions: 3, replicationFactor: 3 }] });
  const pid = c.pidOf(3)!;
  const port = c.addressOf(3).port;
  await c.killBroker(3);
  assert.not.ok(alive(pid));
  assert.ok(await portRefuses(port));
  assert.is(c.stateOf(3), 'killed');
  assert.equal(c.liveBrokers(), [1, 2]);
  const md = await fetchMetadata(c.addressOf(1), ['k']);
  assert.is(md.topics[0]!.partitions.length, 3);
  if (c.metadata().controller !== null) {
    // The controller (issue: leader election) removes a broker whose heartbeats stop.
    await pollUntil('broker 3 gone from Metadata', async () => !(await fetchMetadata(c.addressOf(1), [])).brokers.some((b) => b.nodeId === 3), c.sessionTimeoutMs + 5_000);
    const leader = await c.waitForLeader('k', 2, { notBroker: 3, timeoutMs: c.sessionTimeoutMs + 5_000 });
    assert.ok(leader === 1 || leader === 2);
  } else {
    // No controller yet: nothing deregisters a dead broker, the survivors still list it.
    assert.ok(md.brokers.some((b) => b.nodeId === 3));
  }
  await c.restartBroker(3);
  assert.is(c.stateOf(3), 'running');
  assert.ok(alive(c.pidOf(3)!));
  await c.waitForInSync('k', { timeoutMs: 20_000 });
  const { stdout } = await run('kcat', ['-L', '-b', `127.0.0.1:${port}`]);
  assert.match(stdout, /3 brokers:/);
});

test('pauseBroker freezes the process (state T) and resumeBroker thaws it; stopBroker is a clean exit', async () => {
  const c = await start({ brokers: 2 });
  const pid = c.pidOf(2)!;
  const state = () => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0];
  c.pauseBroker(2);
  await pollUntil('process stopped', () => state() === 'T', 5_000);
  assert.is(c.stateOf(2), 'paused');
  assert.equal(c.liveBrokers(), [1]);
  c.resumeBroker(2);
  await pollUntil('process running', () => state() !== 'T', 5_000);
  const { stdout } = await run('kcat', ['-L', '-b', `127.0.0.1:${c.addressOf(2).port}`]);
  assert.match(stdout, /2 brokers:/);
  assert.is(await c.stopBroker(2), 0);
  assert.not.ok(alive(pid));
});

test('TcpProxy black-holes a NATS connection silently and heal() lets the client reconnect; restartNats keeps the cluster usable', async () => {
  const c = await start({ brokers: 1, waitForInSync: false });
  const proxy = await TcpProxy.start({ targetPort: c.nats!.port });
  const nc = await natsConnect({ servers: proxy.url, noAsyncTraces: true, maxReconnectAttempts: -1, reconnectTimeWait: 50, pingInterval: 500, maxPingOut: 2, ignoreClusterUpdates: true });
  try {
    nc.subscribe('echo', { callback: (_e, m) => void m.respond(m.data) });
    const direct = await natsConnect({ servers: c.natsUrl, noAsyncTraces: true });
    try {
      assert.is(new TextDecoder().decode((await direct.request('echo', 'one', { timeout: 2_000 })).data), 'one');
      proxy.blackhole();
      let failed = false;
      await direct.request('echo', 'two', { timeout: 500 }).catch(() => (failed = true));
      assert.ok(failed, 'no answer through a black-holed proxy');
      assert.is(nc.isClosed(), false);
      proxy.heal();
      await pollUntil(
        'an answer after heal',
        () => direct.request('echo', 'three', { timeout: 300 }).then(() => true, () => false),
        10_000,
      );
    } finally {
      await direct.close();
    }
  } finally {
    await nc.close();
    await proxy.close();
  }

  // Brokers reach nats-server through their proxies, which reconnect them after a restart.
  await c.restartNats();
  await pollUntil(
    'a topic created after the NATS restart',
    async () => {
      const r = await createTopics(c.addressOf(1), [{ name: 'after-restart', partitions: 1, replicationFactor: 1 }], 3_000).catch(() => null);
      return r !== null && (r[0]!.errorCode === 0 || r[0]!.errorCode === 36);
    },
    20_000,
  );
  await c.waitForLeader('after-restart', 0, { timeoutMs: 10_000 });
});

test.run();
