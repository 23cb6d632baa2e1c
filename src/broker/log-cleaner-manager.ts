// The broker's log cleaner (Kafka's LogCleaner with one cleaner thread and its LogCleanerManager): each pass
// looks at every local replica of a topic whose cleanup.policy holds `compact`, leader or follower alike (each
// replica compacts its own log, as in Kafka), picks the one most in need (past max.compaction.lag.ms first,
// then the highest dirty ratio: Kafka's grabFilthiestCompactedLog) and cleans it (src/log/log-cleaner.ts).
// One log at a time; its reads and writes together are held to log.cleaner.io.max.bytes.per.second by a
// throttle on the Runtime's clock (Kafka's Throttler). The broker machine's `cleaner` region runs the passes:
// after a pass that cleaned something the next starts at once, otherwise after log.cleaner.backoff.ms.
//
// Compaction settings come from the topic's current config at every pass, so AlterConfigs applies to the next one;
// so does the I/O bound, a broker config that changes at runtime (src/metadata/reconfigurable-config.ts).

import type { Clock } from '../runtime/clock.ts';
import type { Logger } from '../util/logger.ts';
import type { PartitionLog } from '../log/partition-log.ts';
import type { AbortedTxn } from '../log/txn-index.ts';
import { cleanLog, cleanableState, readCleanerCheckpoint, type CleanResult, type CleanerCheckpoint, type CompactionConfig } from '../log/log-cleaner.ts';
import { effectiveTopicConfig } from '../metadata/topic-config.ts';
import { effectiveOverrides } from '../metadata/config-layers.ts';
import type { ClusterSnapshot, TopicInfo } from '../metadata/types.ts';

/** A local replica as the cleaner sees it. */
export interface CleanerReplica {
  topic: string;
  partition: number;
  log: PartitionLog | null;
  role: string;
  producers: {
    table: {
      entries(): Array<{ producerId: number; epoch: number; batches: Array<{ lastOffset: number }> }>;
      /** The last stable offset: no open transaction's records are cleaned. */
      lastStableOffset(highWatermark: number): number;
      /** The aborted-transaction index: their records are removed, and so are the entries of removed markers. */
      aborted: { all(): readonly AbortedTxn[]; removeMarkers(lastOffsets: readonly number[]): void };
    };
  };
}

/** What a pass did, for logs, metrics and tests. */
export interface CleanerPassReport {
  topic: string;
  partition: number;
  dirtyRatio: number;
  result: CleanResult;
  durationMs: number;
}

/** Kafka's CleanerStats-style totals since start, read by the broker's metrics. */
export interface CleanerStats {
  passes: number;
  cleanings: number;
  bytesRead: number;
  bytesWritten: number;
  recordsRemoved: number;
  /** The highest dirty ratio seen at the last pass (Kafka's max-dirty-percent / 100). */
  maxDirtyRatio: number;
  lastCleaningMs: number;
  /** Logs whose cleaning failed, by "topic-partition" (Kafka's uncleanable partitions). */
  uncleanable: Set<string>;
}

/** The compaction configs of a topic's effective config (Kafka's names), or null when it is not compacted. */
export function compactionConfigOf(overrides: Record<string, string>): CompactionConfig | null {
  const c = effectiveTopicConfig(overrides);
  if (!(c['cleanup.policy'] ?? '').split(',').includes('compact')) return null;
  const num = (k: string, dflt: number) => {
    const v = Number(c[k]);
    return Number.isFinite(v) ? Math.min(v, Number.MAX_SAFE_INTEGER) : dflt;
  };
  return {
    minCleanableDirtyRatio: num('min.cleanable.dirty.ratio', 0.5),
    minCompactionLagMs: num('min.compaction.lag.ms', 0),
    maxCompactionLagMs: num('max.compaction.lag.ms', Number.MAX_SAFE_INTEGER),
    deleteRetentionMs: num('delete.retention.ms', 86_400_000),
  };
}

/**
 * A topic's effective overrides on this broker (its own over the broker's and the cluster's dynamic configs and
 * the broker's static topic defaults: config-layers.ts), or null when the snapshot has no such topic.
 */
