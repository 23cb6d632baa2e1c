// The partition replicas this broker hosts, kept in step with the cluster metadata.
//
// Replicas are root actors found through this registry, not children of the broker actor: XState copies a
// parent's children map on every spawn, which made 10k children cost ~20 s (DESIGN.md). `reconcile` turns
// each metadata snapshot into actor events: a new replica is created and recovers its log, an existing one
// gets the new assignment (the actor ignores stale epochs), a replica whose topic is gone is deleted.
// A topic re-created under the same name (a new topic id) first deletes the old replica's directory.
// Snapshots share unchanged partitions (immer), so a partition whose state object is the one already
// applied is skipped: a metadata change to one topic costs no events for the thousands of others.
import type { LogDirCheckpoints } from '../log/log-dir-checkpoints.ts';
import { join } from 'node:path';
import type { ClusterSnapshot, PartitionState, TopicInfo } from '../metadata/types.ts';
import type { Clock } from '../runtime/clock.ts';
import type { LogConfig } from '../log/partition-log.ts';
import type { Storage } from '../log/storage.ts';
import { PartitionReplica, type ReplicaReplication, type ReplicaSettings } from './partition-replica.ts';
import { effectiveOverrides } from '../metadata/config-layers.ts';
import { topicSettings } from '../metadata/topic-config.ts';
import { compactionConfigOf } from './log-cleaner-manager.ts';
import { readPartitionTopicId } from '../log/partition-metadata.ts';
import type { Logger } from '../util/logger.ts';
import { Slots } from '../util/slots.ts';

/** Replica logs this broker opens at once (see PartitionRegistry.logOpens). */
const LOG_OPENS = 64;
/**
 * How long a partition directory found stray at start is kept before a second look at the metadata decides
 * (removeStrays): room for the brokers that saw a topic to write it back into a bucket that lost it (in simulation
 * seed 432 the write-back came 9 s after the loss, 1 ms after a restarted broker found the topic's logs stray), and
 * well inside the simulation's 30 s for a healed cluster to settle, stray directories gone. Kafka waits
 * file.delete.delay.ms (60 s) before deleting a renamed log.
 */
export const STRAY_DELETE_DELAY_MS = 10_000;

export interface PartitionRegistryOptions {
  brokerId: number;
  dataDir: string;
  storage: Storage;
  /** The data directory's offset checkpoints, loaded before any log opens (absent: each log keeps its own files). */
  dirCheckpoints?: LogDirCheckpoints;
  clock: Clock;
  logger: Logger;
  /** Broker-wide log settings (flush policy); topic configs override retention and segments. */
  brokerLogConfig: Partial<LogConfig>;
  /** The broker's static topic defaults (--topic-default): the layer under the dynamic broker configs. */
  topicDefaults?: Readonly<Record<string, string>>;
  /** The broker's replication data plane (src/replication/replication-service.ts); absent: no replication. */
  replication?: ReplicaReplication;
  /** A replica here started leading (PartitionReplicaOptions.onLeading). */
  onLeading?: (replica: PartitionReplica) => void;
  /** A replica here went offline: its log failed (PartitionReplicaOptions.onOffline). */
  onOffline?: (replica: PartitionReplica) => void;
  /**
   * Whether this broker may lead now (registered as itself and unfenced: BrokerInfo.fenced); while it may
   * not, a partition the metadata says it leads is applied as having no leader. Absent: always.
   */
  mayLead?: (snapshot: ClusterSnapshot) => boolean;
}

/**
 * What a replica of `topic` acts on: the topic's overrides over this broker's dynamic configs, the cluster's,
 * and the broker's static topic defaults (config-layers.ts), as typed settings.
 */
function replicaSettingsOf(topic: TopicInfo, snapshot: ClusterSnapshot, brokerId: number, opts: PartitionRegistryOptions): ReplicaSettings {
  const layers = { topic: topic.config, broker: snapshot.brokerConfigs?.[String(brokerId)], clusterDefault: snapshot.brokerConfigs?.[''], static: opts.topicDefaults };
  const overrides = effectiveOverrides(layers);
  const s = topicSettings(overrides);
  // Kafka's LogConfig: a compact-only topic deletes nothing by time or size, and a compacted topic rolls its
  // active segment by max.compaction.lag.ms too (maxSegmentMs), so the cleaner can reach its records in time.
  const deletes = s.cleanupPolicy.includes('delete');
  const compaction = compactionConfigOf(overrides);
  const segmentMs = compaction ? Math.min(s.segmentMs, compaction.maxCompactionLagMs) : s.segmentMs;
  return {
    logConfig: { ...opts.brokerLogConfig, segmentBytes: s.segmentBytes, segmentMs, retentionMs: deletes ? s.retentionMs : -1, retentionBytes: deletes ? s.retentionBytes : -1 },
    maxMessageBytes: s.maxMessageBytes,
    minInsyncReplicas: s.minInsyncReplicas,
    logAppendTime: s.timestampType === 'LogAppendTime',
  };
}

