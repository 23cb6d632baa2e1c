// Kafka's authorization decision (AclAuthorizer/StandardAuthorizer), pure: given the ACL bindings, the super
// users and allow.everyone.if.no.acl.found, may `principal` from `host` do `operation` on a resource?
// - A super user may do everything.
// - The bindings that apply are those whose pattern covers the resource: LITERAL with its name or `*`, or
//   PREFIXED with a prefix of it. When none applies, allow.everyone.if.no.acl.found decides.
// - A DENY for the principal (or User:*) and host (or *) on the operation (or All) wins over any ALLOW.
// - Otherwise an ALLOW decides, where Kafka's implied operations count: Describe is allowed by Read, Write,
//   Delete or Alter, DescribeConfigs by AlterConfigs (a DENY is never implied).
// AclAuthorizer holds the current bindings and counts their changes (the metadata watch hands in a new list);
// the decisions themselves are cached per connection (connection-decisions.ts).
import { patternMatches, WILDCARD, WILDCARD_PRINCIPAL, type AclBinding, type Operation, type ResourceType } from './acl.ts';

export interface AuthorizerSettings {
  /** super.users: principals allowed everything (User:admin). */
  superUsers: readonly string[];
  /** allow.everyone.if.no.acl.found (Kafka's default: false). */
  allowEveryoneIfNoAclFound: boolean;
}

export interface AuthorizationRequest {
  principal: string;
  host: string;
  operation: Operation;
  resourceType: ResourceType;
  resourceName: string;
}

export type Decision = { allowed: true; reason: 'super user' | 'allowed by ACL' | 'no ACL found' } | { allowed: false; reason: 'denied by ACL' | 'no matching ALLOW' | 'no ACL found' };

const IMPLIED_BY: Partial<Record<Operation, Operation[]>> = {
  Describe: ['Read', 'Write', 'Delete', 'Alter'],
  DescribeConfigs: ['AlterConfigs'],
};

function entryMatches(b: AclBinding, req: AuthorizationRequest, operations: readonly Operation[]): boolean {
  if (b.principal !== req.principal && b.principal !== WILDCARD_PRINCIPAL) return false;
  if (b.host !== req.host && b.host !== WILDCARD) return false;
  return b.operation === 'All' || operations.includes(b.operation);
}

export function authorize(bindings: readonly AclBinding[], settings: AuthorizerSettings, req: AuthorizationRequest): Decision {
  if (settings.superUsers.includes(req.principal)) return { allowed: true, reason: 'super user' };
  const applying = bindings.filter((b) => b.resourceType === req.resourceType && patternMatches(b, req.resourceName));
  if (applying.length === 0) return settings.allowEveryoneIfNoAclFound ? { allowed: true, reason: 'no ACL found' } : { allowed: false, reason: 'no ACL found' };
  if (applying.some((b) => b.permission === 'DENY' && entryMatches(b, req, [req.operation]))) return { allowed: false, reason: 'denied by ACL' };
  const allowing = [req.operation, ...(IMPLIED_BY[req.operation] ?? [])];
  if (applying.some((b) => b.permission === 'ALLOW' && entryMatches(b, req, allowing))) return { allowed: true, reason: 'allowed by ACL' };
  return { allowed: false, reason: 'no matching ALLOW' };
}

/**
 * Kafka's authorizeByResourceType (KIP-679): may the principal do `operation` on some resource of the type? True
 * for a super user, or when an ALLOW for it exists that no DENY on every resource of the type (LITERAL `*`, or a
 * PREFIXED '' pattern) cancels. InitProducerId without a transactional id asks it for Write on topics.
 */
export function authorizeAny(bindings: readonly AclBinding[], settings: AuthorizerSettings, req: Omit<AuthorizationRequest, 'resourceName'>): boolean {
  if (settings.superUsers.includes(req.principal)) return true;
  const ofType = bindings.filter((b) => b.resourceType === req.resourceType);
  const r = { ...req, resourceName: '' };
  const everywhere = (b: AclBinding) => (b.patternType === 'LITERAL' && b.name === WILDCARD) || (b.patternType === 'PREFIXED' && b.name === '');
  if (ofType.some((b) => b.permission === 'DENY' && everywhere(b) && entryMatches(b, r, [req.operation]))) return false;
  return ofType.some((b) => b.permission === 'ALLOW' && entryMatches(b, r, [req.operation]));
}

/**
 * Decisions over a list of bindings that changes now and then. Every change bumps `generation`, which the
 * per-connection caches (connection-decisions.ts) compare with to drop what they decided before it.
 */
export class AclAuthorizer {
  private bindings: readonly AclBinding[] = [];
  private changes = 0;

  constructor(readonly settings: AuthorizerSettings) {}

  /** New bindings (every change of the ACLs in the metadata). */
  update(bindings: readonly AclBinding[]): void {
    this.bindings = bindings;
    this.changes++;
  }

  get current(): readonly AclBinding[] {
    return this.bindings;
  }

  /** How many times the bindings changed: a cache filled under another generation is stale. */
  get generation(): number {
    return this.changes;
  }

  authorizeAny(req: Omit<AuthorizationRequest, 'resourceName'>): boolean {
    return authorizeAny(this.bindings, this.settings, req);
  }

  authorize(req: AuthorizationRequest): Decision {
    return authorize(this.bindings, this.settings, req);
  }
}
