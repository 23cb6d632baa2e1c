// A broker's authorizer: the pure decision (acl-authorizer.ts) over the ACLs of the cluster metadata, for the
// principal and host of a client connection, with Kafka's audit trail: every denial is a log line (principal,
// host, operation, resource, API) and counts in kastor_authorization_denied_total. It follows the metadata
// watch, so an ACL created or deleted through any broker holds here as soon as the watch delivers it. Decisions
// are cached per connection (connection-decisions.ts), each cache dropped at its next lookup after an ACL change.
import type { ClusterSnapshot } from '../metadata/types.ts';
import type { Logger } from '../util/logger.ts';
import type { ConnectionInfo } from '../broker/request-handler.ts';
import { AclAuthorizer, type AuthorizerSettings, type Decision } from './acl-authorizer.ts';
import { ConnectionDecisions } from './connection-decisions.ts';
import { bindingsOf } from './acl-store.ts';
import { ANONYMOUS } from './connection-security.ts';
import { CLUSTER_NAME, type Operation, type ResourceType } from './acl.ts';
import { authorizedOperations } from './authorized-operations.ts';

export interface BrokerAuthorizerOptions {
  settings: AuthorizerSettings;
  metadata: { snapshot(): ClusterSnapshot; subscribe(fn: (next: ClusterSnapshot, prev: ClusterSnapshot) => void): () => void };
  logger: Logger;
  /** Counts one denial (kastor_authorization_denied_total). */
  onDenied?: (operation: Operation, resourceType: ResourceType) => void;
  /** Decisions one connection keeps (default 4,096): a bound on memory, not a tuning knob. */
  maxCachedPerConnection?: number;
}

/** Who asks: the connection's principal (User:ANONYMOUS without one) and its host. */
export function principalOf(conn: ConnectionInfo): { principal: string; host: string } {
  const sec = conn.security;
  return { principal: sec?.principal ?? ANONYMOUS, host: sec?.peerHost ?? conn.remote.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1') };
}

export class BrokerAuthorizer {
  private readonly acl: AclAuthorizer;
  private readonly unsubscribe: () => void;
  /** Each connection's decisions, gone with the connection. */
  private readonly cached = new WeakMap<ConnectionInfo, ConnectionDecisions>();
  private evaluated = 0;

  constructor(private readonly opts: BrokerAuthorizerOptions) {
    this.acl = new AclAuthorizer(opts.settings);
    this.acl.update(bindingsOf(opts.metadata.snapshot()));
    this.unsubscribe = opts.metadata.subscribe((next, prev) => {
      if (next.acls !== prev.acls) this.acl.update(bindingsOf(next));
    });
  }

  /** Decisions computed from the bindings rather than taken from a connection's cache (for tests and metrics). */
  get evaluations(): number {
    return this.evaluated;
  }

  private decide(conn: ConnectionInfo, who: { principal: string; host: string }, operation: Operation, resourceType: ResourceType, resourceName: string): Decision {
    let mine = this.cached.get(conn);
    if (!mine) this.cached.set(conn, (mine = new ConnectionDecisions(this.opts.maxCachedPerConnection ?? 4096)));
    return mine.decide(this.acl.generation, `${who.principal}\u0000${who.host}`, `${resourceType}\u0000${operation}\u0000${resourceName}`, () => {
      this.evaluated++;
      return this.acl.authorize({ ...who, operation, resourceType, resourceName });
    });
  }

  /**
   * May the connection do `operation` on the resource? A denial is logged and counted unless `quiet` (Kafka
   * does not log the topics it leaves out of a Metadata answer for all topics).
   */
  allowed(conn: ConnectionInfo, api: string, operation: Operation, resourceType: ResourceType, resourceName: string, quiet = false): boolean {
    const who = principalOf(conn);
    const d = this.decide(conn, who, operation, resourceType, resourceName);
    if (!d.allowed && !quiet) {
      this.opts.logger.info('authorization denied', { principal: who.principal, host: who.host, operation, resourceType, resourceName, api, reason: d.reason });
      this.opts.onDenied?.(operation, resourceType);
    }
    return d.allowed;
  }

  /** May the connection do `operation` on some resource of the type (Kafka's authorizeByResourceType)? Denials are logged by the caller. */
  anyAllowed(conn: ConnectionInfo, operation: Operation, resourceType: ResourceType): boolean {
    return this.acl.authorizeAny({ ...principalOf(conn), operation, resourceType });
  }

  /**
   * The KIP-430 bitfield of what the connection may do on the resource. Kafka asks without logging either way, so
   * nothing here is logged or counted.
   */
  operations(conn: ConnectionInfo, resourceType: ResourceType, resourceName: string): number {
    const who = principalOf(conn);
    return authorizedOperations(resourceType, (operation) => this.decide(conn, who, operation, resourceType, resourceName).allowed);
  }

  clusterAllowed(conn: ConnectionInfo, api: string, operation: Operation, quiet = false): boolean {
    return this.allowed(conn, api, operation, 'Cluster', CLUSTER_NAME, quiet);
  }

  stop(): void {
    this.unsubscribe();
  }
}
