// The 3-node NATS cluster harness: clustered JetStream comes up with a meta leader, an R3 stream takes writes,
// losing one server leaves the stream writable, a killed server comes back and rejoins, and dispose leaves no
// process and no directory behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { NatsCluster } from '../../src/testing/nats-cluster.ts';

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('R3 stream survives the loss of one server; a restarted server rejoins; dispose cleans up', async () => {
  const started = Date.now();
  const cluster = await NatsCluster.start({ size: 3 });
  const pids = cluster.servers.map((s) => s.pid);
  let nc: NatsConnection | undefined;
  try {
    assert.is(cluster.servers.length, 3);
    assert.is(new Set(cluster.urls).size, 3);
    assert.ok(cluster.servers.every((s) => s.port !== 4222 && s.dir.startsWith(cluster.dir)));
    assert.is(new Set(cluster.servers.map((s) => s.storeDir)).size, 3);
    assert.ok(pids.every(alive));

    nc = await connect({ servers: cluster.urls, noAsyncTraces: true, maxReconnectAttempts: -1, reconnectTimeWait: 100, pingInterval: 1_000 });
    const jsm = await jetstreamManager(nc);
    const si = await jsm.streams.add({ name: 'R3TEST', subjects: ['r3.test'], storage: StorageType.File, num_replicas: 3 });
    assert.is(si.config.num_replicas, 3);
    const js = jetstream(nc, { timeout: 2_000 });
    const first = await js.publish('r3.test', new TextEncoder().encode('one'));
    assert.is(first.seq, 1);

    // Kill a member that is not the stream leader: the two left are a quorum, so writes go on.
    const leader = (await jsm.streams.info('R3TEST')).cluster?.leader;
    assert.ok(leader && cluster.names.includes(leader));
    const victim = cluster.servers[cluster.names.findIndex((n) => n !== leader)]!;
    await victim.kill();
    assert.is(victim.running, false);

    const deadline = Date.now() + 15_000;
    let ackSeq = 0;
    let lastError: unknown;
    while (Date.now() < deadline && ackSeq === 0) {
      try {
        ackSeq = (await js.publish('r3.test', new TextEncoder().encode('two'))).seq;
      } catch (err) {
        lastError = err; // the client may be reconnecting away from the killed server
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.is(ackSeq, 2, `publish after losing one server: ${String(lastError)}`);

    // Back on the same port and store, the member catches up: an R3 placement works again.
    await victim.restart();
    assert.is(victim.running, true);
    pids.push(victim.pid);
    await cluster.waitForJetStream(15_000);
    const info = await jsm.streams.info('R3TEST');
    assert.is(info.state.messages, 2);
  } finally {
    await nc?.close();
    await cluster.dispose();
  }
  assert.is(existsSync(cluster.dir), false);
  assert.ok(cluster.servers.every((s) => !s.running));
  assert.ok(pids.every((p) => !alive(p)), 'every nats-server process has exited');
  assert.ok(Date.now() - started < 40_000, `took ${Date.now() - started} ms`);
});

test.run();
