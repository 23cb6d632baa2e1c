// The controller's decisions for operator requests, as pure functions over plain data: preferred and unclean
// leader elections (ElectLeaders), and partition reassignment (KIP-455) — starting, completing once the
// target is in the ISR, moving a leader being removed, cancelling, and the controller's reconcile pass that
// completes a reassignment after a failover from the metadata alone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import type { ElectionView } from '../../src/controller/partition-election.ts';
import { decideElection, ElectionType, parseElectLeadersRequest } from '../../src/controller/elect-leaders.ts';
import {
  completeReassignment,
  decideReassignment,
  isReassigning,
  originalReplicas,
  parseReassignPartitionsRequest,
  reconcilePartition,
  targetReplicas,
} from '../../src/controller/reassignment.ts';
import { partitionsToRebalance } from '../../src/controller/leader-balance.ts';
import { topicProblem } from '../../src/metadata/metadata-codec.ts';
import type { PartitionState, TopicInfo } from '../../src/metadata/types.ts';
import { BROKER_FLAGS } from '../../src/cli/broker-command.ts';
import { resolveBrokerFlags } from '../../src/cli/broker-settings.ts';

const p = (leader: number, leaderEpoch: number, isr: number[], replicas = [1, 2, 3], extra: Partial<PartitionState> = {}): PartitionState => ({ partition: 0, replicas, leader, leaderEpoch, isr, ...extra });
const view = (live: number[], ineligible: number[] = []): ElectionView => ({ live: new Set(live), eligible: new Set(live.filter((b) => !ineligible.includes(b))), uncleanElection: false });
const registered = new Set([1, 2, 3, 4]);
const next = (d: ReturnType<typeof decideReassignment>): PartitionState | null => {
  assert.is(d.errorCode, 0, `expected success, got ${JSON.stringify(d)}`);
  return 'next' in d ? d.next : null;
};

test('preferred election: the first replica takes over when in the ISR and alive, epoch+1', () => {
  assert.equal(decideElection(p(2, 5, [1, 2, 3]), ElectionType.PREFERRED, view([1, 2, 3])), { errorCode: 0, next: p(1, 6, [1, 2, 3]) });
  assert.is(decideElection(p(1, 5, [1, 2]), ElectionType.PREFERRED, view([1, 2, 3])).errorCode, ErrorCode.ELECTION_NOT_NEEDED);
  assert.is(decideElection(p(2, 5, [2, 3]), ElectionType.PREFERRED, view([1, 2, 3])).errorCode, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, 'not in the ISR');
  assert.is(decideElection(p(2, 5, [1, 2]), ElectionType.PREFERRED, view([2, 3])).errorCode, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, 'dead');
  assert.is(decideElection(p(2, 5, [1, 2]), ElectionType.PREFERRED, view([1, 2, 3], [1])).errorCode, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, 'shutting down');
});

test('unclean election: only without a live leader; a live ISR member first, else a live replica outside the ISR alone in the ISR', () => {
  assert.is(decideElection(p(2, 5, [2]), ElectionType.UNCLEAN, view([1, 2, 3])).errorCode, ErrorCode.ELECTION_NOT_NEEDED);
  assert.equal(decideElection(p(-1, 5, [1]), ElectionType.UNCLEAN, view([2, 3])), { errorCode: 0, next: p(2, 6, [2]) });
  assert.equal(decideElection(p(-1, 5, [1, 3]), ElectionType.UNCLEAN, view([2, 3])), { errorCode: 0, next: p(3, 6, [3]) }, 'clean when it can');
  assert.is(decideElection(p(-1, 5, [1]), ElectionType.UNCLEAN, view([4])).errorCode, ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE);
});

test('ElectLeaders controller request: parsed or refused', () => {
  assert.equal(parseElectLeadersRequest({ electionType: 1, partitions: null }), { electionType: 1, partitions: null });
  assert.equal(parseElectLeadersRequest({ electionType: 0, partitions: [{ topic: 't', partition: 2 }] }), { electionType: 0, partitions: [{ topic: 't', partition: 2 }] });
  assert.is(parseElectLeadersRequest({ electionType: 2, partitions: null }), null);
  assert.is(parseElectLeadersRequest({ electionType: 0, partitions: [{ topic: 't' }] }), null);
  assert.is(parseElectLeadersRequest('x'), null);
});

