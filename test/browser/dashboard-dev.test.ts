// The dashboard of a real `kastor dev` (three broker processes, free ports, its own data directory) in headless
// Chromium: records kcat produced are browsed (text, pretty-printed JSON, hex, headers; from an offset, from
// the end; followed live) and a record produced from the page reaches the broker; a group's lag chart shows
// the lag a KafkaJS consumer then works off; pressing "kill" on the leader of a partition SIGKILLs that
// broker's process, the page shows a new leader, and dev restarts the broker.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { Kafka as KafkaJs, logLevel } from 'kafkajs';
import { Kafka } from '../../src/client/index.ts';
import { fetchMetadata, freePort } from '../../src/testing/index.ts';
import { alive, startDevOnFreePorts, type DevProcess } from '../helpers/dev-process.ts';

const artifacts = join(process.cwd(), 'test-artifacts');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

const root = mkdtempSync(join(tmpdir(), 'kastor-dashboard-dev-'));
let dev: DevProcess;
let portBase: number;
let bootstrap: string;
let base: string;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

function kcatProduce(topic: string, partition: number, input: string | Buffer, extra: string[] = []): void {
  const r = spawnSync('kcat', ['-P', '-b', bootstrap, '-t', topic, '-p', String(partition), ...extra], { input, timeout: 30_000 });
  assert.is(r.status, 0, `kcat -P failed: ${r.stderr?.toString()}`);
}

async function createTopic(name: string, partitions: number): Promise<void> {
  const admin = new Kafka({ bootstrap, clientId: 'dashboard-dev-test' }).admin();
  try {
    await admin.createTopics([{ topic: name, numPartitions: partitions, replicationFactor: 3 }], { waitForLeaders: true });
  } finally {
    await admin.cluster.close();
  }
}

test.before(async () => {
  mkdirSync(artifacts, { recursive: true });
  let httpPort = 0;
  ({ dev, portBase } = await startDevOnFreePorts(3, async () => ((httpPort = await freePort()), ['--data', join(root, 'data'), '--http', `127.0.0.1:${httpPort}`, '--http-port-base', '0', '--restart-delay-ms', '3000']), {
    readyTimeoutMs: 90_000,
    track: (d) => (dev = d),
  }));
  bootstrap = [0, 1, 2].map((n) => `127.0.0.1:${portBase + n}`).join(',');
  base = `http://127.0.0.1:${httpPort}`;
  context = await chromium.launchPersistentContext(join(root, 'chromium'), { executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 1000 } });
  await context.route('**/*', (route) => (new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort()));
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (err) => pageErrors.push(err.message));
});

test.after(async () => {
  await context?.close().catch(() => {});
  if (dev) {
    dev.child.kill('SIGINT');
    const exit = await Promise.race([dev.exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 40_000).unref())]);
    if (exit === 'late') dev.killAll();
    dev.killAll();
  }
  rmSync(root, { recursive: true, force: true });
});

/** The page's document, as seen from a function evaluated in it (the test is type-checked without DOM types). */
interface PageDoc {
  querySelector(sel: string): { getAttribute(name: string): string | null; dataset: Record<string, string | undefined> } | null;
  querySelectorAll(sel: string): ArrayLike<{ getAttribute(name: string): string | null }>;
}

const cell = async (sel: string) => ((await page.textContent(sel)) ?? '').trim();

