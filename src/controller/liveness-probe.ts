// Fast crash detection beside the heartbeat session (DESIGN.md "Control plane"). A broker answers requests on
// its own `alive` subject for as long as its NATS connection lives. When its process dies, the kernel closes
// the socket, the NATS server drops its subscriptions at once, and a request to that subject comes back
// "no responders" straight away — a definite answer, where a missing heartbeat only says "not heard lately".
// So the active controller probes every broker a few times a second and deregisters one that is gone in
// well under a second, instead of waiting out the session timeout (which still covers the cases a probe
// cannot tell: a frozen process, a cut link — their subscriptions stay, and the probe just times out).
//
// A "gone" answer counts only for a broker heard from (a heartbeat) since the controller's own connection
// last came back: after a NATS restart, brokers resubscribe one by one, and a heartbeat published after the
// subscription (same connection, so in order) proves the subscription is back.
//
// Probes are for the silent: the controller probes a broker only once its heartbeat is overdue, and a standby
// probes the lease holder only once a renewal is overdue. A live cluster at rest sends none.
import { transportErrorCode, type Transport } from '../runtime/transport.ts';

export type ProbeResult = 'alive' | 'gone' | 'unknown';
/** "Gone" answers in a row before a probed broker (or lease holder) is taken for dead. */
export const PROBE_STRIKES = 2;
export type LivenessProbe = (brokerId: number) => Promise<ProbeResult>;

/** The broker side: answers probes with this process's incarnation. */
export function serveLivenessProbe(transport: Pick<Transport, 'serve'>, subject: string, incarnation: string): { stop(): void } {
  const answer = new TextEncoder().encode(incarnation);
  return transport.serve(subject, async () => answer);
}

const EMPTY = new Uint8Array(0);

/** The prober's side: one probe request; "gone" only on the transport's no-responders answer. */
export function transportLivenessProbe(transport: Pick<Transport, 'request'>, subjectOf: (brokerId: number) => string, timeoutMs: number): LivenessProbe {
  return async (brokerId) => {
    try {
      await transport.request(subjectOf(brokerId), EMPTY, timeoutMs);
      return 'alive';
    } catch (err) {
      return transportErrorCode(err) === 'NO_RESPONDERS' ? 'gone' : 'unknown';
    }
  };
}
