// The cluster as the dashboard shows it, computed from the metadata snapshot (brokers, controller, topics,
// leaders, replicas, ISR) and the brokers' published statuses (offsets, throughput, groups, transactions). Pure: the
// caller passes what it knows, including the brokers it has seen before, so a broker that was registered
// and is gone shows as down instead of vanishing. A registered broker is up (the controller removes a
// broker whose heartbeats stopped: Kafka's session expiry).
import type { BrokerInfo, ClusterSnapshot } from '../metadata/types.ts';
import type { BoardEntry, BrokerRates } from './status-board.ts';
import type { TxnSummary } from '../txn/txn-listing.ts';

export interface BrokerView {
  id: number;
  host: string | null;
  port: number | null;
  state: 'up' | 'down';
  controller: boolean;
  http: string | null;
  /** Milliseconds since its last status reached this dashboard (null: never). */
  statusAgeMs: number | null;
  leaderOf: number;
  replicas: number;
  rates: BrokerRates;
}

export interface PartitionView {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  underReplicated: boolean;
  offline: boolean;
  logEndOffset: number | null;
  highWatermark: number | null;
  /** The leader's last stable offset: read_committed consumers read below it (open transactions hold it back). */
  lastStableOffset: number | null;
  /** High watermark minus last stable offset: records read_committed consumers wait for. */
  lsoLag: number | null;
  /** Log end offset of each replica that reported one. */
  replicaLogEndOffsets: Record<number, number>;
}

export interface TopicView {
  name: string;
  id: string;
  partitions: PartitionView[];
}

export interface GroupView {
  groupId: string;
  coordinator: number;
  state: string;
  generation: number;
  members: number;
  lag: number;
  partitions: Array<{ topic: string; partition: number; committed: number; highWatermark: number | null; lag: number | null }>;
}

/** A transactional id at its coordinator (Kafka's state names); runningMs is as of this view, null when none is open. */
export interface TransactionView extends TxnSummary {
  coordinator: number;
  /** The open transaction has run past its timeout (the coordinator is about to abort it). */
  overdue: boolean;
}

export interface ClusterView {
  clusterId: string;
  revision: number;
  controller: number | null;
  generatedAt: number;
  brokers: BrokerView[];
  topics: TopicView[];
  groups: GroupView[];
  /** By coordinator, then open ones first (longest running first), then by id. */
  transactions: TransactionView[];
  /** Transactional ids the coordinators left out of their statuses (broker-status.ts's bound). */
  transactionsOmitted: number;
  totals: BrokerRates & { partitions: number; underReplicated: number; offline: number; brokersUp: number; brokersDown: number; openTransactions: number };
}

export interface ClusterViewInput {
  snapshot: ClusterSnapshot;
  statuses: BoardEntry[];
  /** Every broker this dashboard has seen registered (updated by the caller). */
  known: ReadonlyMap<number, BrokerInfo | null>;
  now: number;
  /** Internal topics (`__consumer_offsets`) are listed unless false. */
  showInternal?: boolean;
}

const NO_RATES: BrokerRates = { bytesInPerSec: 0, bytesOutPerSec: 0, recordsInPerSec: 0, recordsOutPerSec: 0 };

