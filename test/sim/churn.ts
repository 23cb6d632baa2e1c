// Topic churn: one topic name, created, written, read and deleted over and over while the nemesis works.
// Incarnation k of `churn` (one partition, three replicas, min.insync.replicas 2) gets records `churnK/0/i`
// from an acks=all producer; read back from offset 0 up to past the last acknowledged offset, it must hold
// every acknowledged record where it was acknowledged (the checker's promises) and nothing of an earlier
// incarnation: a replica that missed a deletion (down, cut off) must not serve the old log under the new
// topic id. The reader fetches by topic id (Fetch v13, KIP-516), as current clients do: a fetch by name to a
// broker that has not seen the deletion yet reads the old topic, in Kafka as here. Then the topic is deleted, asked again until the cluster says it is gone. After healing, a
// deleted incarnation leaves no replica in any broker's registry and no directory on any broker's disk.
import { checkHistory, describeViolations, type ReadRecord, type SentRecord } from '../../src/testing/checker.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { readRecords } from '../../src/protocol/record-batch-reader.ts';
import { batchPositions } from '../../src/protocol/record-batch-layout.ts';
import { MetadataCache, SimProducer, sleep, type ClientNet, type ClientViolation } from './clients.ts';
import type { Rng } from './rng.ts';
import type { SimBroker } from './sim-broker.ts';

export const CHURN_TOPIC = 'churn';

export class TopicChurn {
  /** Incarnations created so far. */
  incarnations = 0;
  /** Whether the last incarnation was seen deleted (nothing of the topic may remain once healed). */
  deleted = true;
  /** Incarnations whose read-back reached every acknowledged record and was checked. */
  checked = 0;

  constructor(
    private readonly net: ClientNet,
    private readonly rng: Rng,
    private readonly brokerIds: number[],
    private readonly stopAt: number,
    private readonly violations: ClientViolation[],
  ) {}

  async run(): Promise<void> {
    const clock = this.net.clock;
    while (clock.monotonic() < this.stopAt) {
      const k = ++this.incarnations;
      const created = await this.create(k);
      if (created === false) return;
      this.deleted = false;
      const producer = new SimProducer(this.net, this.rng.fork(`churn${k}`), this.brokerIds, { name: `churn${k}`, topic: CHURN_TOPIC, partitions: 1, acks: -1, idempotent: false, stopAt: this.stopAt, maxBatches: this.rng.int(1, 3) }, this.violations);
      await producer.run();
      // An incarnation whose create was answered only by TOPIC_ALREADY_EXISTS has no id known to the client.
      if (created !== null) await this.verify(k, created, producer.sent);
      if (!(await this.delete(k))) return;
      this.deleted = true;
      await sleep(clock, this.rng.int(1_000, 4_000));
    }
  }

  /** The new incarnation's topic id; null when created but its id is unknown (an unanswered attempt); false when not created. */
  private async create(k: number): Promise<string | null | false> {
    const clock = this.net.clock;
    let asked = false;
    for (let i = 0; i < 100 && clock.monotonic() < this.stopAt; i++) {
      const res = await this.net.request(this.rng.pick(this.brokerIds), ApiKey.CreateTopics, 7, {
        topics: [{ name: CHURN_TOPIC, numPartitions: 1, replicationFactor: 3, assignments: [], configs: [{ name: 'min.insync.replicas', value: '2' }] }],
        timeoutMs: 3_000,
        validateOnly: false,
      }, 5_000);
      const code = res?.topics[0]?.errorCode;
      if (code === ErrorCode.NONE) return (this.net.note(`churn: incarnation ${k} created`), res!.topics[0]!.topicId ?? null);
      // Exists after an unanswered attempt of ours: that attempt created it. Before any: a deleted topic is back.
      if (code === ErrorCode.TOPIC_ALREADY_EXISTS) {
        if (asked) return (this.net.note(`churn: incarnation ${k} created (an unanswered attempt)`), null);
        this.violations.push({ kind: 'topic-resurrected', message: `${CHURN_TOPIC} exists before incarnation ${k} was created, after incarnation ${k - 1} was deleted` });
        return false;
      }
      asked ||= res === null || code === ErrorCode.REQUEST_TIMED_OUT;
      await sleep(clock, this.rng.int(100, 500));
    }
    return false;
  }

