// A broker's dashboard status (hundreds of KB of JSON with thousands of replicas) crosses NATS only while a
// dashboard watches: nothing before one listens, a status at once when one starts, on a real nats-server.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { until } from '../helpers/until.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsServer } from '../../src/testing/nats-server.ts';
import { connectNats, type NatsConnection } from '../../src/runtime/node/nats-connection.ts';
import { startStatusPublisher, statusSubject, type BrokerStatus } from '../../src/dashboard/broker-status.ts';
import { StatusBoard } from '../../src/dashboard/status-board.ts';
import { natsTransport } from '../../src/runtime/node/nats-transport.ts';

const dir = mkdtempSync(join(tmpdir(), 'kastor-status-watch-'));
let nats: NatsServer | undefined;
const conns: NatsConnection[] = [];

test.after(async () => {
  for (const nc of conns) await nc.close().catch(() => {});
  await nats?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const status = (): BrokerStatus => ({
  brokerId: 7,
  incarnation: 'inc-1',
  http: null,
  at: Date.now(),
  throughput: { bytesIn: 0, bytesOut: 0, recordsIn: 0, recordsOut: 0 },
  replicas: [{ topic: 't', partition: 0, role: 'leader', leaderEpoch: 1, logStartOffset: 0, logEndOffset: 5, highWatermark: 5 }],
  groups: [],
});

test('statuses are published only while a dashboard watches', async () => {
  nats = await NatsServer.start({ dir: join(dir, 'nats') });
  const broker = await connectNats({ servers: [nats.url], name: 'status-broker' });
  const spy = await connectNats({ servers: [nats.url], name: 'status-spy' });
  const dashboard = await connectNats({ servers: [nats.url], name: 'status-dashboard' });
  conns.push(broker, spy, dashboard);
  let seen = 0;
  spy.subscribe(statusSubject('b', '*'), { callback: () => void seen++ });
  await spy.flush();
  const stop = startStatusPublisher({ transport: natsTransport(broker), bucket: 'b', status, intervalMs: 100 });
  await broker.flush();
  // Ten publish intervals with nobody watching.
  await new Promise((r) => setTimeout(r, 1000));
  await broker.flush();
  await spy.flush();
  assert.is(seen, 0, 'no dashboard: no status on the wire');

  const board = new StatusBoard();
  const stopListening = board.listen(natsTransport(dashboard), 'b');
  await until('the status to reach the dashboard', () => board.get(7) !== undefined, 5_000);
  assert.is(board.get(7)!.status.replicas[0]!.highWatermark, 5);
  await until('more statuses while it watches', () => seen >= 3, 5_000);
  stopListening();
  stop();
});

test.run();
