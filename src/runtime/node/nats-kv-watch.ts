// A watch over a NATS KV bucket that survives the server going away. It reads the bucket's stream with
// its own ordered push consumer (the KV protocol of ADR-8: subjects `$KV.<bucket>.<key>`, a
// `KV-Operation: DEL|PURGE` header on tombstones) instead of the client's kv.watch(), for two reasons:
//  - it must know when the replay of current values ends, also for an empty bucket (num_pending of the
//    new consumer, then the message whose `pending` is 0);
//  - after a reconnect, or when the server reports the consumer deleted, the client's ordered consumer
//    only recovers after two missed 30 s heartbeats; this watch recreates it at once, from the revision
//    after the last one it delivered.
// Changes are delivered at most once per revision (a per-key high-water mark drops replays after a
// restart); tombstones met during the initial replay are dropped (a deleted key has no current value).
//
// A NATS crash can take the bucket's last acknowledged writes with it (nats-server 2.9 syncs JetStream to disk
// every two minutes), and the stream then hands their revisions out again. So before resuming after the revision
// it delivered last, a watch resubscribing after its connection dropped reads every key's last write and compares it with what it delivered
// (findRewind): a write it delivered that the bucket no longer holds, or one it would have delivered but never
// saw, means the bucket went back. Then it yields a KvRewound and replays the bucket afresh, deletes included.
import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JsMsg, type PushConsumer } from '@nats-io/jetstream';
import type { NatsConnection, Status } from '@nats-io/transport-node';
import { AsyncQueue } from '../../metadata/async-queue.ts';
import type { Clock } from '../clock.ts';
import type { KvWatch, KvWatchEvent } from '../../metadata/kv.ts';

/** A key's last write as this watch delivered it, or as the bucket holds it now. */
export interface KeyWrite {
  revision: number;
  /** The stream message's timestamp (ns): a write the stream lost and a later one given its revision differ here. */
  time: number;
}

/**
 * Whether the bucket went back, from what a watch delivered (each key's last write, up to `delivered`, the last
 * revision it delivered) and every key's last write in the bucket now: null when nothing says so, else a revision
 * up to which the bucket is known to hold what it held before (at most where it went back to; 0 when nothing is
 * known). The evidence, for a key: its delivered write is gone (the key is missing, or its last write is older, or
 * carries the same revision with another timestamp), or its last write is newer than the delivered one but not
 * after `delivered` (the watch, reading in order, would have delivered it). A loss whose every key was written
 * again after `delivered`, and nothing else, leaves no trace, and needs none: the watch delivers those writes.
 */
export function findRewind(seen: ReadonlyMap<string, KeyWrite>, now: ReadonlyMap<string, KeyWrite>, delivered: number): number | null {
  let firstEvidence = Infinity;
  let lastDeliveredTime = -Infinity;
  for (const [key, mine] of seen) {
    lastDeliveredTime = Math.max(lastDeliveredTime, mine.time);
    const theirs = now.get(key);
    if (!theirs || theirs.revision < mine.revision || (theirs.revision === mine.revision && theirs.time !== mine.time)) firstEvidence = Math.min(firstEvidence, mine.revision);
    else if (theirs.revision > mine.revision && theirs.revision <= delivered) firstEvidence = Math.min(firstEvidence, theirs.revision);
  }
  for (const [key, theirs] of now) if (!seen.has(key) && theirs.revision <= delivered) firstEvidence = Math.min(firstEvidence, theirs.revision);
  if (firstEvidence === Infinity) return null;
  // A write the bucket holds that is no later than the last one delivered was made before the loss and kept,
  // and the writes kept are a prefix of the stream: the bucket is whole up to the latest of them.
  let kept = 0;
  for (const theirs of now.values()) if (theirs.time <= lastDeliveredTime && theirs.revision < firstEvidence) kept = Math.max(kept, theirs.revision);
  return kept;
}

export interface NatsKvWatchDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  clock: Clock;
  bucket: string;
  /** Reported on every failed (re)subscribe; the watch keeps retrying until stopped. */
  onError: (err: unknown) => void;
  /** How often the watch checks that the server still has its consumer. */
  checkIntervalMs: number;
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2_000;
/** How long reading every key's last write may take before the resubscribe counts as failed (and is retried). */
const READ_LAST_TIMEOUT_MS = 10_000;