export class PartitionRegistry {
  private readonly replicas = new Map<string, { topicId: string; replica: PartitionReplica; applied: PartitionState; mayLead: boolean; settings: string }>();
  /** The same replicas by topic and partition (get), without building a key string per lookup. */
  private readonly byTopic = new Map<string, Map<number, PartitionReplica>>();
  private allCache: readonly PartitionReplica[] | null = null;
  private changes = 0;
  /** Each topic's replica settings, and the config objects they were worked out from (immer keeps unchanged ones). */
  /**
   * Logs opened (recovered) at once: 10,000 replicas created or recovered together each wanting a dozen file
   * operations kept the event loop busy for seconds at a time, long enough for the controller's lease and the
   * metadata bucket's requests to time out.
   */
  private readonly logOpens = new Slots(LOG_OPENS);
  /** The snapshot reconcile last applied, and whether this broker could lead then. */
  private applied: { snapshot: ClusterSnapshot; mayLead: boolean } | null = null;
  private readonly settingsCache = new Map<string, { from: readonly unknown[]; settings: ReplicaSettings; key: string }>();
  /** Pending deletions per directory key: a re-created topic waits for its predecessor's files to go. */
  private readonly deleting = new Map<string, Promise<void>>();
  /** Set by stopAll(): a stray deletion still waiting deletes nothing. */
  private stopped = false;

  constructor(private readonly opts: PartitionRegistryOptions) {}

  private static key(topic: string, partition: number): string {
    return `${topic}-${partition}`;
  }

  /** By topic, then partition: the replication server looks up every partition of every follower fetch. */
  get(topic: string, partition: number): PartitionReplica | undefined {
    return this.byTopic.get(topic)?.get(partition);
  }

  /**
   * Every replica, as one array kept until a replica comes or goes (passes over 10,000 replicas every second,
   * the flush's and the metrics', no longer copy them each time).
   */
  all(): readonly PartitionReplica[] {
    return (this.allCache ??= [...this.replicas.values()].map((e) => e.replica));
  }

  /** Moves whenever a replica comes or goes: what was looked up before may be stale. */
  get version(): number {
    return this.changes;
  }

  private changed(): void {
    this.allCache = null;
    this.changes++;
  }

  /**
   * Applies a metadata snapshot: creates, reassigns and deletes replicas. Returns once creations started.
   * Only the topics that changed since the last snapshot applied are looked at (immer keeps an unchanged topic
   * the same object), unless what every replica depends on changed (broker-level configs, whether this broker
   * may lead): with 10,000 partitions, a pass over all of them on every ISR change cost a broker most of its CPU
   * while a cluster settled.
   */
  reconcile(snapshot: ClusterSnapshot): void {
    const mayLead = this.opts.mayLead?.(snapshot) ?? true;
    const prev = this.applied;
    this.applied = { snapshot, mayLead };
    if (!prev || prev.mayLead !== mayLead || prev.snapshot.brokerConfigs !== snapshot.brokerConfigs) return this.reconcileAll(snapshot, mayLead);
    if (prev.snapshot.topics === snapshot.topics) return;
    for (const [name, topic] of Object.entries(snapshot.topics)) {
      const before = prev.snapshot.topics[name];
      if (before === topic) continue;
      this.reconcileTopic(topic, snapshot, mayLead, null);
      if (before?.id !== topic.id) continue;
      // A partition the new version no longer has here (reassigned away, or fewer partitions).
      for (const p of before.partitions) {
        if (!p.replicas.includes(this.opts.brokerId)) continue;
        if (topic.partitions[p.partition]?.replicas.includes(this.opts.brokerId)) continue;
        this.remove(PartitionRegistry.key(name, p.partition), true);
      }
    }
    for (const [name, topic] of Object.entries(prev.snapshot.topics)) {
      if (snapshot.topics[name]?.id === topic.id) continue;
      // Deleted, or deleted and created again under a new id (whose replicas reconcileTopic replaced above).
      for (const p of topic.partitions) {
        const key = PartitionRegistry.key(name, p.partition);
        if (this.replicas.get(key)?.topicId === topic.id) this.remove(key, true);
      }
      if (!snapshot.topics[name]) this.settingsCache.delete(name);
    }
  }

