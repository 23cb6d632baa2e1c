// The simulator's own promises: one seed is one run, event for event (the trace's hash is the same twice, and
// differs for another seed), and the seeds on which it found real bugs stay as regression runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runSimulation } from './simulation.ts';

test('the same seed gives the same trace twice; another seed another trace', async () => {
  const a = await runSimulation({ seed: 11 });
  const b = await runSimulation({ seed: 11 });
  assert.ok(a.steps > 1000 && a.stats.sent > 100, `the run did something (${a.steps} steps, ${a.stats.sent} records)`);
  assert.ok(a.stats.faults.length > 5, 'faults were injected');
  assert.is(b.traceHash, a.traceHash);
  assert.equal({ ...b, wallMs: 0, traceLines: null }, { ...a, wallMs: 0, traceLines: null });
  const c = await runSimulation({ seed: 12 });
  assert.is.not(c.traceHash, a.traceHash);
});

test('--trace keeps the lines, and tracing does not change the run', async () => {
  const plain = await runSimulation({ seed: 11, durationMs: 30_000 });
  const traced = await runSimulation({ seed: 11, durationMs: 30_000, trace: true });
  assert.is(traced.traceHash, plain.traceHash);
  assert.ok(traced.traceLines!.length > 1000);
  assert.ok(traced.traceLines!.some((l) => / fault /.test(l)), 'faults are in the trace');
  assert.ok(traced.traceLines!.some((l) => / log info /.test(l)), 'broker logs are in the trace');
});

// Seeds on which the simulator found real bugs (the commit that fixed each says what it was). The code has
// moved since, so a seed no longer replays its bug's exact schedule; each still runs a cluster through faults
// of the same kinds, and they run here on every change.
const REGRESSIONS: Array<[number, string]> = [
  [3, 'a broker deregistered while alive re-registered once and never retried after a failed write'],
  [6, 'the same'],
  [56, 'a leader restarted after a power loss kept leading with a truncated log (registrations now fenced)'],
  [128, 'the same: replicas differed below the high watermark'],
  [167, 'the same: acknowledged records lost'],
  [27, 'a reconcile pass cut short by a lapsed lease was never retried; a fenced broker stayed fenced'],
  [243, 'a zombie leader answered OUT_OF_ORDER_SEQUENCE_NUMBER (the simulated producer now retries at the leader)'],
  [305, 'a leader that lost power came back as the ISR member kept while the other member, with its log whole, was down'],
  [319, 'a zombie group member read the next generation\'s commits (the check now ends with the generation)'],
  [482, 'records that only a too-small ISR held were exposed and read, then lost (the high watermark now waits for min.insync.replicas, KIP-966)'],
  [958, 'a follower append in flight when its replica became leader landed after the new epoch began, with its old epoch: followers truncated and refetched forever'],
  [5, 'a topic deleted through one broker was refused as existing by another that had not seen the deletion'],
  [9, 'the same'],
  [52, 'a partition.metadata written without an fsync was torn by a power loss and read as another topic\'s id: the replica deleted its log'],
  [509, 'the same, empty: an earlier incarnation\'s log adopted as the new topic\'s'],
  [39, 'after the metadata bucket lost its latest writes, the controller lease\'s revisions went back and no broker saw the lease change again: controllers flapped and refused every ISR change'],
  [17, 'the same'],
  [15, 'a topic deleted while the bucket\'s loss was being repaired was deleted from the lost state (not found), then written back by the repair: resurrected'],
  [113, 'a broker that heard of the bucket\'s loss late (cut from NATS) wrote its stale value back over a delete made since'],
  [483, 'the same'],
  [499, 'a broker restarted after a deletion the bucket then lost wrote no delete back and showed the deleted topic again; a create through it was refused as existing'],
  [356, 'the last in-sync replica lost its unsynced data (failing fsyncs): past Kafka\'s promise, now not drawn'],
];

for (const [seed, what] of REGRESSIONS) {
  test(`regression seed ${seed}: ${what}`, async () => {
    const r = await runSimulation({ seed });
    assert.ok(r.ok, `seed ${seed} failed (replay: npm run sim -- --seed ${seed} --trace):\n${r.violations.join('\n')}`);
  });
}

test.run();
