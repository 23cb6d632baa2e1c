// The partition replica machine: recovery then the role the assignment names, role changes on newer leader
// epochs only (fencing), and clean stop — with the log effects replaced by test doubles.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, fromPromise, waitFor } from 'xstate';
import { partitionReplicaMachine, type Assignment } from '../../machines/partition-replica.ts';

function start(assignment: Assignment, recover: () => Promise<{ logEndOffset: number; highWatermark: number }> = async () => ({ logEndOffset: 7, highWatermark: 5 })) {
  const calls: string[] = [];
  const machine = partitionReplicaMachine.provide({
    actors: {
      recoverLog: fromPromise(recover),
      closeLog: fromPromise<void, { topic: string; partition: number }>(async () => {
        calls.push('close');
      }),
      deleteLog: fromPromise<void, { topic: string; partition: number }>(async () => {
        calls.push('delete');
      }),
    },
    actions: {
      startLeading: ({ context }) => void calls.push(`lead@${context.leaderEpoch}`),
      startFollowing: ({ context }) => void calls.push(`follow@${context.leaderEpoch}`),
      stopLeading: () => void calls.push('stop-leading'),
      stopFollowing: () => void calls.push('stop-following'),
      reportOffline: () => void calls.push('offline'),
    },
  });
  const actor = createActor(machine, { input: { topic: 't', partition: 0, brokerId: 1, assignment } }).start();
  return { actor, calls };
}

const a = (leader: number, leaderEpoch: number): Assignment => ({ leader, leaderEpoch, replicas: [1, 2, 3], isr: [1, 2, 3] });

test('recovers, then leads when the assignment names this broker', async () => {
  const { actor, calls } = start(a(1, 0));
  await waitFor(actor, (s) => s.matches('leader'));
  assert.is(actor.getSnapshot().context.logEndOffset, 7);
  assert.is(actor.getSnapshot().context.highWatermark, 5);
  assert.equal(calls, ['lead@0']);
});

test('a newer epoch moves leadership; an older one is ignored in any state', async () => {
  const { actor, calls } = start(a(2, 3));
  await waitFor(actor, (s) => s.matches('follower'));
  actor.send({ type: 'ASSIGNMENT', ...a(1, 2) }); // stale: must not make this broker leader
  assert.ok(actor.getSnapshot().matches('follower'));
  assert.is(actor.getSnapshot().context.leaderEpoch, 3);
  actor.send({ type: 'ASSIGNMENT', ...a(1, 4) });
  assert.ok(actor.getSnapshot().matches('leader'));
  actor.send({ type: 'ASSIGNMENT', ...a(3, 4) }); // same epoch, other leader: not a newer epoch, ignored
  assert.ok(actor.getSnapshot().matches('leader'));
  actor.send({ type: 'ASSIGNMENT', ...a(3, 5) });
  assert.ok(actor.getSnapshot().matches('follower'));
  assert.is(actor.getSnapshot().context.leader, 3);
  assert.equal(calls, ['follow@3', 'stop-following', 'lead@4', 'stop-leading', 'follow@5']);
});

test('an assignment that arrives during recovery is applied after it', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const { actor } = start(a(2, 0), async () => {
    await gate;
    return { logEndOffset: 0, highWatermark: 0 };
  });
  actor.send({ type: 'ASSIGNMENT', ...a(1, 1) });
  assert.ok(actor.getSnapshot().matches('recovering'));
  release();
  await waitFor(actor, (s) => s.matches('leader'));
  assert.is(actor.getSnapshot().context.leaderEpoch, 1);
});

test('a log that cannot be recovered leaves the replica offline with the reason', async () => {
  const { actor } = start(a(1, 0), async () => {
    throw new Error('corrupt segment 00000000000000000000.log at byte 4096');
  });
  await waitFor(actor, (s) => s.matches('offline'));
  assert.match(actor.getSnapshot().context.error ?? '', /corrupt segment/);
});

test('a log that fails while leading or following takes the replica offline: it stops the role, reports once, and no assignment brings it back', async () => {
  for (const [assignment, role, stop] of [[a(1, 0), 'leader', 'stop-leading'], [a(2, 0), 'follower', 'stop-following']] as const) {
    const { actor, calls } = start(assignment);
    await waitFor(actor, (s) => s.matches(role));
    calls.length = 0;
    actor.send({ type: 'LOG_FAILED', error: 'injected fsync failure' });
    assert.ok(actor.getSnapshot().matches('offline'), role);
    assert.equal(calls, [stop, 'offline']);
    assert.is(actor.getSnapshot().context.error, 'injected fsync failure');
    actor.send({ type: 'ASSIGNMENT', ...a(1, 1) });
    actor.send({ type: 'ASSIGNMENT', ...a(3, 2) });
    assert.ok(actor.getSnapshot().matches('offline'));
    assert.is(actor.getSnapshot().context.leaderEpoch, 2, 'the assignments are still followed in the context');
    assert.equal(calls, [stop, 'offline']);
    actor.send({ type: 'STOP' });
    await waitFor(actor, (s) => s.status === 'done');
  }
});

test('STOP closes the log and DELETE deletes it, ending the actor', async () => {
  const one = start(a(1, 0));
  await waitFor(one.actor, (s) => s.matches('leader'));
  one.actor.send({ type: 'STOP' });
  await waitFor(one.actor, (s) => s.status === 'done');
  assert.ok(one.calls.includes('close'));
  const two = start(a(1, 0));
  await waitFor(two.actor, (s) => s.matches('leader'));
  two.actor.send({ type: 'DELETE' });
  await waitFor(two.actor, (s) => s.status === 'done');
  assert.ok(two.calls.includes('delete'));
});

test.run();
