// The dashboard's transactions view in a real (headless, offline) Chromium against a broker process with a
// transaction left open by Kastor's transactional producer: the open transaction shows Ongoing at its
// coordinator with its producer, partitions and running time against its timeout, an initialised id shows
// Empty, the partitions show their last stable offset held back (LSO lag > 0); after the commit the page
// follows without reloading (CompleteCommit, lag 0). Screenshot in test-artifacts/.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchOfflineChromium, type OfflineChromium } from '../helpers/offline-chromium.ts';
import { startOpenTransaction, type OpenTransaction } from '../helpers/open-transaction.ts';

const artifacts = join(process.cwd(), 'test-artifacts');
const TOPIC = 'btx';
let o: OpenTransaction;
let browser: OfflineChromium;
let page: Page;

test.before(async () => {
  mkdirSync(artifacts, { recursive: true });
  try {
    o = await startOpenTransaction({ topic: TOPIC, openId: 'btx-open', idleId: 'btx-idle', transactionTimeoutMs: 45_000 });
    browser = await launchOfflineChromium();
    page = browser.page;
  } catch (err) {
    // uvu swallows a failing before hook (every test just fails): say why.
    console.error('setup failed:', err);
    throw err;
  }
});
test.after(async () => {
  await browser?.close();
  await o?.close();
});

/** Waits for a selector; on failure the screenshot and page errors say what the page showed. */
async function shows(selector: string, timeout = 15_000): Promise<void> {
  await page.waitForSelector(selector, { timeout }).catch(async (err: Error) => {
    await page.screenshot({ path: join(artifacts, 'dashboard-transactions-failed.png'), fullPage: true });
    throw new Error(`${err.message}\npage errors: ${browser.pageErrors.join('\n')}\ntransactions: ${await page.textContent('#transactions')}`);
  });
}

test('the open transaction renders Ongoing at its coordinator, its partitions with the LSO held back', async () => {
  await page.goto(o.base);
  const open = `#transactions tr[data-txn="btx-open"][data-state="Ongoing"][data-coordinator="1"]`;
  await shows(open);
  await shows(`#transactions tr[data-txn="btx-idle"][data-state="Empty"]`);
  assert.is(await page.getAttribute(open, 'data-partitions'), `${TOPIC}-0, ${TOPIC}-1`);
  const row = (await page.textContent(open)) ?? '';
  assert.match(row, /Ongoing/);
  assert.match(row, /\/ 45\.0 s/, 'running time against the 45 s timeout');
  assert.is(await page.locator(`${open} .txn-bar`).count(), 1);
  assert.is(await page.locator(`#transactions tr[data-txn="btx-idle"] .txn-bar`).count(), 0, 'nothing runs for an idle id');
  // Open transactions are listed before idle ones.
  assert.is(await page.getAttribute('#transactions tbody tr:first-child', 'data-txn'), 'btx-open');
  assert.is(await page.getAttribute('#txn-summary b', 'data-open'), '1');
  const running = Number(await page.getAttribute(open, 'data-running-ms'));
  assert.ok(running >= 0 && running < 45_000, `running ${running} ms`);

  await shows(`#partitions tr[data-partition="${TOPIC}-0"][data-hw="2"] td[data-lso="0"]`);
  await shows(`#partitions tr[data-partition="${TOPIC}-0"] td.lso-lag.held[data-lso-lag="2"]`);
  await shows(`#partitions tr[data-partition="${TOPIC}-1"] td[data-lso-lag="1"]`);
  await page.screenshot({ path: join(artifacts, 'dashboard-transactions.png'), fullPage: true });
  assert.equal(browser.external, []);
});

test('after the commit the page follows without reloading: CompleteCommit, LSO lag 0', async () => {
  await page.evaluate(() => ((globalThis as unknown as { kastorMarker: number }).kastorMarker = 7));
  await o.open.commitTransaction();
  await shows(`#transactions tr[data-txn="btx-open"][data-state="CompleteCommit"][data-running-ms=""]`);
  await shows(`#partitions tr[data-partition="${TOPIC}-0"][data-hw="3"] td[data-lso-lag="0"]`);
  await shows(`#partitions tr[data-partition="${TOPIC}-1"] td[data-lso-lag="0"]`);
  assert.is(await page.getAttribute('#txn-summary b', 'data-open'), '0');
  assert.is(await page.evaluate(() => (globalThis as unknown as { kastorMarker?: number }).kastorMarker), 7, 'updated without reloading');
  assert.equal(browser.pageErrors, []);
  assert.equal(browser.external, []);
});

test.run();