test('records kcat produced are browsed, followed live, and a record produced from the page reaches the broker', async () => {
  kcatProduce('kc', 0, 'k1:hello\nk2:{"a":1,"b":[true]}\n', ['-K:', '-H', 'source=kcat']);
  kcatProduce('kc', 0, Buffer.from([0xff, 0xfe, 0x00, 0x01]));
  await page.goto(`${base}/records.html?topic=kc&partition=0`);
  await page.waitForSelector('#records tr[data-offset="2"]', { timeout: 15_000 });
  assert.is(await page.locator('#records tbody tr').count(), 3);
  assert.is(await cell('#records tr[data-offset="0"] td.key'), 'k1');
  assert.is(await cell('#records tr[data-offset="0"] td.value'), 'hello');
  assert.is(await cell('#records tr[data-offset="0"] td.headers'), 'source: kcat');
  assert.is(await page.getAttribute('#records tr[data-offset="1"] td.value', 'data-kind'), 'json');
  assert.is(await cell('#records tr[data-offset="1"] td.value pre.json'), '{\n  "a": 1,\n  "b": [\n    true\n  ]\n}');
  assert.is(await page.getAttribute('#records tr[data-offset="2"] td.value', 'data-kind'), 'hex');
  assert.is(await cell('#records tr[data-offset="2"] td.value'), 'ff fe 00 01');
  assert.is(await page.getAttribute('#records tr[data-offset="2"] td.key', 'data-kind'), 'null');

  // From an offset; from the end with a page of one.
  await page.selectOption('#from', 'offset');
  await page.fill('#offset', '1');
  await page.click('#go');
  await page.waitForFunction(() => (globalThis as unknown as { document: PageDoc }).document.querySelector('#records tbody tr')?.getAttribute('data-offset') === '1', null, { timeout: 10_000 });
  assert.is(await page.locator('#records tbody tr').count(), 2);
  await page.selectOption('#from', 'end');
  await page.fill('#limit', '1');
  await page.click('#go');
  await page.waitForFunction(() => {
    const rows = (globalThis as unknown as { document: PageDoc }).document.querySelectorAll('#records tbody tr');
    return rows.length === 1 && rows[0]!.getAttribute('data-offset') === '2';
  }, null, { timeout: 10_000 });

  // Follow: a record kcat produces now appears without asking.
  await page.check('#follow');
  await page.waitForSelector('#records.following');
  kcatProduce('kc', 0, 'k3:live\n', ['-K:']);
  await page.waitForSelector('#records tr[data-offset="3"]', { timeout: 15_000 });
  assert.is(await cell('#records tr[data-offset="3"] td.value'), 'live');

  // Produce from the page (dev only): it lands at offset 4, follow shows it, and kcat reads it back.
  await page.fill('#produce-key', 'from-page');
  await page.fill('#produce-value', '{"clicked":true}');
  await page.fill('#produce-headers', 'origin=dashboard');
  await page.click('#produce button[type="submit"]');
  await page.waitForSelector('#produce-result[data-ok="true"][data-offset="4"]', { timeout: 15_000 });
  await page.waitForSelector('#records tr[data-offset="4"] td.value[data-kind="json"]', { timeout: 15_000 });
  const read = spawnSync('kcat', ['-C', '-b', bootstrap, '-t', 'kc', '-p', '0', '-o', '4', '-c', '1', '-e', '-f', '%k|%s|%h'], { timeout: 30_000 });
  assert.is(read.stdout.toString().trim(), 'from-page|{"clicked":true}|origin=dashboard');
  await page.uncheck('#follow');
  await page.screenshot({ path: join(artifacts, 'dashboard-records.png'), fullPage: true });
  assert.equal(pageErrors, []);
});

