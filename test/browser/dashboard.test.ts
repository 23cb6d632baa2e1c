// The dashboard page in a real (headless, offline) Chromium against a broker process with --http: it shows
// the broker and a topic's partitions and follows new records without reloading; a partition's statechart
// highlights the state the broker reports; opening it attaches an inspection observer and leaving the page
// detaches it; nothing is loaded from outside loopback. Screenshots go to test-artifacts/.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startSingleBroker, type SingleBroker } from '../helpers/single-broker.ts';
import { freePort } from '../../src/testing/nats-server.ts';
import { BrokerConnection } from '../../src/client/broker-connection.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch-builder.ts';

const artifacts = join(process.cwd(), 'test-artifacts');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let env: SingleBroker;
let conn: BrokerConnection;
let base: string;
let profile: string;
let context: BrowserContext;
let page: Page;
const external: string[] = [];
const pageErrors: string[] = [];

async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function produce(values: string[], partition = 0): Promise<void> {
  const r = await conn.request(ApiKey.Produce, 7, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 5_000,
    topicData: [{ name: 'orders', partitionData: [{ index: partition, records: buildRecordBatch({ records: values.map((value) => ({ value })), timestamp: Date.now() }) }] }],
  });
  assert.is(r.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
}

test.before(async () => {
  mkdirSync(artifacts, { recursive: true });
  const httpPort = await freePort();
  env = await startSingleBroker(['--http', `127.0.0.1:${httpPort}`]);
  base = `http://127.0.0.1:${httpPort}`;
  conn = await BrokerConnection.connect({ host: '127.0.0.1', port: env.broker.port });
  const created = await conn.request(ApiKey.CreateTopics, 4, {
    topics: [{ name: 'orders', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  assert.is(created.topics[0]!.errorCode, ErrorCode.NONE);
  await produce(['a', 'b', 'c']);
  profile = mkdtempSync(join(tmpdir(), 'kastor-chromium-'));
  context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 1000 } });
  // Offline by construction: anything not on loopback is refused and remembered.
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.protocol === 'data:') return route.continue();
    external.push(url.href);
    return route.abort();
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => msg.type() === 'error' && pageErrors.push(msg.text()));
});

test.after(async () => {
  await context?.close().catch(() => {});
  conn?.close();
  await env?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('the page shows the broker and the topic partitions, and follows new records live', async () => {
  await page.goto(base);
  await page.waitForSelector('#brokers tr[data-broker="1"][data-state="up"]', { timeout: 10_000 });
  await page.waitForSelector('#partitions tr[data-partition="orders-0"][data-leader="1"][data-hw="3"]', { timeout: 10_000 });
  await page.waitForSelector('#partitions tr[data-partition="orders-1"][data-leader="1"]');
  assert.match((await page.textContent('#live')) ?? '', /live/);
  assert.match((await page.textContent('#brokers tr[data-broker="1"]')) ?? '', /controller/);
  // A value set in the page survives only if the page is not reloaded.
  await page.evaluate(() => ((globalThis as unknown as { kastorMarker: number }).kastorMarker = 42));
  await produce(['d', 'e']);
  await page.waitForSelector('#partitions tr[data-partition="orders-0"][data-hw="5"]', { timeout: 10_000 });
  assert.is(await page.evaluate(() => (globalThis as unknown as { kastorMarker?: number }).kastorMarker), 42, 'updated without reloading');
  await page.screenshot({ path: join(artifacts, 'dashboard-overview.png'), fullPage: true });
  assert.equal(external, []);
});

test('a partition statechart highlights the state the broker reports; leaving detaches the observer', async () => {
  const id = 'partition-orders-0@broker-1';
  const actors = (await (await fetch(`${base}/api/actors`)).json()) as Array<{ systemId: string; state: unknown; active: string[] }>;
  const reported = actors.find((a) => a.systemId === id);
  assert.is(reported?.state, 'leader');
  const inspection = async () => ((await (await fetch(`${base}/api/inspection`)).json()) as { attachedObservers: number }).attachedObservers;
  assert.is(await inspection(), 0);

  await page.goto(`${base}/#actor=${encodeURIComponent(id)}`);
  await page.waitForSelector('#actor-state[data-state="leader"]', { timeout: 10_000 }).catch(async (err) => {
    await page.screenshot({ path: join(artifacts, 'dashboard-statechart-failed.png'), fullPage: true });
    throw new Error(`${(err as Error).message}\npage errors: ${pageErrors.join('\n')}\nstate: ${await page.textContent('#actor-state')}`);
  });
  const current = await page.waitForSelector('#statechart svg g.current', { timeout: 10_000 });
  assert.match((await current.textContent()) ?? '', /^\s*leader\s*$/);
  assert.is(await page.getAttribute('#statechart', 'data-active'), reported!.active.join(' '));
  assert.is(await page.locator('#statechart svg g.current').count(), 1, 'only the active state is highlighted');
  await until('the observer to attach', async () => (await inspection()) === 1);
  // A produce is a HIGH_WATERMARK event for the partition actor: it appears in the event list.
  await produce(['f']);
  await page.waitForSelector('#actor-events li:has-text("HIGH_WATERMARK")', { timeout: 10_000 });
  await page.locator('.actors').screenshot({ path: join(artifacts, 'dashboard-statechart.png') });

  await page.goto('about:blank');
  await until('the observer to detach', async () => (await inspection()) === 0);
  assert.equal(external, []);
});

test('every machine in machines/ renders as a statechart in the page', async () => {
  await page.goto(base);
  const results = await page.evaluate(async () => {
    const w = globalThis as unknown as { mermaid: { render(id: string, text: string): Promise<{ svg: string }> }; fetch: typeof fetch };
    const charts = (await (await w.fetch('/api/machines')).json()) as Array<{ id: string; mermaid: string }>;
    const out: Array<{ id: string; ok: boolean; error?: string; states: number }> = [];
    for (const c of charts) {
      try {
        const { svg } = await w.mermaid.render(`t_${c.id}`, c.mermaid);
        out.push({ id: c.id, ok: true, states: (svg.match(/statediagram-state/g) ?? []).length });
      } catch (err) {
        out.push({ id: c.id, ok: false, error: String(err), states: 0 });
      }
    }
    return out;
  });
  // The consumer group machine, the largest, for a look at its legibility.
  await page.evaluate(async () => {
    const w = globalThis as unknown as { mermaid: { render(id: string, text: string): Promise<{ svg: string }> }; fetch: typeof fetch; document: { querySelector(s: string): { innerHTML: string } } };
    const charts = (await (await w.fetch('/api/machines')).json()) as Array<{ id: string; mermaid: string }>;
    const group = charts.find((c) => c.id === 'group');
    if (group) w.document.querySelector('#statechart').innerHTML = (await w.mermaid.render('shot_group', group.mermaid)).svg;
  });
  await page.locator('#statechart').screenshot({ path: join(artifacts, 'statechart-group.png') });
  for (const id of ['broker', 'controller', 'partitionReplica', 'group', 'transaction']) assert.ok(results.some((r) => r.id === id), `${id} is served`);
  for (const r of results) {
    assert.ok(r.ok, `${r.id}: ${r.error}`);
    assert.ok(r.states >= 3, `${r.id} draws its states`);
  }
  assert.equal(external, []);
});

test.run();
