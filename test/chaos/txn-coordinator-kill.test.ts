// SIGKILL the transaction coordinator of a transactional id while Kastor's transactional producer streams
// transactions (2-3 partitions each, the group's offset sent with each, every 5th aborted) to an RF=3 topic on 3
// brokers — a few ms into a commit, so its EndTxn is in flight — then restart it: another broker loads the id's
// state from __transaction_state and the same producer goes on (it finds the new coordinator by itself). Afterwards a read_committed consumer sees every committed transaction whole, no
// aborted record, every unknown-outcome transaction all or nothing, each partition in production order without
// duplicates, and the group's offset is the last committed transaction's (txn-checker.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TestCluster } from '../../src/testing/index.ts';
import { pollUntil, startChaosCluster, step } from '../helpers/chaos-workload.ts';
import { startTxnWorkload, verifyTxns, type WorkloadTxn } from '../helpers/chaos-txn-workload.ts';
import { coordinatorOf } from '../helpers/txn-requests.ts';

const TOPIC = 'chaos-txn';
const TXN_ID = 'chaos-txn-app';
const GROUP = `${TXN_ID}-group`;
const KILL_DELAY_MS = 3;
let cluster: TestCluster | undefined;
test.after(async () => {
  await cluster?.close();
});

test('killing the transaction coordinator mid-stream breaks no transaction', async () => {
  cluster = await startChaosCluster(TOPIC);
  const c = cluster;
  step('cluster up');
  // Armed once the stream runs: the next commit to start kills the coordinator KILL_DELAY_MS later, while its
  // EndTxn is in flight (just sent, being written as PrepareCommit, or its markers going out: the race decides).
  let armed: ((txn: WorkloadTxn) => void) | null = null;
  const w = startTxnWorkload(c, {
    topic: TOPIC,
    partitions: 3,
    transactionalId: TXN_ID,
    groupId: GROUP,
    maxMs: 60_000,
    onCommitting: (txn) => {
      const fire = armed;
      armed = null;
      fire?.(txn);
    },
  });
  const progress = () => `${w.committed()} committed, ${w.aborted()} aborted of ${w.transactions.length}; last errors: ${w.errors.slice(-3).join(' | ')}`;
  let killedAt = 0;
  let killed = -1;
  let hit: WorkloadTxn | undefined;
  try {
    await pollUntil(() => `20 committed transactions (${progress()})`, () => w.committed() >= 20, 20_000);
    killed = await coordinatorOf(c, TXN_ID);
    const kill = new Promise<void>((resolve, reject) => {
      armed = (txn) => {
        hit = txn;
        setTimeout(() => c.killBroker(killed).then(resolve, reject), KILL_DELAY_MS);
      };
    });
    await pollUntil(() => `a commit to start (${progress()})`, () => hit !== undefined, 10_000);
    await kill;
    killedAt = Date.now();
    step(`killed broker ${killed}, the coordinator of ${TXN_ID}, ${KILL_DELAY_MS} ms into the commit of ${hit!.name}, with ${progress()}`);
    await pollUntil(() => `10 transactions committed after the kill (${progress()})`, () => w.committed(killedAt) >= 10, 30_000);
    step(`after the kill: ${w.committed(killedAt)} committed (coordinator now ${await coordinatorOf(c, TXN_ID)})`);
    await c.restartBroker(killed);
    await c.waitForInSync(undefined, { timeoutMs: 30_000 });
    const restarted = Date.now();
    await pollUntil(() => `10 transactions committed after the restart (${progress()})`, () => w.committed(restarted) >= 10, 20_000);
    step(`after the restart: ${w.committed(restarted)} committed`);
  } finally {
    await w.stop();
  }
  step(`workload stopped: ${progress()}; producers ${w.producers()}`);
  const v = await verifyTxns(c, w, { topic: TOPIC, partitions: 3, groupId: GROUP });
  const after = w.committed(killedAt);
  const hitVisible = hit!.records.every((r) => v.read.has(r.id));
  step(`the transaction whose commit the kill hit, ${hit!.name}: ${hit!.outcome}, ${hitVisible ? 'visible' : 'not visible'}`);
  console.log(JSON.stringify({ scenario: 'txn-coordinator-kill', killed, ...v.report.stats, committedAfterKill: after, hit: `${hit!.name} ${hit!.outcome}${hitVisible ? ' visible' : ''}`, abortedWritten: v.abortedWritten, ends: v.ends, groupOffset: v.groupOffsets[0]?.offset, producers: w.producers(), errors: w.errors.length }));
  assert.ok(after >= 20, `transactions committed after the kill: ${after}`);
  assert.ok(v.report.stats.aborted >= 5, `acknowledged aborts: ${v.report.stats.aborted}`);
  assert.ok(v.abortedWritten > 0, 'aborted records were written (read_uncommitted reads them) and read_committed filtered them');
  assert.ok(v.report.stats.read > 0 && v.groupOffsets[0]!.offset > 0, 'records and a group offset were read back');
  // The producer recovers by itself: it finds the new coordinator when the old one cannot be reached (before
  // that fix every later transaction of the producer failed, each after its retries at the dead broker).
  const unreachable = w.errors.filter((e) => /could not connect|ECONNREFUSED/.test(e));
  assert.equal(unreachable, [], 'transactions failed for want of the dead coordinator');
});

test.run();