function isDelete(m: JsMsg): boolean {
  const op = m.headers?.get('KV-Operation');
  return op === 'DEL' || op === 'PURGE';
}

export function natsKvWatch(deps: NatsKvWatchDeps, prefix: string | undefined): KvWatch {
  const subjectPrefix = `$KV.${deps.bucket}.`;
  const stream = `KV_${deps.bucket}`;
  const filter = subjectPrefix + (prefix === undefined ? '>' : `${prefix}.>`);
  const seen = new Map<string, KeyWrite>();
  let lastRevision = 0;
  let replayed = false;
  /** The replay after a KvRewound carries deletes too, so a delete since the rewind is told from a lost write. */
  let replayDeletes = false;
  let stopped = false;
  let generation = 0;
  let current: { consumer: PushConsumer; messages: ConsumerMessages } | null = null;
  let retryTimer: unknown = null;
  let checkTimer: unknown = null;
  let failures = 0;
  /**
   * Whether the next resubscribe checks for a rewind: set when the connection drops (the NATS side may have
   * restarted without its latest writes), cleared once a check is done. A consumer lost while the connection stayed
   * up (an R3 bucket's stream leader moved) cannot take acknowledged writes with it, and is replaced without one:
   * the check's extra JetStream calls would each wait out an API timeout while no leader is elected.
   */
  let suspectRewind = false;

  const queue = new AsyncQueue<KvWatchEvent>(() => stop());

  // The bucket's last revision read just before the replay consumer was made: the replay covers it.
  let replayCovers = 0;
  const markReplayed = () => {
    if (replayed) return;
    replayed = true;
    replayDeletes = false;
    lastRevision = Math.max(lastRevision, replayCovers);
    queue.push({ operation: 'REPLAYED', revision: lastRevision });
  };

  const deliver = (m: JsMsg) => {
    const key = m.subject.substring(subjectPrefix.length);
    const revision = m.seq;
    if (revision > (seen.get(key)?.revision ?? 0)) {
      seen.set(key, { revision, time: m.info.timestampNanos });
      lastRevision = Math.max(lastRevision, revision);
      if (!isDelete(m)) queue.push({ operation: 'PUT', key, value: m.data, revision });
      else if (replayed || replayDeletes) queue.push({ operation: 'DEL', key, value: null, revision });
    }
    if (m.info.pending === 0) markReplayed();
  };

  const clearTimers = () => {
    if (retryTimer !== null) deps.clock.clearTimeout(retryTimer);
    if (checkTimer !== null) deps.clock.clearTimeout(checkTimer);
    retryTimer = checkTimer = null;
  };

  const closeCurrent = () => {
    const c = current;
    current = null;
    if (!c) return;
    c.messages.stop();
    // The server drops an idle ordered consumer by itself after inactive_threshold; deleting is politeness.
    c.consumer.delete().catch(() => {});
  };

  /** Every key's last write in the bucket now, read with a consumer of its own. */
  const readLastWrites = async (): Promise<Map<string, KeyWrite>> => {
    const consumer = await deps.js.consumers.getPushConsumer(stream, { filter_subjects: filter, deliver_policy: DeliverPolicy.LastPerSubject });
    const out = new Map<string, KeyWrite>();
    let messages: ConsumerMessages | null = null;
    let timer: unknown = null;
    try {
      if ((await consumer.info(true)).num_pending === 0) return out;
      let caughtUp!: () => void;
      const done = new Promise<void>((resolve) => (caughtUp = resolve));
      messages = await consumer.consume({
        callback: (m) => {
          out.set(m.subject.substring(subjectPrefix.length), { revision: m.seq, time: m.info.timestampNanos });
          if (m.info.pending === 0) caughtUp();
        },
      });
      const late = new Promise<never>((_, reject) => {
        timer = deps.clock.setTimeout(() => reject(new Error(`reading the last writes of bucket "${deps.bucket}" took over ${READ_LAST_TIMEOUT_MS} ms`)), READ_LAST_TIMEOUT_MS);
      });
      await Promise.race([done, late]);
      return out;
    } finally {
      if (timer !== null) deps.clock.clearTimeout(timer);
      messages?.stop();
      consumer.delete().catch(() => {});
    }
  };

  const subscribe = async (gen: number): Promise<void> => {
    // Whatever this watch delivered must still be in the bucket, or the bucket went back (see findRewind).
    if (seen.size > 0 && suspectRewind) {
      const rewoundTo = findRewind(seen, await readLastWrites(), lastRevision);
      if (gen !== generation || stopped) return;
      suspectRewind = false;
      if (rewoundTo !== null) {
        queue.push({ operation: 'REWOUND', revision: rewoundTo });
        seen.clear();
        lastRevision = 0;
        replayed = false;
        replayDeletes = true;
      }
    }
    // Until the first replay completed, replay again from scratch (the per-key marks drop duplicates);
    // afterwards, every message after the last delivered revision, in order, tombstones included.
    if (!replayed) {
      const jsm = await deps.js.jetstreamManager();
      replayCovers = (await jsm.streams.info(stream)).state.last_seq;
      if (gen !== generation || stopped) return;
    }
    const consumer = await deps.js.consumers.getPushConsumer(
      stream,
      replayed
        ? { filter_subjects: filter, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: lastRevision + 1 }
        : { filter_subjects: filter, deliver_policy: DeliverPolicy.LastPerSubject },
    );
    if (gen !== generation || stopped) {
      consumer.delete().catch(() => {});
      return;
    }
    const info = await consumer.info(true);
    const messages = await consumer.consume({
      callback: (m) => {
        if (gen === generation && !stopped) deliver(m);
      },
    });
    if (gen !== generation || stopped) {
      messages.stop();
      consumer.delete().catch(() => {});
      return;
    }
    current = { consumer, messages };
    failures = 0;
    if (info.num_pending === 0) markReplayed();
    // A consumer that ends while we still want it (server gone, connection closed) is replaced, and so is
    // one the server deleted or lost (an operator, a NATS cluster node that died with it): the client
    // would only report that and wait for heartbeats that never come.
    void messages.closed().then(() => {
      if (gen === generation && !stopped) restart();
    });
    void (async () => {
      for await (const n of messages.status()) {
        if (gen !== generation || stopped) return;
        if (n.type === 'consumer_deleted' || n.type === 'heartbeats_missed') return restart();
      }
    })().catch(() => {});
    scheduleCheck(gen, consumer);
  };

  // nats-server 2.9 tells a push subscriber nothing when its consumer is deleted or lost with the server
  // that held it (an R1 consumer of an R3 bucket lives on one node), and the client's ordered consumer
  // only notices after two missed 30 s heartbeats. Asking for the consumer's info every few seconds
  // finds out within an interval plus one API timeout.
  const scheduleCheck = (gen: number, consumer: PushConsumer) => {
    checkTimer = deps.clock.setTimeout(() => {
      checkTimer = null;
      if (gen !== generation || stopped) return;
      consumer.info().then(
        () => gen === generation && !stopped && scheduleCheck(gen, consumer),
        (err) => {
          if (gen !== generation || stopped) return;
          // Not found, or no answer at all: a consumer whose only node died has nobody left to answer
          // its info request. A new consumer costs little; the per-key marks drop what it repeats.
          deps.onError(err);
          restart();
        },
      );
    }, deps.checkIntervalMs);
  };

  const restart = () => {
    if (stopped) return;
    generation++;
    closeCurrent();
    clearTimers();
    if (deps.nc.isClosed()) {
      queue.fail(new Error(`NATS connection closed; watch of bucket "${deps.bucket}" ended`));
      return;
    }
    const gen = generation;
    subscribe(gen).catch((err) => {
      if (gen !== generation || stopped) return;
      deps.onError(err);
      failures++;
      const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(failures - 1, 5));
      retryTimer = deps.clock.setTimeout(() => {
        retryTimer = null;
        if (gen === generation) restart();
      }, delay);
    });
  };

  const stop = () => {
    if (stopped) return;
    stopped = true;
    generation++;
    clearTimers();
    closeCurrent();
    statusIter.stop?.();
    queue.end();
  };

  // nc.status() is a QueuedIterator at runtime; its stop() releases it when the watch ends.
  const statusIter = deps.nc.status() as AsyncIterable<Status> & { stop?: () => void };
  void (async () => {
    for await (const s of statusIter) {
      if (s.type === 'disconnect' || s.type === 'reconnect') suspectRewind = true;
      if (s.type === 'reconnect') restart();
      if (s.type === 'close') {
        restart(); // ends the queue with an error: the connection will not come back
        break;
      }
    }
  })();

  restart();
  return { stop, [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator]() };
}
