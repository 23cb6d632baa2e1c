// LeaderReplication's ISR expiration with long-polled fetches: a follower whose fetch was held while it was
// caught up counts as caught up until the hold ended (recordHeld, as Kafka updates follower state when a
// delayed fetch completes), so an append right after a long idle hold does not shrink the ISR at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LeaderReplication } from '../../src/replication/leader-replication.ts';
import type { PartitionLog } from '../../src/log/partition-log.ts';
import type { AlterIsrRequest } from '../../src/replication/isr-proposal.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { SimulatedClock } from '../../src/runtime/memory/simulated-clock.ts';

const LAG_MS = 1_500;

function leader() {
  const clock = new SimulatedClock(0);
  const log = { logEndOffset: 5, highWatermark: 5 };
  const proposals: number[][] = [];
  const lr = new LeaderReplication({
    topic: 't', partition: 0, brokerId: 1, leaderEpoch: 0, epochStartOffset: () => 0, log: log as unknown as PartitionLog,
    replicas: () => [1, 2, 3], initialReplicas: [1, 2, 3], isr: () => [1, 2, 3], clock, logger: silentLogger,
    replicaLagTimeMaxMs: LAG_MS, onChange: () => {},
    proposeIsr: async (req: AlterIsrRequest) => (proposals.push(req.isr), { errorCode: 0 }),
  });
  return { clock, log, lr, proposals };
}

test('a fetch held while caught up keeps the follower caught up until the hold ends', () => {
  const { clock, log, lr, proposals } = leader();
  lr.recordFetch(2, 'i', 5);
  lr.recordFetch(3, 'i', 5);
  clock.advanceTo(4_000); // both held this long on an idle partition; then an append answers them
  log.logEndOffset = 6;
  lr.recordHeld(2, 5);
  lr.recordHeld(3, 5);
  clock.advanceTo(4_100); // before their next fetches arrive
  lr.maybeShrink();
  assert.equal(proposals, [], 'nobody is lagging yet');
  lr.recordFetch(3, 'i', 6); // follower 3 fetches again; follower 2 never does (it died)
  clock.advanceTo(4_000 + LAG_MS + 1);
  lr.maybeShrink();
  assert.equal(proposals, [[1, 3]], 'follower 2 is out after replica.lag.time.max.ms');
});

test('without the hold recorded, the same append would count an idle follower as lagging at once', () => {
  const { clock, log, lr, proposals } = leader();
  lr.recordFetch(2, 'i', 5);
  lr.recordFetch(3, 'i', 5);
  clock.advanceTo(4_000);
  log.logEndOffset = 6;
  lr.recordHeld(3, 5);
  clock.advanceTo(4_100);
  lr.maybeShrink();
  assert.equal(proposals, [[1, 3]]);
});

test('a hold that began behind the leader proves nothing', () => {
  const { clock, log, lr, proposals } = leader();
  lr.recordFetch(3, 'i', 5);
  lr.recordFetch(2, 'i', 3); // behind
  clock.advanceTo(4_000);
  log.logEndOffset = 6;
  lr.recordHeld(2, 3);
  lr.recordHeld(3, 5);
  lr.maybeShrink();
  assert.equal(proposals, [[1, 3]]);
});

test.run();
