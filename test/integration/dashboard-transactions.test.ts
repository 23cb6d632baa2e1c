// The dashboard's transaction view from a real broker process (/api/cluster, built from the status the broker
// publishes): with Kastor's transactional producer's transaction left open, its coordinator lists it Ongoing
// with producer id and epoch, its partitions, its timeout and a running time that grows, an initialised id sits
// Empty with nothing running, and each partition of the open transaction shows its last stable offset held at
// the transaction's first offset (LSO lag = high watermark − LSO > 0). After the commit the id is
// CompleteCommit and the lag is 0.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ClusterView, PartitionView, TransactionView } from '../../src/dashboard/cluster-view.ts';
import { startOpenTransaction, type OpenTransaction } from '../helpers/open-transaction.ts';
import { until } from '../helpers/until.ts';

const TOPIC = 'dtx';
let o: OpenTransaction;

test.before(async () => {
  // uvu swallows a failing before hook (every test just fails): say why.
  o = await startOpenTransaction({ topic: TOPIC, openId: 'dtx-open', idleId: 'dtx-idle', transactionTimeoutMs: 45_000 }).catch((err: unknown) => {
    console.error('setup failed:', err);
    throw err;
  });
});
test.after(async () => {
  await o?.close();
});

async function view(): Promise<ClusterView> {
  return (await (await fetch(`${o.base}/api/cluster`)).json()) as ClusterView;
}
const txn = (v: ClusterView, id: string): TransactionView | undefined => v.transactions.find((t) => t.transactionalId === id);
const partition = (v: ClusterView, p: number): PartitionView | undefined => v.topics.find((t) => t.name === TOPIC)?.partitions[p];

/** The latest view once `pred` holds of it (bounded). */
async function viewWhere(what: string, pred: (v: ClusterView) => boolean): Promise<ClusterView> {
  let last: ClusterView | null = null;
  await until(what, async () => pred((last = await view())), 15_000, 100).catch((err: Error) => {
    throw new Error(`${err.message}\nlast view: ${JSON.stringify({ transactions: last?.transactions, partitions: last?.topics.find((t) => t.name === TOPIC)?.partitions })}`);
  });
  return last!;
}

test('the open transaction shows Ongoing at its coordinator, and its partitions an LSO held back', async () => {
  const v = await viewWhere('the open transaction and the LSO lag in the view', (v) => txn(v, 'dtx-open')?.state === 'Ongoing' && partition(v, 0)?.lsoLag === 2 && partition(v, 1)?.lsoLag === 1);
  const t = txn(v, 'dtx-open')!;
  assert.is(t.coordinator, 1);
  assert.equal(t.partitions, [
    { topic: TOPIC, partition: 0 },
    { topic: TOPIC, partition: 1 },
  ]);
  assert.ok(t.producerId >= 0, `producer id ${t.producerId}`);
  assert.is(t.producerEpoch, 0);
  assert.is(t.timeoutMs, 45_000);
  assert.ok(t.runningMs !== null && t.runningMs >= 0 && t.runningMs < 45_000, `running ${t.runningMs} ms`);
  assert.is(t.overdue, false);
  assert.is(v.totals.openTransactions, 1);
  assert.is(v.transactions[0]!.transactionalId, 'dtx-open', 'open transactions are listed first');

  const idle = txn(v, 'dtx-idle')!;
  assert.equal([idle.coordinator, idle.state, idle.runningMs, idle.partitions], [1, 'Empty', null, []]);
  assert.is(idle.producerId === t.producerId, false);

  const [p0, p1] = [partition(v, 0)!, partition(v, 1)!];
  assert.equal([p0.highWatermark, p0.lastStableOffset, p0.lsoLag], [2, 0, 2]);
  assert.equal([p1.highWatermark, p1.lastStableOffset, p1.lsoLag], [1, 0, 1]);
  const offsets = v.topics.find((x) => x.name === '__transaction_state')?.partitions.filter((p) => p.highWatermark !== null) ?? [];
  assert.ok(offsets.length > 0 && offsets.every((p) => p.lsoLag === 0), 'partitions without open transactions show no LSO lag');

  // Each transactional id is a live actor of the transaction machine, in the dashboard's actor directory.
  const actors = (await (await fetch(`${o.base}/api/actors`)).json()) as Array<{ systemId: string; kind: string; machineId: string | null; state: unknown }>;
  const actor = actors.find((x) => x.systemId === 'transaction-dtx-open@broker-1');
  assert.equal([actor?.kind, actor?.machineId, actor?.state], ['transaction', 'transaction', 'Ongoing'], JSON.stringify(actors.map((x) => x.systemId)));

  // The running time is the coordinator's, and it grows while the transaction stays open.
  await viewWhere('the running time to grow', (later) => (txn(later, 'dtx-open')?.runningMs ?? 0) >= t.runningMs! + 1000);
});

test('after the commit the id is CompleteCommit with nothing running, and the LSO catches up', async () => {
  await o.open.commitTransaction();
  const v = await viewWhere('the committed transaction in the view', (v) => txn(v, 'dtx-open')?.state === 'CompleteCommit' && partition(v, 0)?.lsoLag === 0 && partition(v, 1)?.lsoLag === 0);
  const t = txn(v, 'dtx-open')!;
  assert.equal([t.runningMs, t.partitions, t.overdue], [null, [], false]);
  assert.is(v.totals.openTransactions, 0);
  // Each partition holds its records and the commit marker: the LSO is the high watermark again.
  assert.equal([partition(v, 0)!.highWatermark, partition(v, 0)!.lastStableOffset], [3, 3]);
  assert.equal([partition(v, 1)!.highWatermark, partition(v, 1)!.lastStableOffset], [2, 2]);
});

test.run();