test('reassignment start: replicas = target + originals leaving, adding and removing recorded, ISR unchanged', () => {
  const started = next(decideReassignment(p(1, 3, [1, 2], [1, 2]), [2, 3], registered, view([1, 2, 3])))!;
  assert.equal(started, p(1, 3, [1, 2], [2, 3, 1], { addingReplicas: [3], removingReplicas: [1] }));
  assert.ok(isReassigning(started));
  assert.equal(originalReplicas(started), [2, 1]);
  assert.equal(targetReplicas(started), [2, 3]);
  assert.is(topicProblem({ name: 't', id: '0'.repeat(32), partitions: [started], config: {}, createdAt: 0 }), null, 'the stored form is valid');
  assert.ok(topicProblem({ name: 't', id: '0'.repeat(32), partitions: [{ ...started, addingReplicas: [9] }], config: {}, createdAt: 0 }), 'an adding replica outside replicas is refused');
});

test('reassignment completes once every target replica is in the ISR; a leader being removed hands over, epoch+1', () => {
  const started = p(1, 3, [1, 2], [2, 3, 1], { addingReplicas: [3], removingReplicas: [1] });
  assert.is(completeReassignment(started, view([1, 2, 3])), null, 'broker 3 not caught up yet');
  assert.equal(completeReassignment({ ...started, isr: [1, 2, 3] }, view([1, 2, 3])), p(2, 4, [2, 3], [2, 3]));
  // The leader stays when it is in the target: same epoch.
  assert.equal(completeReassignment(p(2, 7, [1, 2, 3], [2, 3, 1], { addingReplicas: [3], removingReplicas: [1] }), view([1, 2, 3])), p(2, 7, [2, 3], [2, 3]));
  // No target replica may lead yet (shutting down): wait.
  assert.is(completeReassignment({ ...started, isr: [1, 2, 3] }, view([1, 2, 3], [2, 3])), null);
});

test('reassignment to a fresh broker set: the controller pass completes it from the metadata alone (a new controller too)', () => {
  const started = next(decideReassignment(p(1, 0, [1, 2], [1, 2]), [3, 4], registered, view([1, 2, 3, 4])))!;
  assert.equal(started.replicas, [3, 4, 1, 2]);
  assert.is(reconcilePartition(started, view([1, 2, 3, 4])), null, 'nothing to do until 3 and 4 are in the ISR');
  assert.equal(reconcilePartition({ ...started, isr: [1, 2, 3, 4] }, view([1, 2, 3, 4])), p(3, 1, [3, 4], [3, 4]));
  // The leader died meanwhile: the pass elects a target replica (one epoch) and completes, in one write.
  assert.equal(reconcilePartition({ ...started, isr: [1, 2, 3, 4] }, view([2, 3, 4])), p(3, 1, [3, 4], [3, 4]));
  // Broker 3 died instead: the election shrinks the ISR and the reassignment waits for it.
  assert.equal(reconcilePartition({ ...started, isr: [1, 2, 3, 4] }, view([1, 2, 4])), { ...started, isr: [1, 2, 4] });
});

test('a pure shrink or reordering completes at once; the same set changes nothing', () => {
  assert.equal(next(decideReassignment(p(1, 0, [1, 2, 3]), [2, 3], registered, view([1, 2, 3]))), p(2, 1, [2, 3], [2, 3]));
  assert.equal(next(decideReassignment(p(1, 0, [1, 2, 3]), [3, 2, 1], registered, view([1, 2, 3]))), p(1, 0, [1, 2, 3], [3, 2, 1]));
  assert.is(next(decideReassignment(p(1, 0, [1, 2, 3]), [1, 2, 3], registered, view([1, 2, 3]))), null);
});

