// The ISR and the high watermark, between three brokers in one process (test/helpers/replication-harness.ts):
// the high watermark moves when every ISR member has the data and acks=all waits for it, a lagging follower is
// proposed out (replica.lag.time.max.ms) and a caught-up one back in, min.insync.replicas refuses or holds back
// (KIP-966), and a consumer reads only below the high watermark. How a follower's log becomes the leader's is
// test/unit/replication-in-process.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { batchOf, recordsIn } from '../helpers/log-fixtures.ts';
import { bytesBelow, harness, rf3, settle, until } from '../helpers/replication-harness.ts';

test('followers catch up; the HW advances only when every ISR member has the data; acks=all waits for it', async () => {
  const h = harness();
  try {
    await h.create(0, rf3(1, 0));
    const leader = h.replica(1);
    await leader.produce(batchOf('a', 3), 1, 1000);
    await leader.produce(batchOf('b', 2), 1, 1000);
    assert.is(leader.log!.logEndOffset, 5);
    assert.is(leader.log!.highWatermark, 0, 'no follower has fetched yet');
    let acked = false;
    const ack = leader.produce(batchOf('c', 1), -1, 10_000).then((r) => ((acked = true), r));
    ack.catch(() => {});
    await until(() => leader.log!.logEndOffset === 6, 'the acks=all append');
    await h.round(2, 1); // broker 2 gets everything
    await h.round(2, 1); // and reports its new log end
    assert.is(h.replica(2).log!.logEndOffset, 6);
    assert.is(leader.log!.highWatermark, 0, 'broker 3 (in the ISR) has nothing yet');
    await h.round(3, 1);
    await settle();
    assert.is(acked, false);
    await h.round(3, 1);
    await settle();
    assert.is(leader.log!.highWatermark, 6);
    assert.is(acked, true);
    assert.is((await ack).baseOffset, 5);
    await h.round(2, 1);
    await h.round(3, 1);
    for (const b of [2, 3]) {
      assert.is(h.replica(b).log!.highWatermark, 6, `follower ${b} took the leader's HW`);
      assert.ok((await bytesBelow(h.replica(b), 6)).equals(await bytesBelow(leader, 6)), `broker ${b} is byte-identical`);
      assert.equal(h.replica(b).log!.epochs.entries(), [{ epoch: 0, startOffset: 0 }]);
    }
    assert.equal(recordsIn(await bytesBelow(h.replica(3), 6)).map(([o, v]) => `${o}:${v}`), ['0:a-0', '1:a-1', '2:a-2', '3:b-0', '4:b-1', '5:c-0']);
  } finally {
    await h.close();
  }
});

test('the replica actors learn the high watermark and log end, one event for many moves', async () => {
  const h = harness();
  try {
    await h.create(0, rf3(1, 0));
    const leader = h.replica(1);
    const events: number[] = [];
    leader.actor.subscribe((snap) => events.push(snap.context.highWatermark));
    const before = events.length;
    for (let i = 0; i < 5; i++) {
      await leader.produce(batchOf(`m${i}`, 2), 1, 1000);
      for (const b of [2, 3, 2, 3]) await h.round(b, 1);
    }
    assert.is(leader.log!.highWatermark, 10);
    await h.round(2, 1); // the follower learns it on its next fetch
    assert.is(h.replica(2).log!.highWatermark, 10);
    h.clock.advance(100); // HIGH_WATERMARK_REPORT_MS: the replicas report to their actors
    await until(() => leader.actor.getSnapshot().context.highWatermark === 10 && h.replica(2).actor.getSnapshot().context.highWatermark === 10, 'HW 10 in the leader\'s and a follower\'s actor context');
    assert.is(leader.actor.getSnapshot().context.logEndOffset, 10);
    assert.ok(events.length - before < 5, `the HW moved 5 times; the actor got ${events.length - before} snapshots`);
  } finally {
    await h.close();
  }
});

test('a lagging follower is proposed out of the ISR; the HW then moves and acks=all completes', async () => {
  const h = harness();
  try {
    await h.create(0, rf3(1, 0));
    const leader = h.replica(1);
    await h.round(2, 1);
    await h.round(3, 1);
    let acked = false;
    const ack = leader.produce(batchOf('a', 2), -1, 60_000).then(() => (acked = true));
    ack.catch(() => {});
    await until(() => leader.log!.logEndOffset === 2, 'the acks=all append');
    await h.round(2, 1);
    await h.round(2, 1); // broker 2 is caught up; broker 3 is silent from now on
    h.clock.advance(1_000);
    leader.maybeShrinkIsr();
    assert.equal(h.proposals, [], 'not lagging for replica.lag.time.max.ms yet');
    h.clock.advance(1_000);
    leader.maybeShrinkIsr();
    assert.equal(h.proposals, [{ topic: 't', partition: 0, leaderId: 1, leaderEpoch: 0, isr: [1, 2], fromIsr: [1, 2, 3] }], "the proposal names the ISR it was computed from (Kafka's partition epoch)");
    await settle();
    assert.equal(leader.isr, [1, 2]);
    await ack;
    assert.ok(acked);
    assert.is(leader.log!.highWatermark, 2);
  } finally {
    await h.close();
  }
});