  private reconcileAll(snapshot: ClusterSnapshot, mayLead: boolean): void {
    const wanted = new Set<string>();
    for (const topic of Object.values(snapshot.topics)) this.reconcileTopic(topic, snapshot, mayLead, wanted);
    for (const key of [...this.replicas.keys()]) {
      if (!wanted.has(key)) this.remove(key, true);
    }
    for (const name of this.settingsCache.keys()) if (!snapshot.topics[name]) this.settingsCache.delete(name);
  }

  /** Creates, reassigns or reconfigures this broker's replicas of one topic; adds their keys to `wanted`. */
  private reconcileTopic(topic: TopicInfo, snapshot: ClusterSnapshot, mayLead: boolean, wanted: Set<string> | null): void {
    const me = this.opts.brokerId;
    let settings: { settings: ReplicaSettings; key: string } | undefined;
    for (const p of topic.partitions) {
      if (!p.replicas.includes(me)) continue;
      const key = PartitionRegistry.key(topic.name, p.partition);
      wanted?.add(key);
      const existing = this.replicas.get(key);
      settings ??= this.settingsFor(topic, snapshot);
      if (existing && existing.topicId === topic.id && existing.settings !== settings.key) {
        // A config change (the topic's or a broker-level default) reaches the running replica.
        existing.settings = settings.key;
        existing.replica.reconfigure(settings.settings);
      }
      if (existing && existing.topicId === topic.id && existing.applied === p && existing.mayLead === mayLead) continue;
      const leader = p.leader === me && !mayLead ? -1 : p.leader;
      const assignment = { leader, leaderEpoch: p.leaderEpoch, replicas: [...p.replicas], isr: [...p.isr] };
      if (existing && existing.topicId === topic.id) {
        existing.applied = p;
        existing.mayLead = mayLead;
        existing.replica.assign(assignment);
        continue;
      }
      if (existing) this.remove(key, true);
      const replica = new PartitionReplica({
        topic: topic.name,
        topicId: topic.id,
        partition: p.partition,
        brokerId: me,
        assignment,
        dataDir: this.opts.dataDir,
        storage: this.opts.storage,
        ...settings.settings,
        clock: this.opts.clock,
        logger: this.opts.logger,
        replication: this.opts.replication,
        onLeading: this.opts.onLeading,
        onOffline: this.opts.onOffline,
        logOpens: this.logOpens,
        dirCheckpoints: this.opts.dirCheckpoints,
      });
      this.replicas.set(key, { topicId: topic.id, replica, applied: p, mayLead, settings: settings.key });
      let partitions = this.byTopic.get(topic.name);
      if (!partitions) this.byTopic.set(topic.name, (partitions = new Map()));
      partitions.set(p.partition, replica);
      this.changed();
      const pending = this.deleting.get(key);
      if (pending) void pending.then(() => replica.start());
      else replica.start();
    }
  }

  private settingsFor(topic: TopicInfo, snapshot: ClusterSnapshot): { settings: ReplicaSettings; key: string } {
    const from = [topic.config, snapshot.brokerConfigs?.[String(this.opts.brokerId)], snapshot.brokerConfigs?.['']];
    const cached = this.settingsCache.get(topic.name);
    if (cached && cached.from.every((x, i) => x === from[i])) return cached;
    const settings = replicaSettingsOf(topic, snapshot, this.opts.brokerId, this.opts);
    const entry = { from, settings, key: JSON.stringify(settings) };
    this.settingsCache.set(topic.name, entry);
    return entry;
  }

  private remove(key: string, deleteData: boolean): void {
    const entry = this.replicas.get(key);
    if (!entry) return;
    this.replicas.delete(key);
    const partitions = this.byTopic.get(entry.replica.topic);
    if (partitions?.get(entry.replica.partition) === entry.replica) {
      partitions.delete(entry.replica.partition);
      if (partitions.size === 0) this.byTopic.delete(entry.replica.topic);
    }
    this.changed();
    const done = entry.replica.stop(deleteData).catch((err) => this.opts.logger.error('failed to remove a replica', { key, error: err }));
    const chained = (this.deleting.get(key) ?? Promise.resolve()).then(() => done);
    this.deleting.set(key, chained);
    void chained.then(() => {
      if (this.deleting.get(key) === chained) this.deleting.delete(key);
    });
  }