test('reassignment refusals: empty, duplicate, unregistered broker; cancelling with none ongoing', () => {
  const code = (target: number[] | null) => decideReassignment(p(1, 0, [1, 2], [1, 2]), target, registered, view([1, 2])).errorCode;
  assert.is(code([]), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.is(code([2, 2]), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.is(code([2, 9]), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.is(code(null), ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
});

test('cancelling reverts to the original replicas; an added replica that leads hands back, epoch+1', () => {
  const started = p(1, 3, [1, 2, 3], [2, 3, 1], { addingReplicas: [3], removingReplicas: [1] });
  assert.equal(next(decideReassignment(started, null, registered, view([1, 2, 3]))), p(1, 3, [1, 2], [2, 1]));
  assert.equal(next(decideReassignment({ ...started, leader: 3 }, null, registered, view([1, 2, 3]))), p(2, 4, [1, 2], [2, 1]));
  // A target equal to the original set cancels as well.
  assert.equal(next(decideReassignment(started, [2, 1], registered, view([1, 2, 3]))), p(1, 3, [1, 2], [2, 1]));
});

test('a new target during a reassignment starts from the original replicas; the abandoned addition leaves the ISR', () => {
  const started = p(1, 3, [1, 2, 3], [2, 3, 1], { addingReplicas: [3], removingReplicas: [1] });
  assert.equal(next(decideReassignment(started, [1, 4], registered, view([1, 2, 3, 4]))), p(1, 3, [1, 2], [1, 4, 2], { addingReplicas: [4], removingReplicas: [2] }));
});

test('AlterPartitionReassignments controller request: parsed or refused', () => {
  assert.equal(parseReassignPartitionsRequest({ partitions: [{ topic: 't', partition: 0, replicas: [1] }, { topic: 't', partition: 1, replicas: null }] }), {
    partitions: [
      { topic: 't', partition: 0, replicas: [1] },
      { topic: 't', partition: 1, replicas: null },
    ],
  });
  assert.is(parseReassignPartitionsRequest({ partitions: [{ topic: 't', partition: 0, replicas: ['1'] }] }), null);
  assert.is(parseReassignPartitionsRequest({}), null);
});

test('auto leader rebalance: a broker with more than the imbalance share of its preferred partitions led elsewhere gets them back', () => {
  const topic = (name: string, partitions: PartitionState[]): TopicInfo => ({ name, id: '0'.repeat(32), partitions: partitions.map((q, i) => ({ ...q, partition: i })), config: {}, createdAt: 0 });
  // Broker 1 prefers 10 partitions and leads 9: 10 % is not more than 10 %. Broker 2 prefers 2 and leads none.
  const ones = Array.from({ length: 10 }, (_, i) => p(i === 0 ? 3 : 1, 0, [1, 3], [1, 3]));
  const twos = [p(3, 0, [2, 3], [2, 3]), p(3, 0, [3], [2, 3])];
  const plan = partitionsToRebalance([topic('a', ones), topic('b', twos)], view([1, 2, 3]), 10);
  assert.equal([...plan], [['b', new Set([0])]], "only broker 2's, and only where it is in the ISR");
  assert.equal([...partitionsToRebalance([topic('a', ones)], view([1, 2, 3]), 5)], [['a', new Set([0])]], 'a lower threshold takes broker 1 too');
  assert.equal([...partitionsToRebalance([topic('b', twos)], view([1, 3]), 10)], [], 'not to a dead broker');
  const reassigning = p(3, 0, [2, 3], [2, 3, 4], { addingReplicas: [4], removingReplicas: [] });
  assert.equal([...partitionsToRebalance([topic('c', [reassigning])], view([1, 2, 3, 4]), 10)], [], 'not during a reassignment');
});

test("server.properties' auto.leader.rebalance.enable and leader.imbalance.* keys reach the broker flags", () => {
  const props = 'auto.leader.rebalance.enable=false\nleader.imbalance.check.interval.seconds=30\nleader.imbalance.per.broker.percentage=25\n';
  const { flags } = resolveBrokerFlags(BROKER_FLAGS, ['--config', 'server.properties', '--id', '1', '--data', '/d'], {}, () => props);
  assert.equal([flags['auto-leader-rebalance'], flags['leader-imbalance-check-interval-ms'], flags['leader-imbalance-per-broker-percentage']], [false, 30_000, 25]);
});

test.run();
