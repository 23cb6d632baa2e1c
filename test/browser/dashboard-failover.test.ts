// Three broker processes (each with its own --http on a free port) and the cluster dashboard on its own, as
// `kastor dev` runs it, in headless Chromium: SIGKILL the leader of a partition and the page shows that
// broker down and every partition led by a live broker within seconds, without reloading. Actors of the
// other brokers are reached through the dashboard (forwarded to each broker's own HTTP server).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startTestCluster, type TestCluster } from '../../src/testing/test-cluster.ts';
import { startStandaloneDashboard } from '../../src/dashboard/observability.ts';
import { DEFAULT_METADATA_BUCKET } from '../../src/runtime/node/nats-kv.ts';
import { createNodeLogger } from '../../src/runtime/node/node-logger.ts';

const artifacts = join(process.cwd(), 'test-artifacts');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let cluster: TestCluster;
let dashboard: Awaited<ReturnType<typeof startStandaloneDashboard>>;
let base: string;
let profile: string;
let context: BrowserContext;
let page: Page;

test.before(async () => {
  mkdirSync(artifacts, { recursive: true });
  cluster = await startTestCluster({ brokers: 3, topics: [{ name: 'f', partitions: 3, replicationFactor: 3 }], brokerArgs: ['--http', '127.0.0.1:0'] });
  dashboard = await startStandaloneDashboard({ natsServers: [cluster.natsUrl], bucket: DEFAULT_METADATA_BUCKET, host: '127.0.0.1', port: 0, logger: createNodeLogger({ level: 'error' }) });
  base = `http://127.0.0.1:${dashboard.address.port}`;
  profile = mkdtempSync(join(tmpdir(), 'kastor-chromium-'));
  context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 1000 } });
  await context.route('**/*', (route) => (new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort()));
  page = context.pages()[0] ?? (await context.newPage());
});

test.after(async () => {
  await context?.close().catch(() => {});
  await dashboard?.stop().catch(() => {});
  await cluster?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('SIGKILL of a leader: the page shows the broker down and the new leaders within seconds', async () => {
  await page.goto(base);
  for (const id of [1, 2, 3]) await page.waitForSelector(`#brokers tr[data-broker="${id}"][data-state="up"]`, { timeout: 10_000 });
  for (const p of [0, 1, 2]) await page.waitForSelector(`#partitions tr[data-partition="f-${p}"][data-isr="${cluster.partitionState('f', p).isr.join(',')}"]`, { timeout: 10_000 });
  // Another broker's actors come through the dashboard from that broker's own HTTP server.
  const actors = (await (await fetch(`${base}/api/actors`)).json()) as Array<{ systemId: string }>;
  for (const id of [1, 2, 3]) assert.ok(actors.some((a) => a.systemId === `partition-f-0@broker-${id}`), `broker ${id}'s replica of f-0 is listed`);

  // The leader's replica statechart, streamed from its broker through this dashboard.
  const leader = cluster.partitionState('f', 0).leader;
  await page.goto(`${base}/#actor=${encodeURIComponent(`partition-f-0@broker-${leader}`)}`);
  await page.waitForSelector('#actor-state[data-state="leader"]', { timeout: 10_000 });
  await page.waitForSelector('#statechart svg g.current', { timeout: 10_000 });

  const victim = await cluster.killLeader('f', 0);
  assert.is(victim, leader);
  const killedAt = Date.now();
  await page.waitForSelector(`#brokers tr[data-broker="${victim}"][data-state="down"]`, { timeout: 15_000 });
  // The dead broker's actor no longer shows a live state.
  await page.waitForSelector('#statechart.stale', { timeout: 10_000 });
  assert.match((await page.textContent('#actor-state')) ?? '', /not reachable/);
  for (const p of [0, 1, 2]) {
    await page.waitForFunction(
      ([sel, dead]) => {
        const row = (globalThis as unknown as { document: { querySelector(s: string): { getAttribute(n: string): string | null } | null } }).document.querySelector(sel);
        const leader = Number(row?.getAttribute('data-leader'));
        return row !== null && leader > 0 && leader !== dead;
      },
      [`#partitions tr[data-partition="f-${p}"]`, victim] as const,
      { timeout: 15_000 },
    );
  }
  const seconds = (Date.now() - killedAt) / 1000;
  // What the page shows is what the metadata says.
  for (const p of [0, 1, 2]) {
    const leader = Number(await page.getAttribute(`#partitions tr[data-partition="f-${p}"]`, 'data-leader'));
    const truth = cluster.partitionState('f', p);
    assert.is(leader, truth.leader, `f-${p} leader on the page`);
    assert.ok(truth.leader !== victim);
  }
  assert.ok(seconds < 15, `shown after ${seconds} s`);
  await page.waitForSelector(`#partitions tr[data-partition="f-0"].urp`, { timeout: 10_000 });
  await page.screenshot({ path: join(artifacts, 'dashboard-failover.png'), fullPage: true });
});

test.run();
