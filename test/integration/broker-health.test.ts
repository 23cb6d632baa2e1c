// /healthz and /readyz on a broker's HTTP address, and kastor dev's predictable HTTP ports. A broker started
// before its NATS answers /healthz 200 and /readyz 503 "starting" while it waits (the HTTP address is held from
// the process's start), and /readyz 200 once it is registered and serving. A restarted broker answers /readyz
// 200 only once it is back in the ISR of every partition it hosts. `kastor dev --http-port-base B` puts broker
// N's HTTP on B + N - 1 and prints it, and each answers both.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerProcess } from '../../src/testing/broker-process.ts';
import { freePort, NatsServer } from '../../src/testing/nats-server.ts';
import { createTopics, fetchMetadata } from '../../src/testing/index.ts';
import { freePortRun, startDevOnFreePorts } from '../helpers/dev-process.ts';
import { until } from '../helpers/until.ts';

const root = mkdtempSync(join(tmpdir(), 'kastor-broker-health-'));
const cleanups: Array<() => Promise<unknown> | unknown> = [];

test.after(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  rmSync(root, { recursive: true, force: true });
});

async function get(url: string): Promise<{ status: number; body: string } | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return { status: res.status, body: await res.text() };
  } catch {
    return null; // not listening (yet)
  }
}

test('healthz 200 and readyz 503 while waiting for NATS; readyz 200 once serving; a restarted broker is ready only in sync', async () => {
  const natsPort = await freePort();
  const http1 = await freePort();
  const http2 = await freePort();
  const b1 = BrokerProcess.start({ id: 1, natsUrl: `nats://127.0.0.1:${natsPort}`, dataDir: join(root, 'b1'), extraArgs: ['--http', `127.0.0.1:${http1}`, '--nats-connect-timeout-ms', '60000'], startTimeoutMs: 90_000 });
  b1.catch(() => {});
  let early: { status: number; body: string } | null = null;
  await until('the starting broker answers /readyz', async () => (early = await get(`http://127.0.0.1:${http1}/readyz`)) !== null, 30_000);
  assert.is(early!.status, 503);
  assert.match(early!.body, /^starting/);
  assert.is((await get(`http://127.0.0.1:${http1}/healthz`))?.status, 200);

  const nats = await NatsServer.start({ port: natsPort });
  cleanups.push(() => nats.dispose());
  const broker1 = await b1;
  cleanups.push(() => broker1.kill());
  const broker2 = await BrokerProcess.start({ id: 2, natsUrl: nats.url, dataDir: join(root, 'b2'), extraArgs: ['--http', `127.0.0.1:${http2}`] });
  cleanups.push(() => broker2.kill());
  await until('broker 1 ready', async () => (await get(`http://127.0.0.1:${http1}/readyz`))?.status === 200, 30_000);
  const ready = await get(`http://127.0.0.1:${http1}/readyz`);
  assert.match(ready!.body, /^ready: registered, serving/);

  await createTopics({ host: '127.0.0.1', port: broker1.port }, [{ name: 'h', partitions: 4, replicationFactor: 2 }]);
  await until('broker 2 ready', async () => (await get(`http://127.0.0.1:${http2}/readyz`))?.status === 200, 30_000);
  await broker2.kill();
  await broker2.restart();
  // The first 200 after the restart: by then broker 2 is in the ISR of all four partitions.
  await until('restarted broker 2 ready', async () => (await get(`http://127.0.0.1:${http2}/readyz`))?.status === 200, 60_000, 20);
  const meta = await fetchMetadata({ host: '127.0.0.1', port: broker1.port }, ['h']);
  for (const p of meta.topics[0]!.partitions) assert.ok(p.isrNodes.includes(2), `partition ${p.partitionIndex} ISR ${p.isrNodes} includes broker 2 once it said ready`);
});

test('kastor dev --http-port-base: broker N on base + N - 1, printed, each answering /healthz and /readyz', async () => {
  let httpBase = 0;
  const { dev, portBase } = await startDevOnFreePorts(2, async () => ((httpBase = await freePortRun(2)), ['--data', join(root, 'dev'), '--http', 'off', '--http-port-base', String(httpBase)]), {
    readyTimeoutMs: 90_000,
    track: (d) => cleanups.push(() => d.killAll()),
  });
  for (const n of [1, 2]) {
    const line = dev.lines.find((l) => l.startsWith(`broker ${n}: `));
    assert.match(line ?? '', new RegExp(`^broker ${n}: 127\\.0\\.0\\.1:${portBase + n - 1}, http://127\\.0\\.0\\.1:${httpBase + n - 1}/ \\(pid \\d+\\)$`), dev.output);
    assert.is((await get(`http://127.0.0.1:${httpBase + n - 1}/healthz`))?.status, 200);
    await until(`broker ${n} ready`, async () => (await get(`http://127.0.0.1:${httpBase + n - 1}/readyz`))?.status === 200, 30_000);
  }
  dev.child.kill('SIGINT');
  assert.is((await dev.exited).code, 0);
});

test.run();