export function topicOverridesOf(snapshot: ClusterSnapshot, topic: string, brokerId: number, staticDefaults: Record<string, string>): Record<string, string> | null {
  const t = snapshot.topics[topic];
  if (!t) return null;
  return effectiveOverrides({ topic: t.config, broker: snapshot.brokerConfigs?.[String(brokerId)], clusterDefault: snapshot.brokerConfigs?.[''], static: staticDefaults });
}

const compactedCache = new WeakMap<TopicInfo, { brokerConfigs: unknown; compacted: boolean }>();

/**
 * Whether a topic is compacted (cleanup.policy holds compact), cached per topic and broker-config object: the
 * produce path asks for every partition it appends to.
 */
export function isCompactedTopic(snapshot: ClusterSnapshot, topic: string, brokerId: number, staticDefaults: Record<string, string>): boolean {
  const t = snapshot.topics[topic];
  if (!t) return false;
  const hit = compactedCache.get(t);
  if (hit && hit.brokerConfigs === snapshot.brokerConfigs) return hit.compacted;
  const overrides = topicOverridesOf(snapshot, topic, brokerId, staticDefaults);
  const compacted = overrides !== null && compactionConfigOf(overrides) !== null;
  compactedCache.set(t, { brokerConfigs: snapshot.brokerConfigs, compacted });
  return compacted;
}

/** Holds a byte stream to maxBytesPerSecond by sleeping on the clock (Kafka's Throttler, 1 s periods). */
export class IoThrottle {
  private periodStart: number;
  private bytes = 0;

  constructor(private readonly clock: Clock, private readonly maxBytesPerSecond: number) {
    this.periodStart = clock.monotonic();
  }

  async account(bytes: number): Promise<void> {
    if (!Number.isFinite(this.maxBytesPerSecond) || this.maxBytesPerSecond <= 0) return;
    this.bytes += bytes;
    const elapsed = this.clock.monotonic() - this.periodStart;
    const needed = (this.bytes / this.maxBytesPerSecond) * 1000;
    if (needed > elapsed) await new Promise<void>((resolve) => this.clock.setTimeout(resolve, needed - elapsed));
    if (this.clock.monotonic() - this.periodStart >= 1000) {
      this.periodStart = this.clock.monotonic();
      this.bytes = 0;
    }
  }
}

export interface LogCleanerManagerOptions {
  clock: Clock;
  logger: Logger;
  /**
   * log.cleaner.io.max.bytes.per.second (Infinity: unbounded, Kafka's default); a function is asked at every pass,
   * so a dynamic change (reconfigurable-config.ts) holds the next cleaning to the new rate.
   */
  ioMaxBytesPerSecond: number | (() => number);
  /** The topic's config overrides (the current metadata), or null when the topic is gone. */
  topicConfig: (topic: string) => Record<string, string> | null;
}

export class LogCleanerManager {
  readonly stats: CleanerStats = { passes: 0, cleanings: 0, bytesRead: 0, bytesWritten: 0, recordsRemoved: 0, maxDirtyRatio: 0, lastCleaningMs: 0, uncleanable: new Set() };
  /** The cleaner checkpoint of each log, read once from its file and then kept here. */
  private readonly checkpoints = new WeakMap<PartitionLog, CleanerCheckpoint>();
  private throttle: IoThrottle;
  /** The rate the throttle holds to: log.cleaner.io.max.bytes.per.second as last read. */
  private rate: number;

  constructor(private readonly opts: LogCleanerManagerOptions) {
    this.rate = this.currentRate();
    this.throttle = new IoThrottle(opts.clock, this.rate);
  }

  /** log.cleaner.io.max.bytes.per.second as the cleaner runs with it now. */
  get ioMaxBytesPerSecond(): number {
    return this.rate;
  }

  private currentRate(): number {
    const r = this.opts.ioMaxBytesPerSecond;
    return typeof r === 'function' ? r() : r;
  }

