// One behaviour suite for every MetadataKv implementation (memory-kv, nats-kv): what the metadata store
// relies on is pinned here once, so the simulation backend cannot drift from the real bucket.
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { KeyExistsError, RevisionMismatchError, InvalidKeyError } from '../../src/metadata/kv-errors.ts';
import type { KvWatchEvent, MetadataKv } from '../../src/metadata/kv.ts';

export interface KvFixture {
  kv: MetadataKv;
  /** Another client of the same store (for NATS: another connection), for concurrent writers. */
  second(): Promise<MetadataKv>;
  dispose(): Promise<void>;
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

/** Reads events from an iterator until `count` arrived, failing after `timeoutMs`. */
async function take(it: AsyncIterator<KvWatchEvent>, count: number, timeoutMs = 5_000): Promise<KvWatchEvent[]> {
  const out: KvWatchEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out with ${out.length}/${count} events: ${JSON.stringify(out.map(show))}`)), timeoutMs);
  });
  try {
    while (out.length < count) {
      const r = await Promise.race([it.next(), timeout]);
      if (r.done) throw new Error(`watch ended after ${out.length}/${count} events`);
      out.push(r.value);
    }
    return out;
  } finally {
    clearTimeout(timer);
  }
}

function show(e: KvWatchEvent): string {
  return e.operation === 'REPLAYED' || e.operation === 'REWOUND' ? `${e.operation}@${e.revision}` : `${e.operation} ${e.key}=${dec(e.value)}@${e.revision}`;
}

async function rejectsWith(p: Promise<unknown>, cls: Function, code: string): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, cls);
    assert.is((err as { code: string }).code, code);
    return err;
  }
  assert.unreachable(`expected ${code}`);
}

export function kvConformance(test: Test, make: () => Promise<KvFixture>): void {
  const withKv = (name: string, fn: (f: KvFixture) => Promise<void>) =>
    test(name, async () => {
      const f = await make();
      try {
        await fn(f);
      } finally {
        await f.dispose();
      }
    });

  withKv('get of a missing key is null; put returns increasing revisions across keys', async ({ kv }) => {
    assert.is(await kv.get('brokers.1'), null);
    const r1 = await kv.put('brokers.1', enc('a'));
    const r2 = await kv.put('brokers.2', enc('b'));
    const r3 = await kv.put('brokers.1', enc('c'));
    assert.ok(r1 > 0 && r2 > r1 && r3 > r2);
    const e = await kv.get('brokers.1');
    assert.is(dec(e!.value), 'c');
    assert.is(e!.revision, r3);
  });

  withKv('create refuses an existing key with KeyExistsError and is allowed again after delete', async ({ kv }) => {
    const r = await kv.create('cluster.id', enc('x'));
    await rejectsWith(kv.create('cluster.id', enc('y')), KeyExistsError, 'KEY_EXISTS');
    assert.is(dec((await kv.get('cluster.id'))!.value), 'x');
    await kv.delete('cluster.id');
    const r2 = await kv.create('cluster.id', enc('z'));
    assert.ok(r2 > r);
    assert.is(dec((await kv.get('cluster.id'))!.value), 'z');
  });

  withKv('update is compare-and-set on the revision', async ({ kv }) => {
    const r1 = await kv.create('topics.a', enc('v1'));
    const r2 = await kv.update('topics.a', enc('v2'), r1);
    assert.ok(r2 > r1);
    const err = (await rejectsWith(kv.update('topics.a', enc('stale'), r1), RevisionMismatchError, 'REVISION_MISMATCH')) as RevisionMismatchError;
    assert.is(err.key, 'topics.a');
    assert.is(err.expectedRevision, r1);
    assert.is(dec((await kv.get('topics.a'))!.value), 'v2');
    await rejectsWith(kv.update('topics.missing', enc('x'), r2), RevisionMismatchError, 'REVISION_MISMATCH');
    await rejectsWith(kv.update('topics.a', enc('x'), 0), RevisionMismatchError, 'REVISION_MISMATCH');
    assert.is(await kv.get('topics.missing'), null);
  });

  withKv('delete hides the key; with an expected revision it is compare-and-set', async ({ kv }) => {
    const r1 = await kv.put('topics.a', enc('v1'));
    const r2 = await kv.put('topics.a', enc('v2'));
    await rejectsWith(kv.delete('topics.a', r1), RevisionMismatchError, 'REVISION_MISMATCH');
    assert.is(dec((await kv.get('topics.a'))!.value), 'v2');
    await kv.delete('topics.a', r2);
    assert.is(await kv.get('topics.a'), null);
    assert.equal(await kv.keys('topics'), []);
    await kv.delete('topics.never'); // deleting a missing key is not an error
    assert.is(await kv.get('topics.never'), null);
  });

  withKv('keys lists live keys under a prefix of whole tokens, sorted', async ({ kv }) => {
    for (const k of ['topics.b', 'topics.a', 'topics.x.y', 'topicsx.q', 'brokers.1', 'controller']) await kv.put(k, enc(k));
    await kv.put('topics.gone', enc('g'));
    await kv.delete('topics.gone');
    assert.equal(await kv.keys('topics'), ['topics.a', 'topics.b', 'topics.x.y']);
    assert.equal(await kv.keys(), ['brokers.1', 'controller', 'topics.a', 'topics.b', 'topics.x.y', 'topicsx.q']);
  });

  withKv('invalid keys are refused with InvalidKeyError', async ({ kv }) => {
    for (const k of ['', 'a..b', '.a', 'a.', 'a b', 'a*', 'a>']) {
      await rejectsWith(kv.put(k, enc('v')), InvalidKeyError, 'INVALID_KEY');
    }
  });

  withKv('a stored value does not change when the caller reuses its buffer', async ({ kv }) => {
    const buf = enc('abc');
    await kv.put('k', buf);
    buf[0] = 0x7a;
    assert.is(dec((await kv.get('k'))!.value), 'abc');
  });

  withKv('watch replays current values, marks the end of the replay, then streams puts and deletes', async ({ kv }) => {
    const ra = await kv.put('topics.a', enc('a1'));
    await kv.put('topics.gone', enc('g'));
    await kv.delete('topics.gone');
    const rb = await kv.put('topics.b', enc('b1'));
    const last = await kv.put('brokers.1', enc('not watched'));
    await kv.delete('topics.a');
    const ra3 = await kv.put('topics.a', enc('a1'));
    const lastWrite = ra3;
    const w = kv.watch('topics');
    const it = w[Symbol.asyncIterator]();
    try {
      const replay = await take(it, 3);
      assert.equal(replay.map(show), [`PUT topics.b=b1@${rb}`, `PUT topics.a=a1@${ra3}`, `REPLAYED@${lastWrite}`]);
      assert.ok(last < lastWrite && ra < rb);
      const rc = await kv.put('topics.c', enc('c1'));
      await kv.put('brokers.2', enc('not watched'));
      const ra2 = await kv.update('topics.a', enc('a2'), ra3);
      await kv.delete('topics.b');
      const live = await take(it, 3);
      assert.equal(live.slice(0, 2).map(show), [`PUT topics.c=c1@${rc}`, `PUT topics.a=a2@${ra2}`]);
      const del = live[2];
      assert.ok(del.operation === 'DEL' && del.key === 'topics.b' && del.value === null && del.revision > ra2);
    } finally {
      w.stop();
    }
  });

  withKv('watch of an empty bucket reports the replay done at once; stop ends the iteration', async ({ kv }) => {
    const w = kv.watch();
    const it = w[Symbol.asyncIterator]();
    assert.equal((await take(it, 1)).map(show), ['REPLAYED@0']);
    const r = await kv.put('x', enc('1'));
    assert.equal((await take(it, 1)).map(show), [`PUT x=1@${r}`]);
    w.stop();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const end = await Promise.race([it.next(), new Promise<'hung'>((res) => (timer = setTimeout(() => res('hung'), 3_000)))]);
    clearTimeout(timer);
    assert.ok(end !== 'hung' && end.done, 'iteration ends after stop()');
  });

  withKv('two concurrent writers of the same key: exactly one compare-and-set wins', async ({ kv, second }) => {
    const other = await second();
    const r0 = await kv.create('topics.t', enc('base'));
    for (let round = 0; round < 5; round++) {
      const rev = (await kv.get('topics.t'))!.revision;
      const results = await Promise.allSettled([
        kv.update('topics.t', enc(`one-${round}`), rev),
        other.update('topics.t', enc(`two-${round}`), rev),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      assert.is(won.length, 1, `round ${round}: one winner`);
      assert.instance(lost[0].reason, RevisionMismatchError);
      const winner = results[0].status === 'fulfilled' ? `one-${round}` : `two-${round}`;
      const now = await other.get('topics.t');
      assert.is(dec(now!.value), winner);
      assert.is(now!.revision, (won[0] as PromiseFulfilledResult<number>).value);
    }
    assert.ok(r0 > 0);
    const creates = await Promise.allSettled([kv.create('cluster.id', enc('a')), other.create('cluster.id', enc('b'))]);
    assert.is(creates.filter((r) => r.status === 'fulfilled').length, 1, 'one create wins');
    const loser = creates.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.instance(loser.reason, KeyExistsError);
  });
}
