// What `/readyz` answers for a broker: ready once it is registered as this incarnation, unfenced (the controller
// has voided what a previous life held), serving, and every replica it hosts is in its partition's ISR and
// online — so a service manager or a rolling restart waits for a restarted broker to catch up before it takes
// the next one down, as Kafka operators wait for under-replicated partitions to reach zero. Pure: a snapshot in,
// a verdict with a short reason out.
import type { ClusterSnapshot } from '../metadata/types.ts';

export interface Readiness {
  ready: boolean;
  /** One short line: "ready", or what it waits for. */
  reason: string;
}

export interface ReadinessInput {
  brokerId: number;
  incarnation: string;
  /** The broker actor is in its `running` state with its registration current (not shutting down, fenced, re-registering). */
  serving: boolean;
  snapshot: ClusterSnapshot;
  /** The replicas this broker hosts whose log failed (role `offline`). */
  offline: Array<{ topic: string; partition: number }>;
}

const LISTED = 3;

function list(parts: string[]): string {
  return parts.length <= LISTED ? parts.join(', ') : `${parts.slice(0, LISTED).join(', ')} and ${parts.length - LISTED} more`;
}

export function brokerReadiness(input: ReadinessInput): Readiness {
  const me = input.snapshot.brokers[input.brokerId];
  if (!input.serving) return { ready: false, reason: 'not serving (starting, shutting down, fenced or registering again)' };
  if (!me || me.incarnation !== input.incarnation) return { ready: false, reason: 'not registered in the cluster metadata' };
  if (me.fenced) return { ready: false, reason: 'registered, waiting for the controller to unfence it' };
  if (input.offline.length > 0) return { ready: false, reason: `${input.offline.length} replica(s) offline (log failed): ${list(input.offline.map((r) => `${r.topic}-${r.partition}`))}` };
  const behind: string[] = [];
  let hosted = 0;
  for (const topic of Object.values(input.snapshot.topics)) {
    for (const p of topic.partitions) {
      if (!p.replicas.includes(input.brokerId)) continue;
      hosted++;
      if (!p.isr.includes(input.brokerId)) behind.push(`${topic.name}-${p.partition}`);
    }
  }
  if (behind.length > 0) return { ready: false, reason: `${behind.length} of ${hosted} replica(s) not in sync yet: ${list(behind)}` };
  return { ready: true, reason: `ready: registered, serving, ${hosted} replica(s) in sync` };
}
