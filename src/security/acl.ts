// Kafka's ACL model (KIP-11, prefixed patterns from KIP-290): a binding is a resource pattern (a type, a name and
// LITERAL or PREFIXED; the LITERAL name `*` matches every resource of its type) and an entry (a principal such as
// User:alice or User:*, a host or `*`, an operation, ALLOW or DENY). Filters (DescribeAcls, DeleteAcls) match
// bindings with ANY, MATCH and null as wildcards, as Kafka's AclBindingFilter does. The numeric codes are Kafka's
// wire codes (org.apache.kafka.common.resource.ResourceType, acl.AclOperation, ...). Pure: no I/O.

export const RESOURCE_TYPES = { Any: 1, Topic: 2, Group: 3, Cluster: 4, TransactionalId: 5 } as const;
export const PATTERN_TYPES = { ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;
export const OPERATIONS = {
  Any: 1,
  All: 2,
  Read: 3,
  Write: 4,
  Create: 5,
  Delete: 6,
  Alter: 7,
  Describe: 8,
  ClusterAction: 9,
  DescribeConfigs: 10,
  AlterConfigs: 11,
  IdempotentWrite: 12,
} as const;
export const PERMISSIONS = { ANY: 1, DENY: 2, ALLOW: 3 } as const;

export type ResourceType = Exclude<keyof typeof RESOURCE_TYPES, 'Any'>;
export type PatternType = 'LITERAL' | 'PREFIXED';
export type Operation = Exclude<keyof typeof OPERATIONS, 'Any'>;
export type Permission = 'ALLOW' | 'DENY';

/** The name of Kafka's only cluster resource. */
export const CLUSTER_NAME = 'kafka-cluster';
export const WILDCARD = '*';
export const WILDCARD_PRINCIPAL = 'User:*';

export interface AclEntry {
  principal: string;
  host: string;
  operation: Operation;
  permission: Permission;
}

export interface ResourcePattern {
  resourceType: ResourceType;
  name: string;
  patternType: PatternType;
}

export interface AclBinding extends ResourcePattern, AclEntry {}

/** A DescribeAcls/DeleteAcls filter: 'Any'/'ANY'/'MATCH' and null are wildcards. */
export interface AclFilter {
  resourceType: ResourceType | 'Any';
  name: string | null;
  patternType: PatternType | 'ANY' | 'MATCH';
  principal: string | null;
  host: string | null;
  operation: Operation | 'Any';
  permission: Permission | 'ANY';
}

export const MATCH_ALL: AclFilter = { resourceType: 'Any', name: null, patternType: 'ANY', principal: null, host: null, operation: 'Any', permission: 'ANY' };

function nameOf<T extends Record<string, number>>(table: T, code: number): keyof T | undefined {
  return (Object.keys(table) as Array<keyof T>).find((k) => table[k] === code);
}

/** Wire codes to names; undefined for UNKNOWN or a code Kastor does not model (DelegationToken, User). */
export const decodeResourceType = (c: number) => nameOf(RESOURCE_TYPES, c);
export const decodePatternType = (c: number) => nameOf(PATTERN_TYPES, c);
export const decodeOperation = (c: number) => nameOf(OPERATIONS, c);
export const decodePermission = (c: number) => nameOf(PERMISSIONS, c);

/** Case-insensitive name lookup for the CLI (`--operation read`, `--resource-pattern-type prefixed`). */
export function parseName<T extends Record<string, number>>(table: T, text: string, what: string): keyof T {
  const norm = (s: string) => s.toLowerCase().replace(/[_-]/g, '');
  const found = (Object.keys(table) as Array<keyof T & string>).find((k) => norm(k) === norm(text));
  if (!found) throw new Error(`unknown ${what} "${text}" (one of ${Object.keys(table).join(', ')})`);
  return found;
}

/** Why a binding cannot be stored (Kafka's CreateAcls validation), or null. */
export function bindingProblem(b: AclBinding): string | null {
  if (!/^[^:]+:.*$/.test(b.principal)) return `principal "${b.principal}" is not TYPE:NAME (e.g. User:alice)`;
  if (b.host === '') return 'the host is empty (use * for every host)';
  if (b.name === '') return 'the resource name is empty';
  if (b.resourceType === 'Cluster' && (b.name !== CLUSTER_NAME || b.patternType !== 'LITERAL')) return `the cluster resource is LITERAL ${CLUSTER_NAME}`;
  if (b.operation === 'ClusterAction' || b.operation === 'IdempotentWrite') {
    if (b.resourceType !== 'Cluster') return `${b.operation} applies to the Cluster resource only`;
  }
  return null;
}

/** Does the pattern cover the resource name (the authorizer's rule: exact, wildcard, or prefix)? */
export function patternMatches(p: { name: string; patternType: PatternType }, resourceName: string): boolean {
  if (p.patternType === 'PREFIXED') return resourceName.startsWith(p.name);
  return p.name === WILDCARD || p.name === resourceName;
}

/** Kafka's AclBindingFilter.matches. */
export function filterMatches(f: AclFilter, b: AclBinding): boolean {
  if (f.resourceType !== 'Any' && f.resourceType !== b.resourceType) return false;
  if (f.patternType === 'MATCH') {
    // Bindings that would apply to the named resource: exact literal, the wildcard, or a prefix of it.
    if (f.name !== null && !(b.patternType === 'LITERAL' ? b.name === f.name || b.name === WILDCARD : f.name.startsWith(b.name))) return false;
  } else {
    if (f.patternType !== 'ANY' && f.patternType !== b.patternType) return false;
    if (f.name !== null && f.name !== b.name) return false;
  }
  if (f.principal !== null && f.principal !== b.principal) return false;
  if (f.host !== null && f.host !== b.host) return false;
  if (f.operation !== 'Any' && f.operation !== b.operation) return false;
  if (f.permission !== 'ANY' && f.permission !== b.permission) return false;
  return true;
}

export function sameBinding(a: AclBinding, b: AclBinding): boolean {
  return a.resourceType === b.resourceType && a.name === b.name && a.patternType === b.patternType && a.principal === b.principal && a.host === b.host && a.operation === b.operation && a.permission === b.permission;
}

/** One line per binding, as `kastor acls list` prints them. */
export function describeBinding(b: AclBinding): string {
  return `${b.resourceType}:${b.patternType}:${b.name}\t${b.principal}\t${b.host}\t${b.operation}\t${b.permission}`;
}
