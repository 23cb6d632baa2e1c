// The built-in live actors of one broker, listed fresh from its own objects at each call: the broker actor,
// its controller actor (every broker runs one; at most one is active) and its partition replicas.
import type { AnyActorRef } from 'xstate';
import type { LiveActor } from './inspection-hub.ts';

export interface BrokerActorParts {
  brokerId: number;
  actor: AnyActorRef;
  /** The broker's controller actor, once controller wiring gives it one. */
  controller?: () => AnyActorRef | undefined;
  replicas: () => Iterable<{ topic: string; partition: number; actor: AnyActorRef }>;
}

export function* brokerActors(parts: BrokerActorParts): Iterable<LiveActor> {
  const suffix = `@broker-${parts.brokerId}`;
  yield { systemId: `broker-${parts.brokerId}`, kind: 'broker', actor: parts.actor };
  const controller = parts.controller?.();
  if (controller) yield { systemId: `controller${suffix}`, kind: 'controller', actor: controller };
  for (const r of parts.replicas()) yield { systemId: `partition-${r.topic}-${r.partition}${suffix}`, kind: 'partition', actor: r.actor };
}
