// KIP-430 authorized operations: the bitfield a describe answer carries when the client asks for it (Metadata
// v8+ per topic and v8-v10 for the cluster, DescribeGroups v3+ per group, DescribeCluster). Bit n is set when
// the operation whose AclOperation code is n is allowed, over the operations Kafka lists for the resource type
// (AclEntry.supportedOperations); the authorizer's own rules decide each one, implied operations included (Read
// allows Describe, AlterConfigs allows DescribeConfigs, an ALLOW of All allows every one). A broker without an
// authorizer answers every supported operation, as Kafka's authorizedOperations does; a field nobody asked for
// keeps the schema's default, INT32_MIN. Pure: no I/O.
import { OPERATIONS, type Operation, type ResourceType } from './acl.ts';

/** The schema's default of every authorized-operations field: not requested (or not computed). */
export const OPERATIONS_NOT_REQUESTED = -2147483648;

/** Kafka's AclEntry.supportedOperations per resource type. */
export const SUPPORTED_OPERATIONS: Readonly<Record<ResourceType, readonly Operation[]>> = {
  Topic: ['Read', 'Write', 'Create', 'Describe', 'Delete', 'Alter', 'DescribeConfigs', 'AlterConfigs'],
  Group: ['Read', 'Describe', 'Delete'],
  Cluster: ['Create', 'ClusterAction', 'DescribeConfigs', 'AlterConfigs', 'IdempotentWrite', 'Alter', 'Describe'],
  TransactionalId: ['Describe', 'Write'],
};

/** The bitfield of a set of operations (Kafka's Utils.to32BitField over their codes). */
export function operationsBitfield(operations: Iterable<Operation>): number {
  let bits = 0;
  for (const op of operations) bits |= 1 << OPERATIONS[op];
  return bits;
}

/** The resource type's supported operations that `allowed` grants, as a bitfield. */
export function authorizedOperations(resourceType: ResourceType, allowed: (operation: Operation) => boolean): number {
  return operationsBitfield(SUPPORTED_OPERATIONS[resourceType].filter(allowed));
}

/** Every supported operation of the type: the answer without an authorizer. */
export function allOperations(resourceType: ResourceType): number {
  return operationsBitfield(SUPPORTED_OPERATIONS[resourceType]);
}

/** The operations a bitfield names, in code order (INT32_MIN, "not requested", names none). */
export function operationsOf(bits: number): Operation[] {
  if (bits === OPERATIONS_NOT_REQUESTED) return [];
  return (Object.keys(OPERATIONS) as Array<keyof typeof OPERATIONS>).filter((k): k is Operation => k !== 'Any' && (bits & (1 << OPERATIONS[k])) !== 0);
}