test('a caught-up follower is proposed back in; while pending it already holds the HW back', async () => {
  const h = harness();
  try {
    await h.create(0, rf3(1, 0, [1, 2]));
    const leader = h.replica(1);
    await leader.produce(batchOf('a', 3), 1, 1000);
    await h.round(2, 1);
    await h.round(2, 1);
    assert.is(leader.log!.highWatermark, 3);
    let commit!: () => void;
    h.controller = (req) =>
      new Promise((resolve) => {
        commit = () => {
          h.assignAll(0, { ...rf3(1, 0), isr: req.isr });
          resolve({ errorCode: ErrorCode.NONE });
        };
      });
    await h.round(3, 1); // broker 3 copies offsets 0..2
    assert.equal(h.proposals, []);
    await h.round(3, 1); // reports log end 3 = HW: eligible
    assert.equal(h.proposals.map((p) => p.isr), [[1, 2, 3]]);
    assert.equal(leader.pendingIsr, [1, 2, 3]);
    await leader.produce(batchOf('b', 2), 1, 1000);
    await h.round(2, 1);
    await h.round(2, 1);
    assert.is(leader.log!.highWatermark, 3, 'the joining replica counts while its addition is pending');
    await h.round(3, 1); // one more proposal while pending must not be sent
    assert.is(h.proposals.length, 1);
    commit();
    await settle();
    assert.equal(leader.isr, [1, 2, 3]);
    assert.is(leader.pendingIsr, null);
    await h.round(3, 1);
    assert.is(leader.log!.highWatermark, 5);
  } finally {
    await h.close();
  }
});

test('a rejected proposal is dropped and the ISR stays', async () => {
  const h = harness();
  try {
    await h.create(0, rf3(1, 0));
    h.controller = async () => ({ errorCode: ErrorCode.FENCED_LEADER_EPOCH });
    await h.replica(1).produce(batchOf('a', 1), 1, 1000);
    h.clock.advance(5_000);
    h.replica(1).maybeShrinkIsr();
    await settle();
    assert.is(h.proposals.length, 1);
    assert.equal(h.replica(1).isr, [1, 2, 3]);
    assert.is(h.replica(1).pendingIsr, null);
  } finally {
    await h.close();
  }
});

test('acks=all answers NOT_ENOUGH_REPLICAS below min.insync.replicas, times out, and fails on leadership loss', async () => {
  const h = harness([1, 2, 3], 1500, 2);
  try {
    await h.create(0, rf3(1, 0, [1]));
    const leader = h.replica(1);
    const codeOf = (p: Promise<unknown>) => p.then(() => ErrorCode.NONE, (e: { errorCode?: number }) => e.errorCode ?? -2);
    assert.is(await codeOf(leader.produce(batchOf('a', 1), -1, 5_000)), ErrorCode.NOT_ENOUGH_REPLICAS);
    assert.is(leader.log!.logEndOffset, 0, 'refused before the append');
    h.assignAll(0, rf3(1, 0, [1, 2]));
    let timedOut = -1;
    void codeOf(leader.produce(batchOf('b', 1), -1, 30)).then((code) => (timedOut = code));
    await until(() => (h.clock.advance(30), timedOut !== -1), 'the acks=all timeout on the simulated clock');
    assert.is(timedOut, ErrorCode.REQUEST_TIMED_OUT);
    const pending = codeOf(leader.produce(batchOf('c', 1), -1, 60_000));
    await until(() => leader.log!.logEndOffset === 2, 'the append');
    h.assignAll(0, rf3(2, 1, [2, 3]));
    assert.is(await pending, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.is(await codeOf(leader.produce(batchOf('d', 1), -1, 5_000)), ErrorCode.NOT_LEADER_OR_FOLLOWER);
  } finally {
    await h.close();
  }
});

test('below min.insync.replicas the high watermark stays (KIP-966): acks=1 records are not exposed, acks=all waiters are refused, and it moves once the ISR is back', async () => {
  const h = harness([1, 2, 3], 1500, 2);
  try {
    await h.create(0, rf3(1, 0, [1, 2]));
    const leader = h.replica(1);
    const codeOf = (p: Promise<unknown>) => p.then(() => ErrorCode.NONE, (e: { errorCode?: number }) => e.errorCode ?? -2);
    await h.round(2, 1);
    const waiting = codeOf(leader.produce(batchOf('a', 2), -1, 60_000));
    await until(() => leader.log!.logEndOffset === 2, 'the acks=all append');
    // Broker 2 leaves the ISR before it fetched the batch: ISR [1] is below min.insync.replicas 2.
    h.assignAll(0, rf3(1, 0, [1]));
    assert.is(await waiting, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    await leader.produce(batchOf('b', 2), 1, 5_000);
    assert.is(leader.log!.logEndOffset, 4);
    assert.is(leader.log!.highWatermark, 0, 'records only the leader holds are not committed while the ISR is too small');
    const fetched = await leader.fetch(0, 1 << 20);
    assert.is(fetched.data.length, 0, 'a consumer reads nothing above the high watermark');
    // Broker 2 catches up and is back in the ISR: the high watermark moves over everything both hold.
    await h.round(2, 1);
    h.assignAll(0, rf3(1, 0, [1, 2]));
    await h.round(2, 1);
    assert.is(leader.log!.highWatermark, 4);
  } finally {
    await h.close();
  }
});

test('a consumer between the high watermark and the log end gets an empty answer, past the log end OFFSET_OUT_OF_RANGE', async () => {
  const h = harness();
  try {
    await h.create(0, rf3(1, 0));
    // acks=1: the leader's log grows to 3, the followers have not fetched, the high watermark stays at 0.
    await h.replica(1).produce(batchOf('a', 3), 1, 1000);
    const leader = h.replica(1);
    assert.is(leader.log!.logEndOffset, 3);
    assert.is(leader.log!.highWatermark, 0);
    const between = await leader.fetch(2, 1 << 20);
    assert.is(between.data.length, 0, 'nothing readable yet, and no reset of the consumer');
    assert.is(between.highWatermark, 0);
    try {
      await leader.fetch(4, 1 << 20);
      assert.unreachable('past the log end');
    } catch (err) {
      assert.is((err as { errorCode?: number }).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    }
  } finally {
    await h.close();
  }
});

test.run();