test("a group's lag chart shows the lag, then its fall as a KafkaJS consumer catches up", async () => {
  await createTopic('lagt', 2);
  for (const p of [0, 1]) kcatProduce('lagt', p, Array.from({ length: 150 }, (_, i) => `r${p}-${i}`).join('\n') + '\n');
  const kafkajs = new KafkaJs({ clientId: 'dashboard-lag', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } });
  const admin = kafkajs.admin();
  await admin.connect();
  // Committed at 0: the group lags by every record before its consumer starts.
  await admin.setOffsets({ groupId: 'lag-group', topic: 'lagt', partitions: [{ partition: 0, offset: '0' }, { partition: 1, offset: '0' }] });
  await admin.disconnect();

  await page.goto(base);
  await page.click('#groups tr[data-group="lag-group"]', { timeout: 15_000 });
  const chartShows = (pred: string) =>
    page.waitForFunction(
      (p) => {
        const svg = (globalThis as unknown as { document: PageDoc }).document.querySelector('#lag-chart')!;
        const max = Number(svg.dataset.maxTotal ?? -1);
        const last = svg.dataset.lastTotal === '' || svg.dataset.lastTotal === undefined ? -1 : Number(svg.dataset.lastTotal);
        return p === 'lagging' ? last === 300 : max === 300 && last === 0;
      },
      pred,
      { timeout: 30_000 },
    );
  await chartShows('lagging');
  assert.is(await page.locator('#lag-chart polyline').count(), 2, 'one line per partition');

  const consumer = kafkajs.consumer({ groupId: 'lag-group', sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 500 });
  let consumed = 0;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: ['lagt'] });
    await consumer.run({ autoCommitInterval: 200, eachMessage: async () => void consumed++ });
    await chartShows('caught up');
  } finally {
    await consumer.disconnect();
  }
  assert.is(consumed, 300);
  for (const p of ['lagt-0', 'lagt-1']) assert.is(await page.getAttribute(`#lag-chart polyline[data-partition="${p}"]`, 'data-last'), '0');
  await page.locator('#groups').screenshot({ path: join(artifacts, 'dashboard-lag.png') });
});

test("pressing kill on a partition leader's broker SIGKILLs it; the page shows the new leader and dev restarts it", async () => {
  await createTopic('f', 3);
  await page.goto(base);
  await page.waitForSelector('#partitions tr[data-partition="f-0"][data-isr*=","]', { timeout: 15_000 });
  const leader = Number(await page.getAttribute('#partitions tr[data-partition="f-0"]', 'data-leader'));
  assert.ok(leader >= 1 && leader <= 3, `leader ${leader}`);
  const pid = dev.brokerPids().get(leader)!;
  assert.ok(alive(pid));
  const from = dev.lines.length;
  await page.click(`#brokers tr[data-broker="${leader}"] button[data-action="kill"]`);
  await page.waitForSelector('#dev-message[data-ok="true"]', { timeout: 10_000 });
  assert.match(await cell('#dev-message'), new RegExp(`broker ${leader} \\(pid ${pid}\\) sent SIGKILL`));
  await dev.waitFor(new RegExp(`^broker ${leader} \\(pid ${pid}\\) died: killed by SIGKILL`), 10_000, from);
  assert.not.ok(alive(pid), 'the process is gone');
  await page.waitForSelector(`#brokers tr[data-broker="${leader}"] td[data-process="down"]`, { timeout: 10_000 });
  await page.waitForFunction(
    ([dead]) => {
      const row = (globalThis as unknown as { document: PageDoc }).document.querySelector('#partitions tr[data-partition="f-0"]');
      const l = Number(row?.getAttribute('data-leader'));
      return l > 0 && l !== dead;
    },
    [leader] as const,
    { timeout: 15_000 },
  );
  const shown = Number(await page.getAttribute('#partitions tr[data-partition="f-0"]', 'data-leader'));
  const live = [1, 2, 3].find((n) => n !== leader)!;
  const meta = await fetchMetadata({ host: '127.0.0.1', port: portBase + live - 1 }, ['f']);
  assert.is(shown, meta.topics[0]!.partitions.find((p) => p.partitionIndex === 0)!.leaderId, 'the page shows the leader the cluster reports');
  await page.screenshot({ path: join(artifacts, 'dashboard-dev-kill.png'), fullPage: true });
  // dev starts it again (--restart-delay-ms 3000) and the page sees the new process.
  await dev.waitFor(new RegExp(`^broker ${leader} restarted`), 60_000, from);
  await page.waitForSelector(`#brokers tr[data-broker="${leader}"] td[data-process="running"]`, { timeout: 10_000 });
  assert.ok(!(await cell(`#brokers tr[data-broker="${leader}"] td[data-process]`)).includes(`pid ${pid}`));
});

test.run();