  /**
   * Deletes the directories of topics deleted while this broker did not see it (down, or cut off): a partition
   * directory that no replica here uses and whose partition.metadata names a topic id the cluster no longer
   * has (Kafka's stray logs) — or names the topic the cluster has, but whose partition was reassigned away from
   * this broker meanwhile (KIP-455: a removed replica's log goes). A directory without partition.metadata is
   * left alone: nothing proves it stray. Run once the broker has the cluster metadata, at start. A directory
   * found stray is deleted only if it still is STRAY_DELETE_DELAY_MS later, by the metadata then (`snapshot()`):
   * a metadata bucket that lost its latest writes (NATS crashed before syncing them) shows a live topic as absent
   * until the brokers that saw it write it back, and a broker starting in that window must not delete the
   * topic's data (simulation seed 432 did: the log of a partition's leader, acknowledged records and all).
   * Nothing is deleted once the registry stopped. Resolves with the directories deleted.
   */
  async removeStrays(snapshot: () => ClusterSnapshot, delayMs = STRAY_DELETE_DELAY_MS): Promise<string[]> {
    const found = await this.strays(snapshot());
    if (found.size === 0) return [];
    await new Promise<void>((resolve) => this.opts.clock.setTimeout(resolve, delayMs));
    if (this.stopped) return [];
    const still = await this.strays(snapshot());
    const removed: string[] = [];
    for (const [name, { topicId, why }] of still) {
      // Stray at both looks, and not in use now: a replica may have been created for it meanwhile.
      if (!found.has(name) || this.stopped || this.replicas.has(name) || this.deleting.has(name)) continue;
      // Its recovery point and high watermark go first: a replica of the topic placed here again must not take them.
      await this.opts.dirCheckpoints?.forget(name);
      await this.opts.storage.removeDir(join(this.opts.dataDir, name));
      removed.push(name);
      this.opts.logger.warn(`deleted the log of ${why} while this broker did not see it`, { dir: name, topicId });
    }
    return removed;
  }

  /** The partition directories here that `snapshot` makes stray (see removeStrays), with why. */
  private async strays(snapshot: ClusterSnapshot): Promise<Map<string, { topicId: string; why: string }>> {
    const { storage, dataDir } = this.opts;
    const ids = new Set(Object.values(snapshot.topics).map((t) => t.id));
    const out = new Map<string, { topicId: string; why: string }>();
    for (const name of await storage.list(dataDir)) {
      const m = /^(.+)-(\d+)$/.exec(name);
      if (!m || this.replicas.has(name) || this.deleting.has(name)) continue;
      const topicId = await readPartitionTopicId(storage, join(dataDir, name)).catch(() => null);
      if (topicId === null) continue;
      const topic = snapshot.topics[m[1]!];
      const reassignedAway = topic?.id === topicId && topic.partitions[Number(m[2])]?.replicas.includes(this.opts.brokerId) === false;
      if (ids.has(topicId) && !reassignedAway) continue;
      out.set(name, { topicId, why: reassignedAway ? 'a partition reassigned away from this broker' : 'a topic deleted' });
    }
    return out;
  }

  /** Waits until a replica is out of recovery (leader, follower or offline), or the deadline passes. */
  async waitRecovered(topic: string, partition: number, timeoutMs: number): Promise<boolean> {
    const replica = this.get(topic, partition);
    if (!replica) return false;
    if (replica.role !== 'recovering') return true;
    return new Promise((resolve) => {
      const timer = this.opts.clock.setTimeout(() => {
        sub.unsubscribe();
        resolve(false);
      }, timeoutMs);
      const sub = replica.actor.subscribe((s) => {
        if (!s.matches('recovering') && !s.matches('deciding')) {
          this.opts.clock.clearTimeout(timer);
          sub.unsubscribe();
          resolve(true);
        }
      });
    });
  }

  /** The data directory's file system size and free space (DescribeLogDirs); null where the storage cannot tell. */
  async dataDirSpace(): Promise<{ totalBytes: number; usableBytes: number } | null> {
    const { storage, dataDir } = this.opts;
    return storage.space ? storage.space(dataDir) : null;
  }

  /** Closes every log (clean shutdown: flushed and checkpointed). */
  async stopAll(): Promise<void> {
    this.stopped = true;
    const entries = [...this.replicas.values()];
    this.replicas.clear();
    this.byTopic.clear();
    this.changed();
    await Promise.all(entries.map((e) => e.replica.stop(false)));
    await Promise.all([...this.deleting.values()]);
  }
}
