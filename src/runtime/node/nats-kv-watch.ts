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
import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JsMsg, type PushConsumer } from '@nats-io/jetstream';
import type { NatsConnection, Status } from '@nats-io/transport-node';
import { AsyncQueue } from '../../metadata/async-queue.ts';
import type { Clock } from '../clock.ts';
import type { KvWatch, KvWatchEvent } from '../../metadata/kv.ts';

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

export function natsKvWatch(deps: NatsKvWatchDeps, prefix: string | undefined): KvWatch {
  const subjectPrefix = `$KV.${deps.bucket}.`;
  const stream = `KV_${deps.bucket}`;
  const filter = subjectPrefix + (prefix === undefined ? '>' : `${prefix}.>`);
  const seen = new Map<string, number>();
  let lastRevision = 0;
  let replayed = false;
  let stopped = false;
  let generation = 0;
  let current: { consumer: PushConsumer; messages: ConsumerMessages } | null = null;
  let retryTimer: unknown = null;
  let checkTimer: unknown = null;
  let failures = 0;

  const queue = new AsyncQueue<KvWatchEvent>(() => stop());

  // The bucket's last revision read just before the replay consumer was made: the replay covers it.
  let replayCovers = 0;
  const markReplayed = () => {
    if (replayed) return;
    replayed = true;
    lastRevision = Math.max(lastRevision, replayCovers);
    queue.push({ operation: 'REPLAYED', revision: lastRevision });
  };

  const deliver = (m: JsMsg) => {
    const key = m.subject.substring(subjectPrefix.length);
    const revision = m.seq;
    if (revision > (seen.get(key) ?? 0)) {
      seen.set(key, revision);
      lastRevision = Math.max(lastRevision, revision);
      const op = m.headers?.get('KV-Operation');
      const deleted = op === 'DEL' || op === 'PURGE';
      if (!deleted) queue.push({ operation: 'PUT', key, value: m.data, revision });
      else if (replayed) queue.push({ operation: 'DEL', key, value: null, revision });
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

  const subscribe = async (gen: number): Promise<void> => {
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