  private async delete(k: number): Promise<boolean> {
    const clock = this.net.clock;
    for (let i = 0; i < 200 && clock.monotonic() < this.stopAt + 30_000; i++) {
      const res = await this.net.request(this.rng.pick(this.brokerIds), ApiKey.DeleteTopics, 4, { topicNames: [CHURN_TOPIC], timeoutMs: 3_000 }, 5_000);
      const code = res?.responses[0]?.errorCode;
      if (code === ErrorCode.NONE || code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) return (this.net.note(`churn: incarnation ${k} deleted`), true);
      await sleep(clock, this.rng.int(100, 500));
    }
    return false;
  }

  /**
   * Reads incarnation `k` from offset 0 until the high watermark passes its last acknowledged record (faults
   * may make that take a while: not reaching it within the bound is no violation, only an unchecked round),
   * then checks the history of this incarnation alone.
   */
  private async verify(k: number, topicId: string, sent: SentRecord[]): Promise<void> {
    const clock = this.net.clock;
    const acked = sent.filter((r) => r.status === 'acked' && r.offset !== undefined);
    const needed = acked.reduce((max, r) => Math.max(max, r.offset! + 1), 0);
    const meta = new MetadataCache(this.net, this.rng, this.brokerIds, CHURN_TOPIC);
    const read: ReadRecord[] = [];
    const prefix = `churn${k}/`;
    let position = 0;
    let hw = -1;
    const giveUpAt = clock.monotonic() + 15_000;
    while (clock.monotonic() < giveUpAt && !(hw >= needed && position >= hw)) {
      const leader = meta.leaderOf(0) ?? (await meta.refresh(), meta.leaderOf(0));
      if (leader === null) {
        await sleep(clock, 100);
        continue;
      }
      const res = await this.net.request(leader, ApiKey.Fetch, 13, {
        replicaId: -1, maxWaitMs: 100, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: CHURN_TOPIC, topicId, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: BigInt(position), logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [], rackId: '',
      }, 3_000);
      const p = res?.responses[0]?.partitions[0];
      if (!p || p.errorCode !== ErrorCode.NONE) {
        await meta.refresh();
        await sleep(clock, this.rng.int(20, 200));
        continue;
      }
      hw = Math.max(hw, Number(p.highWatermark));
      const data = p.records ?? Buffer.alloc(0);
      for (const { pos, size } of batchPositions(data)) {
        for (const r of readRecords(data.subarray(pos, pos + size))) {
          if (r.offset < position) continue;
          const value = r.value?.toString() ?? '';
          if (!value.startsWith(prefix)) this.violations.push({ kind: 'topic-incarnation-mix', message: `${CHURN_TOPIC}-0 incarnation ${k} read ${value} at offset ${r.offset} from broker ${leader}` });
          read.push({ topic: CHURN_TOPIC, partition: 0, offset: r.offset, value });
          position = r.offset + 1;
        }
      }
    }
    if (!(hw >= needed && position >= hw)) return void this.net.note(`churn: incarnation ${k} not read to its end in time (position ${position}, hw ${hw}, needed ${needed})`);
    this.checked++;
    const report = checkHistory({ sent, read: read.filter((r) => r.offset < hw), highWatermarks: { [`${CHURN_TOPIC}-0`]: hw } });
    if (!report.ok) this.violations.push({ kind: 'churn', message: `incarnation ${k}: ${describeViolations(report, 5)}` });
  }
}

/** What a deleted topic left behind on healed brokers: replicas still registered, directories still on disk. */
export async function churnLeftovers(brokers: SimBroker[], pump: () => Promise<unknown>): Promise<string[]> {
  const out: string[] = [];
  for (const b of brokers) {
    if (!b.broker?.services) continue;
    if (b.broker.services.registry.get(CHURN_TOPIC, 0)) out.push(`broker ${b.id} still hosts a replica of the deleted topic ${CHURN_TOPIC}`);
    let names: string[] | undefined;
    void b.disk.list(b.broker.config.dataDir).then((n) => (names = n));
    for (let i = 0; i < 100 && !names; i++) await pump();
    if (names?.includes(`${CHURN_TOPIC}-0`)) out.push(`broker ${b.id}'s disk still holds ${CHURN_TOPIC}-0 after the topic was deleted`);
  }
  return out;
}
