// What a broker tells dashboards about itself, once a second, on the NATS subject
// `kastor.<bucket>.dashboard.status.<brokerId>`: its local replicas' offsets (log end offset and high
// watermark are per replica, not in the cluster metadata), running throughput totals, consumer groups and
// transactions it coordinates, and the address of its HTTP server (so a dashboard can reach its /api/actors).
//
// A core-NATS publish per second per broker (a few hundred bytes per partition replica) is the price of any
// broker's dashboard showing the whole cluster without knowing the other brokers' HTTP addresses. It is paid
// only while a dashboard watches: a dashboard says so every second on `...dashboard.watch`, and a broker
// publishes until it has heard nothing for WATCH_LAPSE_MS (with 3,000 replicas the status is ~400 KB of JSON).
import type { Transport } from '../runtime/transport.ts';
import { subjectPrefix } from '../transport/subjects.ts';
import type { Throughput } from '../metrics/broker-metrics.ts';
import type { GroupSummary } from '../inspect/actor-directory.ts';
import type { TxnSummary } from '../txn/txn-listing.ts';

export interface ReplicaStatus {
  topic: string;
  partition: number;
  role: string;
  leaderEpoch: number;
  logStartOffset: number;
  logEndOffset: number;
  highWatermark: number;
  /** A leader's last stable offset (what read_committed consumers may read up to); absent on followers. */
  lastStableOffset?: number;
}

export interface BrokerStatus {
  brokerId: number;
  incarnation: string;
  /** The broker's dashboard/metrics HTTP address (`host:port`), null without --http. */
  http: string | null;
  /** The broker's own clock when it sent this. */
  at: number;
  throughput: Throughput;
  replicas: ReplicaStatus[];
  groups: GroupSummary[];
  /** Transactional ids this broker coordinates (open ones first), at most MAX_STATUS_TRANSACTIONS. */
  transactions?: TxnSummary[];
  /** Transactional ids left out of `transactions` by that bound. */
  transactionsOmitted?: number;
}

/** Bounds a status's transaction list (each is ~150 bytes of JSON, published every second). */
export const MAX_STATUS_TRANSACTIONS = 200;

export function statusSubject(bucket: string, brokerId: number | '*'): string {
  return `${subjectPrefix(bucket)}.dashboard.status.${brokerId}`;
}

export function watchSubject(bucket: string): string {
  return `${subjectPrefix(bucket)}.dashboard.watch`;
}

/** How often a dashboard tells the brokers it watches, and how long they keep publishing after the last time. */
export const WATCH_INTERVAL_MS = 1000;
export const WATCH_LAPSE_MS = 5000;

const encoder = new TextEncoder();

export interface StatusPublisherOptions {
  transport: Pick<Transport, 'publish' | 'subscribe'>;
  bucket: string;
  status: () => BrokerStatus;
  intervalMs?: number;
  onError?: (err: unknown) => void;
}

/** Publishes the status every interval while some dashboard watches (at once when one starts); returns the stop function. */
export function startStatusPublisher(opts: StatusPublisherOptions): () => void {
  let lastWatched = -Infinity;
  const watched = () => performance.now() - lastWatched < WATCH_LAPSE_MS;
  const publish = () => {
    try {
      const s = opts.status();
      opts.transport.publish(statusSubject(opts.bucket, s.brokerId), encoder.encode(JSON.stringify(s)));
    } catch (err) {
      opts.onError?.(err);
    }
  };
  const sub = opts.transport.subscribe(watchSubject(opts.bucket), () => {
    const wasWatched = watched();
    lastWatched = performance.now();
    if (!wasWatched) publish();
  });
  const timer = setInterval(() => watched() && publish(), opts.intervalMs ?? 1000);
  timer.unref();
  return () => {
    clearInterval(timer);
    sub.stop();
  };
}
