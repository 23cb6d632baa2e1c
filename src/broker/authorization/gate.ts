// What an authorization gate is: it stands before one API's handler when an authorizer is configured, asks the
// authorizer what Kafka's KafkaApis asks for that API, answers the denied parts itself with Kafka's error codes
// (per partition, per topic, per group, or the whole request) and hands the rest to the handler (`next`),
// merging both answers. Handlers stay unaware of ACLs; without an authorizer no gate runs.
import type { BrokerServices } from '../broker-services.ts';
import type { RequestContext } from '../request-router.ts';
import type { BrokerAuthorizer } from '../../security/broker-authorizer.ts';
import type { Operation, ResourceType } from '../../security/acl.ts';

export interface GateContext extends RequestContext {
  svc: BrokerServices;
  authz: BrokerAuthorizer;
  /** The API's name, for the audit line. */
  api: string;
}

export type Gate = (body: any, g: GateContext, next: (body: any) => Promise<any>) => Promise<unknown>;

/** May the connection do `op` on the resource (a denial logged and counted unless quiet)? */
export function may(g: GateContext, op: Operation, type: ResourceType, name: string, quiet = false): boolean {
  return g.authz.allowed(g.conn, g.api, op, type, name, quiet);
}

/** Splits items into those allowed and those denied (the decisions themselves are cached by the authorizer). */
export function split<T>(items: readonly T[], allowed: (item: T) => boolean): { yes: T[]; no: T[] } {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (allowed(item) ? yes : no).push(item);
  return { yes, no };
}
