// Fetch sessions (KIP-227) without a broker: the broker's cache (its room, eviction, epochs) and the client's
// side (what an incremental fetch names and forgets, and how it starts over).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EVICTABLE_AFTER_MS, FetchSessionCache, type SessionPartition } from '../../src/broker/fetch-sessions.ts';
import { ClientFetchSession } from '../../src/client/fetch-session.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';

const part = (partition: number, fetchOffset = 0): SessionPartition => ({ topic: 't', topicId: 'id', partition, fetchOffset, partitionMaxBytes: 1024, currentLeaderEpoch: -1 });

function cache(maxSessions: number) {
  let now = 0;
  let nextId = 0;
  const c = new FetchSessionCache({ maxSessions, now: () => now, randomId: () => ++nextId });
  return { c, advance: (ms: number) => (now += ms) };
}

const open = (c: FetchSessionCache, connectionId: number) => c.context({ sessionId: 0, epoch: 0, byTopicId: false, connectionId, requested: [part(0)], forgotten: [] });

test('a full cache opens no session until its least recently used one has been idle for two minutes', () => {
  const { c, advance } = cache(2);
  const a = open(c, 1);
  const b = open(c, 2);
  assert.ok(a.kind === 'full' && a.session && b.kind === 'full' && b.session);
  const none = open(c, 3);
  assert.ok(none.kind === 'full' && none.session === null, 'no room: a sessionless answer (session id 0)');
  advance(EVICTABLE_AFTER_MS - 1);
  // Session a is used: b becomes the least recently used.
  assert.is(c.context({ sessionId: a.session.id, epoch: 1, byTopicId: false, connectionId: 1, requested: [], forgotten: [] }).kind, 'incremental');
  advance(1);
  const d = open(c, 4);
  assert.ok(d.kind === 'full' && d.session, 'b was idle long enough to be evicted');
  assert.is(c.evicted, 1);
  assert.is(c.context({ sessionId: b.session.id, epoch: 1, byTopicId: false, connectionId: 2, requested: [], forgotten: [] }).kind, 'error');
  assert.is(c.context({ sessionId: a.session.id, epoch: 2, byTopicId: false, connectionId: 1, requested: [], forgotten: [] }).kind, 'incremental');
});

test('an incremental fetch updates, adds and forgets partitions; the epoch wraps to 1', () => {
  const { c } = cache(10);
  const full = c.context({ sessionId: 0, epoch: 0, byTopicId: false, connectionId: 1, requested: [part(0), part(1)], forgotten: [] });
  assert.ok(full.kind === 'full' && full.session);
  const s = full.session;
  c.context({ sessionId: s.id, epoch: 1, byTopicId: false, connectionId: 1, requested: [part(1, 7), part(2)], forgotten: [{ topic: 't', topicId: 'id', partition: 0 }] });
  assert.equal([...s.partitions.values()].map((p) => [p.partition, p.fetchOffset]), [[1, 7], [2, 0]]);
  s.epoch = 0x7fffffff;
  c.context({ sessionId: s.id, epoch: 0x7fffffff, byTopicId: false, connectionId: 1, requested: [], forgotten: [] });
  assert.is(s.epoch, 1);
});

test('a session answers a partition again only with news, and moves one that had records to the back', () => {
  const { c } = cache(10);
  const full = c.context({ sessionId: 0, epoch: 0, byTopicId: false, connectionId: 1, requested: [part(0), part(1)], forgotten: [] });
  assert.ok(full.kind === 'full' && full.session);
  const s = full.session;
  const [p0, p1] = [...s.partitions.values()];
  const news = (hw: bigint, records: Buffer | null = null) => ({ errorCode: 0, highWatermark: hw, lastStableOffset: hw, logStartOffset: 0n, preferredReadReplica: -1, records });
  assert.ok(s.answer(p0!, news(0n), false) && s.answer(p1!, news(0n), false), 'a full answer carries every partition');
  assert.not.ok(s.answer(p0!, news(0n), true), 'nothing new');
  assert.ok(s.answer(p0!, news(1n), true), 'a new high watermark');
  assert.not.ok(s.answer(p0!, news(1n), true));
  assert.ok(s.answer(p0!, news(1n, Buffer.from('x')), true), 'records');
  assert.equal([...s.partitions.values()].map((p) => p.partition), [1, 0], 'the partition with records goes to the back');
  assert.ok(s.answer(p1!, { ...news(0n), errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }, true), 'an error');
});

test("the client names only what moved, forgets what it no longer fetches, and starts over when the session is lost", () => {
  const cs = new ClientFetchSession();
  const w = (partition: number, fetchOffset: bigint) => ({ topic: 't', partition, fetchOffset, partitionMaxBytes: 1024 });
  const first = cs.next([w(0, 0n), w(1, 0n)]);
  assert.equal([first.sessionId, first.sessionEpoch, first.full, first.send.length], [0, 0, true, 2]);
  cs.answered(0, 42);
  const second = cs.next([w(0, 5n), w(1, 0n), w(2, 0n)]);
  assert.equal([second.sessionId, second.sessionEpoch, second.full], [42, 1, false]);
  assert.equal(second.send.map((p) => p.partition), [0, 2], 'partition 0 moved, 2 is new, 1 is unchanged');
  cs.answered(0, 42);
  const third = cs.next([w(0, 5n), w(2, 0n)]);
  assert.equal([third.sessionEpoch, third.send.length, third.forget], [2, 0, [{ topic: 't', partition: 1 }]]);
  cs.answered(ErrorCode.INVALID_FETCH_SESSION_EPOCH, 0);
  const fourth = cs.next([w(0, 5n)]);
  assert.equal([fourth.sessionId, fourth.sessionEpoch, fourth.full], [0, 0, true], 'a lost session: a full fetch opening a new one');
  cs.answered(0, 43);
  cs.next([w(0, 6n)]);
  cs.failed();
  const sixth = cs.next([w(0, 6n)]);
  assert.equal([sixth.sessionId, sixth.sessionEpoch, sixth.full], [43, 0, true], 'no answer: a full fetch that closes the old session');
  const off = new ClientFetchSession(false).next([w(0, 0n)]);
  assert.equal([off.sessionId, off.sessionEpoch, off.full], [0, -1, true], 'sessions off: sessionless full fetches');
});

test.run();