export function buildClusterView(input: ClusterViewInput): ClusterView {
  const { snapshot: s, now } = input;
  const byBroker = new Map(input.statuses.map((e) => [e.status.brokerId, e]));
  const controller = s.controller?.brokerId ?? null;

  const ids = new Set<number>([...input.known.keys(), ...Object.keys(s.brokers).map(Number)]);
  for (const t of Object.values(s.topics)) for (const p of t.partitions) for (const r of p.replicas) ids.add(r);

  const topics: TopicView[] = Object.values(s.topics)
    .filter((t) => input.showInternal !== false || !t.name.startsWith('__'))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((t) => ({
      name: t.name,
      id: t.id,
      partitions: t.partitions.map((p) => {
        const replicaLogEndOffsets: Record<number, number> = {};
        let leaderReport: { logEndOffset: number; highWatermark: number; lastStableOffset?: number } | null = null;
        for (const r of p.replicas) {
          // A broker that is gone reported offsets it no longer serves: leave them out.
          const rep = s.brokers[r] ? byBroker.get(r)?.status.replicas.find((x) => x.topic === t.name && x.partition === p.partition) : undefined;
          if (!rep) continue;
          replicaLogEndOffsets[r] = rep.logEndOffset;
          if (r === p.leader && rep.role === 'leader') leaderReport = rep;
        }
        const offline = p.leader < 0 || !s.brokers[p.leader];
        return {
          partition: p.partition,
          leader: p.leader,
          leaderEpoch: p.leaderEpoch,
          replicas: [...p.replicas],
          isr: [...p.isr],
          underReplicated: p.isr.length < p.replicas.length,
          offline,
          logEndOffset: leaderReport?.logEndOffset ?? null,
          highWatermark: leaderReport?.highWatermark ?? null,
          lastStableOffset: leaderReport?.lastStableOffset ?? null,
          lsoLag: leaderReport?.lastStableOffset === undefined ? null : Math.max(0, leaderReport.highWatermark - leaderReport.lastStableOffset),
          replicaLogEndOffsets,
        };
      }),
    }));

  const brokers: BrokerView[] = [...ids]
    .sort((a, b) => a - b)
    .map((id) => {
      const info = s.brokers[id] ?? input.known.get(id) ?? null;
      const entry = byBroker.get(id);
      const up = Boolean(s.brokers[id]);
      let leaderOf = 0;
      let replicas = 0;
      for (const t of Object.values(s.topics)) {
        for (const p of t.partitions) {
          if (p.leader === id) leaderOf++;
          if (p.replicas.includes(id)) replicas++;
        }
      }
      return {
        id,
        host: info?.host ?? null,
        port: info?.port ?? null,
        state: up ? 'up' : 'down',
        controller: controller === id,
        http: entry?.status.http ?? null,
        statusAgeMs: entry ? now - entry.receivedAt : null,
        leaderOf,
        replicas,
        rates: up && entry ? entry.rates : NO_RATES,
      };
    });

  const hw = new Map<string, number | null>();
  for (const t of topics) for (const p of t.partitions) hw.set(`${t.name}\u0000${p.partition}`, p.highWatermark);
  const groups: GroupView[] = [];
  for (const e of input.statuses) {
    if (!s.brokers[e.status.brokerId]) continue;
    for (const g of e.status.groups) {
      const partitions = g.offsets.map((o) => {
        const h = hw.get(`${o.topic}\u0000${o.partition}`) ?? null;
        return { ...o, highWatermark: h, lag: h === null ? null : Math.max(0, h - o.committed) };
      });
      groups.push({
        groupId: g.groupId,
        coordinator: e.status.brokerId,
        state: g.state,
        generation: g.generation,
        members: g.members,
        lag: partitions.reduce((n, p) => n + (p.lag ?? 0), 0),
        partitions,
      });
    }
  }
  groups.sort((a, b) => a.groupId.localeCompare(b.groupId));

  const transactions: TransactionView[] = [];
  let transactionsOmitted = 0;
  for (const e of [...input.statuses].sort((a, b) => a.status.brokerId - b.status.brokerId)) {
    if (!s.brokers[e.status.brokerId]) continue;
    transactionsOmitted += e.status.transactionsOmitted ?? 0;
    // Measured on the coordinator's clock when it sent the status, aged since on this one: no clock skew.
    const since = Math.max(0, now - e.receivedAt);
    for (const t of e.status.transactions ?? []) {
      const runningMs = t.runningMs === null ? null : t.runningMs + since;
      transactions.push({ ...t, coordinator: e.status.brokerId, runningMs, overdue: runningMs !== null && runningMs > t.timeoutMs });
    }
  }

  const all = topics.flatMap((t) => t.partitions);
  const sum = (k: keyof BrokerRates) => brokers.reduce((n, b) => n + b.rates[k], 0);
  return {
    clusterId: s.clusterId,
    revision: s.revision,
    controller,
    generatedAt: now,
    brokers,
    topics,
    groups,
    transactions,
    transactionsOmitted,
    totals: {
      bytesInPerSec: sum('bytesInPerSec'),
      bytesOutPerSec: sum('bytesOutPerSec'),
      recordsInPerSec: sum('recordsInPerSec'),
      recordsOutPerSec: sum('recordsOutPerSec'),
      partitions: all.length,
      underReplicated: all.filter((p) => p.underReplicated).length,
      offline: all.filter((p) => p.offline).length,
      brokersUp: brokers.filter((b) => b.state === 'up').length,
      brokersDown: brokers.filter((b) => b.state === 'down').length,
      openTransactions: transactions.filter((t) => t.runningMs !== null).length,
    },
  };
}
