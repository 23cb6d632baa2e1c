// ACLs through Kafka's admin APIs (Admin.createAcls/describeAcls/deleteAcls): bindings and filters as in
// src/security/acl.ts, sent in their wire form (acl-wire.ts). A per-binding or per-filter error is thrown as a
// KafkaProtocolError naming it, after the request as a whole was answered.
import type { Cluster } from './cluster.ts';
import { ApiKey } from '../protocol/generated/api-keys.ts';
import { KafkaProtocolError } from './errors.ts';
import { describeBinding, decodeOperation, decodePatternType, decodePermission, decodeResourceType, type AclBinding, type AclFilter } from '../security/acl.ts';
import { bindingToWire, filterToWire, type WireBinding } from '../security/acl-wire.ts';

function fromWire(w: WireBinding): AclBinding {
  return {
    resourceType: decodeResourceType(w.resourceType) as AclBinding['resourceType'],
    name: w.resourceName,
    patternType: (decodePatternType(w.patternType ?? 3) ?? 'LITERAL') as AclBinding['patternType'],
    principal: w.principal,
    host: w.host,
    operation: decodeOperation(w.operation) as AclBinding['operation'],
    permission: decodePermission(w.permissionType) as AclBinding['permission'],
  };
}

export async function createAcls(cluster: Cluster, bindings: AclBinding[]): Promise<void> {
  await cluster.withRetry('CreateAcls', async () => {
    const nc = await cluster.anyConnection();
    const { body } = await cluster.send(nc, ApiKey.CreateAcls, () => ({
      creations: bindings.map((b) => {
        const w = bindingToWire(b);
        return { ...w, resourcePatternType: w.patternType };
      }),
    }));
    body.results.forEach((r, i) => {
      if (r.errorCode !== 0) throw new KafkaProtocolError(r.errorCode, { message: `${describeBinding(bindings[i]!)}: ${r.errorMessage ?? ''}` });
    });
  });
}

export async function describeAcls(cluster: Cluster, filter: AclFilter): Promise<AclBinding[]> {
  return cluster.withRetry('DescribeAcls', async () => {
    const nc = await cluster.anyConnection();
    const { body } = await cluster.send(nc, ApiKey.DescribeAcls, () => filterToWire(filter));
    if (body.errorCode !== 0) throw new KafkaProtocolError(body.errorCode, { message: body.errorMessage ?? undefined });
    return body.resources.flatMap((r) => r.acls.map((a) => fromWire({ ...r, ...a })));
  });
}

/** Removes what each filter matches; returns the bindings removed. */
export async function deleteAcls(cluster: Cluster, filters: AclFilter[]): Promise<AclBinding[]> {
  return cluster.withRetry('DeleteAcls', async () => {
    const nc = await cluster.anyConnection();
    const { body } = await cluster.send(nc, ApiKey.DeleteAcls, () => ({ filters: filters.map(filterToWire) }));
    const failed = body.filterResults.find((r) => r.errorCode !== 0);
    if (failed) throw new KafkaProtocolError(failed.errorCode, { message: failed.errorMessage ?? undefined });
    return body.filterResults.flatMap((r) => r.matchingAcls.map(fromWire));
  });
}
