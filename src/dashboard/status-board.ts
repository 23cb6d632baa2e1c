// The latest status each broker published (broker-status.ts), as a dashboard receives them, with the
// throughput rates worked out from successive totals. Statuses from an older incarnation of a broker are
// replaced by the new one's; a rate is never computed across a restart (the totals start again at zero).
import type { Transport } from '../runtime/transport.ts';
import { statusSubject, watchSubject, WATCH_INTERVAL_MS, type BrokerStatus } from './broker-status.ts';
import type { Throughput } from '../metrics/broker-metrics.ts';

export interface BrokerRates {
  bytesInPerSec: number;
  bytesOutPerSec: number;
  recordsInPerSec: number;
  recordsOutPerSec: number;
}

export interface BoardEntry {
  status: BrokerStatus;
  /** When this dashboard received it (its own clock). */
  receivedAt: number;
  rates: BrokerRates;
}

const EMPTY = new Uint8Array(0);
const ZERO: BrokerRates = { bytesInPerSec: 0, bytesOutPerSec: 0, recordsInPerSec: 0, recordsOutPerSec: 0 };

export class StatusBoard {
  private readonly entries = new Map<number, BoardEntry>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** Listens on the transport for every broker's status (telling the brokers a dashboard watches); returns the unsubscribe. */
  listen(transport: Pick<Transport, 'subscribe' | 'publish'>, bucket: string): () => void {
    const sub = transport.subscribe(statusSubject(bucket, '*'), (payload) => {
      try {
        this.put(JSON.parse(payload.toString()) as BrokerStatus);
      } catch {
        // A malformed status is ignored: it must not stop the dashboard.
      }
    });
    const watch = () => {
      try {
        transport.publish(watchSubject(bucket), EMPTY);
      } catch {
        // Closed or reconnecting: the next tick says it again.
      }
    };
    watch();
    const timer = setInterval(watch, WATCH_INTERVAL_MS);
    timer.unref();
    return () => {
      clearInterval(timer);
      sub.stop();
    };
  }

  put(status: BrokerStatus): void {
    const now = this.clock();
    const prev = this.entries.get(status.brokerId);
    let rates = ZERO;
    if (prev && prev.status.incarnation === status.incarnation && status.at > prev.status.at) {
      const secs = (status.at - prev.status.at) / 1000;
      const rate = (k: keyof Throughput) => Math.max(0, (status.throughput[k] - prev.status.throughput[k]) / secs);
      rates = { bytesInPerSec: rate('bytesIn'), bytesOutPerSec: rate('bytesOut'), recordsInPerSec: rate('recordsIn'), recordsOutPerSec: rate('recordsOut') };
    } else if (prev && prev.status.incarnation === status.incarnation) {
      return;
    }
    this.entries.set(status.brokerId, { status, receivedAt: now, rates });
    for (const l of this.listeners) l();
  }

  get(brokerId: number): BoardEntry | undefined {
    return this.entries.get(brokerId);
  }

  all(): BoardEntry[] {
    return [...this.entries.values()];
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