  /** One pass: cleans the local log most in need, if any. Resolves with what it did, or null. */
  async pass(replicas: Iterable<CleanerReplica>): Promise<CleanerPassReport | null> {
    this.stats.passes++;
    const rate = this.currentRate();
    if (rate !== this.rate) {
      // A dynamic change (Kafka's LogCleaner.reconfigure updates its Throttler's rate): the next cleaning runs at it.
      this.opts.logger.info('log cleaner I/O bound changed', { from: this.rate, to: rate });
      this.rate = rate;
      this.throttle = new IoThrottle(this.opts.clock, rate);
    }
    const now = this.opts.clock.wall();
    let best: { r: CleanerReplica; log: PartitionLog; config: CompactionConfig; ratio: number; urgent: boolean } | null = null;
    let maxRatio = 0;
    // One config per topic and pass: resolved per partition, it was a fifth of an idle broker's CPU at 10,000 partitions.
    const configs = new Map<string, CompactionConfig | null>();
    for (const r of replicas) {
      const log = r.log;
      if (!log || r.role === 'offline') continue;
      let config = configs.get(r.topic);
      if (config === undefined) {
        const overrides = this.opts.topicConfig(r.topic);
        configs.set(r.topic, (config = overrides && compactionConfigOf(overrides)));
      }
      if (!config) continue;
      try {
        let cp = this.checkpoints.get(log);
        if (!cp) this.checkpoints.set(log, (cp = await readCleanerCheckpoint(log)));
        const state = await cleanableState(log, config, now, cp, r.producers.table.lastStableOffset(log.highWatermark));
        maxRatio = Math.max(maxRatio, state.dirtyRatio);
        if (!state.needsCleaning) continue;
        const better = !best || (state.pastMaxLag && !best.urgent) || (state.pastMaxLag === best.urgent && state.dirtyRatio > best.ratio);
        if (better) best = { r, log, config, ratio: state.dirtyRatio, urgent: state.pastMaxLag };
      } catch (err) {
        this.opts.logger.warn('log cleaner could not read a log', { topic: r.topic, partition: r.partition, error: err as Error });
      }
    }
    this.stats.maxDirtyRatio = maxRatio;
    if (!best) return null;
    const { r, log, config } = best;
    const key = `${r.topic}-${r.partition}`;
    const started = this.opts.clock.monotonic();
    const producerLastOffsets = new Map<number, number>();
    const markerOnlyProducers = new Map<number, number>();
    for (const e of r.producers.table.entries()) {
      const last = e.batches.at(-1);
      if (last) producerLastOffsets.set(e.producerId, last.lastOffset);
      else markerOnlyProducers.set(e.producerId, e.epoch);
    }
    let result: CleanResult | null;
    try {
      result = await cleanLog(log, {
        now,
        config,
        producerLastOffsets,
        markerOnlyProducers,
        lastStableOffset: r.producers.table.lastStableOffset(log.highWatermark),
        abortedTxns: r.producers.table.aborted.all(),
        forgetAbortedTxns: (markers) => r.producers.table.aborted.removeMarkers(markers),
        throttle: (bytes) => this.throttle.account(bytes),
      });
      this.stats.uncleanable.delete(key);
    } catch (err) {
      // Kafka marks the partition uncleanable and goes on with the others; a failed log is offline anyway.
      this.stats.uncleanable.add(key);
      this.checkpoints.delete(log);
      this.opts.logger.error('log cleaning failed', { topic: r.topic, partition: r.partition, error: err as Error });
      return null;
    }
    if (!result) return null;
    const durationMs = this.opts.clock.monotonic() - started;
    if (!result.aborted) this.checkpoints.set(log, { firstDirtyOffset: result.endOffset, tombstoneHorizon: result.tombstoneHorizon });
    else this.checkpoints.delete(log);
    Object.assign(this.stats, {
      cleanings: this.stats.cleanings + 1,
      bytesRead: this.stats.bytesRead + result.bytesRead,
      bytesWritten: this.stats.bytesWritten + result.bytesWritten,
      recordsRemoved: this.stats.recordsRemoved + result.recordsRemoved,
      lastCleaningMs: durationMs,
    });
    this.opts.logger.info('log cleaned', {
      topic: r.topic, partition: r.partition, dirtyRatio: Number(best.ratio.toFixed(3)), from: result.firstDirtyOffset, to: result.endOffset,
      bytesRead: result.bytesRead, bytesWritten: result.bytesWritten, recordsRemoved: result.recordsRemoved, markersRemoved: result.markersRemoved, segments: result.segmentsReplaced, ms: Math.round(durationMs),
    });
    return { topic: r.topic, partition: r.partition, dirtyRatio: best.ratio, result, durationMs };
  }
}
