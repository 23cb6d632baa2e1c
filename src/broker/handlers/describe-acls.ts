// DescribeAcls (API 29): the ACL bindings a filter matches, grouped by resource pattern.
import type { DescribeAclsRequest, DescribeAclsResponse, DescribeAclsResource } from '../../protocol/generated/describe-acls.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import type { RequestContext } from '../request-router.ts';
import { AclStore } from '../../security/acl-store.ts';
import { bindingToWire, filterFromWire } from '../../security/acl-wire.ts';
import { aclApiRefusal } from './acl-gate.ts';

export function describeAcls(svc: BrokerServices, req: DescribeAclsRequest, ctx: RequestContext): DescribeAclsResponse {
  const refused = aclApiRefusal(svc, ctx, 'DescribeAcls', 'Describe');
  if (refused) return { throttleTimeMs: 0, ...refused, resources: [] };
  const filter = filterFromWire(req);
  if (typeof filter === 'string') return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: filter, resources: [] };
  const byPattern = new Map<string, DescribeAclsResource>();
  for (const b of new AclStore(svc.metadata).list(filter)) {
    const w = bindingToWire(b);
    const key = `${w.resourceType}:${w.patternType}:${w.resourceName}`;
    let r = byPattern.get(key);
    if (!r) byPattern.set(key, (r = { resourceType: w.resourceType, resourceName: w.resourceName, patternType: w.patternType, acls: [] }));
    r.acls.push({ principal: w.principal, host: w.host, operation: w.operation, permissionType: w.permissionType });
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, resources: [...byPattern.values()] };
}
