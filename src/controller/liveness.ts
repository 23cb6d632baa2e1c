// Broker liveness as the active controller judges it, from heartbeats (Kafka's broker session,
// broker.session.timeout.ms, which KRaft measures from broker heartbeats): pure functions over an
// immutable table of "last seen" times on the controller's own monotonic clock.
//
// Grace: a broker is given a full session timeout from the moment the controller first sees its
// registration (a new controller, a restarted incarnation, a broker that re-registered), and the whole
// table is refreshed when the controller itself was stalled, because missing heartbeats it could not
// read say nothing about the brokers.
import type { BrokerInfo } from '../metadata/types.ts';

export interface Heartbeat {
  brokerId: number;
  incarnation: string;
}

export interface LivenessEntry {
  incarnation: string;
  lastSeenAt: number;
}

export type LivenessTable = ReadonlyMap<number, LivenessEntry>;

/** Follows the registrations: new ones (or new incarnations) start with a full grace, gone ones are dropped. */
export function observeRegistrations(table: LivenessTable, brokers: Readonly<Record<number, BrokerInfo>>, now: number): LivenessTable {
  const next = new Map<number, LivenessEntry>();
  for (const b of Object.values(brokers)) {
    const e = table.get(b.id);
    next.set(b.id, e && e.incarnation === b.incarnation ? e : { incarnation: b.incarnation, lastSeenAt: now });
  }
  return next;
}

/** A heartbeat counts only for the registered incarnation: a stale process must not keep its successor alive. */
export function recordHeartbeat(table: LivenessTable, hb: Heartbeat, now: number): LivenessTable {
  const e = table.get(hb.brokerId);
  if (!e || e.incarnation !== hb.incarnation || e.lastSeenAt >= now) return table;
  const next = new Map(table);
  next.set(hb.brokerId, { incarnation: e.incarnation, lastSeenAt: now });
  return next;
}

/** Every broker seen now: the grace a newly active (or just unstalled) controller gives. */
export function refreshAll(table: LivenessTable, now: number): LivenessTable {
  return new Map([...table].map(([id, e]) => [id, { incarnation: e.incarnation, lastSeenAt: now }]));
}

/** Brokers silent for the session timeout, with the incarnation to deregister. */
export function expiredBrokers(table: LivenessTable, now: number, sessionTimeoutMs: number): Heartbeat[] {
  const out: Heartbeat[] = [];
  for (const [brokerId, e] of table) if (now - e.lastSeenAt >= sessionTimeoutMs) out.push({ brokerId, incarnation: e.incarnation });
  return out;
}

/** True when the liveness check itself ran this late: the controller was stalled and must not judge. */
export function controllerWasStalled(lastCheckAt: number, now: number, sessionTimeoutMs: number): boolean {
  return now - lastCheckAt > sessionTimeoutMs / 2;
}

export function parseHeartbeat(v: unknown): Heartbeat | null {
  if (typeof v !== 'object' || v === null) return null;
  const h = v as Record<string, unknown>;
  if (!Number.isSafeInteger(h.brokerId) || (h.brokerId as number) < 0 || typeof h.incarnation !== 'string' || h.incarnation === '') return null;
  return { brokerId: h.brokerId as number, incarnation: h.incarnation };
}
