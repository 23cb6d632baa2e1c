// Broker liveness, sending side: every heartbeatIntervalMs a running broker publishes {brokerId,
// incarnation} on subjectsFor(bucket).heartbeat (Kafka's BrokerHeartbeat, KIP-631), fire-and-forget on
// the runtime's transport (core NATS) — a lost heartbeat is made up by the next one, and the active
// controller judges silence over a whole session timeout. The incarnation lets the controller ignore a stale
// process of the same id.
import type { Clock } from '../runtime/clock.ts';
import type { Transport } from '../runtime/transport.ts';
import type { Heartbeat } from './liveness.ts';

export interface HeartbeatPublisherOptions {
  transport: Pick<Transport, 'publish'>;
  subject: string;
  heartbeat: Heartbeat;
  intervalMs: number;
  clock: Clock;
  onError?: (err: unknown) => void;
}

export class HeartbeatPublisher {
  private timer: unknown = null;
  private running = false;
  private readonly payload: Uint8Array;

  constructor(private readonly opts: HeartbeatPublisherOptions) {
    this.payload = new TextEncoder().encode(JSON.stringify(opts.heartbeat));
  }

  /** Publishes one heartbeat now, then one every interval until stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.beat();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== null) this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private beat(): void {
    if (!this.running) return;
    try {
      this.opts.transport.publish(this.opts.subject, this.payload);
    } catch (err) {
      this.opts.onError?.(err); // a reconnecting connection buffers; a failure here is only logged
    }
    this.timer = this.opts.clock.setTimeout(() => this.beat(), this.opts.intervalMs);
  }
}
