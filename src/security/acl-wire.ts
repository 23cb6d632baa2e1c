// ACL bindings and filters to and from their Kafka wire form (CreateAcls, DescribeAcls, DeleteAcls): the codes of
// acl.ts, with the v0 default pattern type LITERAL. Shared by the broker's handlers and Kastor's admin client.
import {
  OPERATIONS,
  PATTERN_TYPES,
  PERMISSIONS,
  RESOURCE_TYPES,
  bindingProblem,
  decodeOperation,
  decodePatternType,
  decodePermission,
  decodeResourceType,
  type AclBinding,
  type AclFilter,
} from './acl.ts';

export interface WireBinding {
  resourceType: number;
  resourceName: string;
  patternType?: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}

export interface WireFilter {
  resourceTypeFilter: number;
  resourceNameFilter: string | null;
  patternTypeFilter?: number;
  principalFilter: string | null;
  hostFilter: string | null;
  operation: number;
  permissionType: number;
}

/** A binding to create, or why it cannot be one (Kafka answers INVALID_REQUEST with the reason). */
export function bindingFromWire(w: WireBinding): AclBinding | string {
  const resourceType = decodeResourceType(w.resourceType);
  const patternType = decodePatternType(w.patternType ?? PATTERN_TYPES.LITERAL);
  const operation = decodeOperation(w.operation);
  const permission = decodePermission(w.permissionType);
  if (!resourceType || resourceType === 'Any') return `resource type ${w.resourceType} cannot be used in an ACL`;
  if (patternType !== 'LITERAL' && patternType !== 'PREFIXED') return `pattern type ${w.patternType} cannot be used in an ACL (LITERAL or PREFIXED)`;
  if (!operation || operation === 'Any') return `operation ${w.operation} cannot be used in an ACL`;
  if (permission !== 'ALLOW' && permission !== 'DENY') return `permission type ${w.permissionType} cannot be used in an ACL (ALLOW or DENY)`;
  const b: AclBinding = { resourceType, name: w.resourceName, patternType, principal: w.principal, host: w.host, operation, permission };
  return bindingProblem(b) ?? b;
}

export function bindingToWire(b: AclBinding): WireBinding {
  return {
    resourceType: RESOURCE_TYPES[b.resourceType],
    resourceName: b.name,
    patternType: PATTERN_TYPES[b.patternType],
    principal: b.principal,
    host: b.host,
    operation: OPERATIONS[b.operation],
    permissionType: PERMISSIONS[b.permission],
  };
}

export function filterFromWire(w: WireFilter): AclFilter | string {
  const resourceType = decodeResourceType(w.resourceTypeFilter);
  const patternType = decodePatternType(w.patternTypeFilter ?? PATTERN_TYPES.LITERAL);
  const operation = decodeOperation(w.operation);
  const permission = decodePermission(w.permissionType);
  if (!resourceType) return `resource type ${w.resourceTypeFilter} cannot be filtered on`;
  if (!patternType) return `pattern type ${w.patternTypeFilter} cannot be filtered on`;
  if (!operation) return `operation ${w.operation} cannot be filtered on`;
  if (!permission) return `permission type ${w.permissionType} cannot be filtered on`;
  return { resourceType, name: w.resourceNameFilter, patternType, principal: w.principalFilter, host: w.hostFilter, operation, permission };
}

export function filterToWire(f: AclFilter): WireFilter {
  return {
    resourceTypeFilter: RESOURCE_TYPES[f.resourceType],
    resourceNameFilter: f.name,
    patternTypeFilter: PATTERN_TYPES[f.patternType],
    principalFilter: f.principal,
    hostFilter: f.host,
    operation: OPERATIONS[f.operation],
    permissionType: PERMISSIONS[f.permission],
  };
}
