// DeleteAcls (API 31): removes the bindings each filter matches and names them, one result per filter in
// request order.
import type { DeleteAclsRequest, DeleteAclsResponse, DeleteAclsFilterResult } from '../../protocol/generated/delete-acls.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import type { RequestContext } from '../request-router.ts';
import { AclStore } from '../../security/acl-store.ts';
import { bindingToWire, filterFromWire } from '../../security/acl-wire.ts';
import { aclApiRefusal } from './acl-gate.ts';

export async function deleteAcls(svc: BrokerServices, req: DeleteAclsRequest, ctx: RequestContext): Promise<DeleteAclsResponse> {
  const refused = aclApiRefusal(svc, ctx, 'DeleteAcls', 'Alter');
  if (refused) return { throttleTimeMs: 0, filterResults: req.filters.map(() => ({ ...refused, matchingAcls: [] })) };
  const store = new AclStore(svc.metadata);
  const filterResults: DeleteAclsFilterResult[] = [];
  for (const w of req.filters) {
    const filter = filterFromWire(w);
    if (typeof filter === 'string') {
      filterResults.push({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: filter, matchingAcls: [] });
      continue;
    }
    try {
      const removed = await store.remove(filter);
      for (const b of removed) svc.logger.info('ACL deleted', { ...b, by: ctx.conn.security?.principal });
      filterResults.push({ errorCode: ErrorCode.NONE, errorMessage: null, matchingAcls: removed.map((b) => ({ errorCode: ErrorCode.NONE, errorMessage: null, ...bindingToWire(b) })) });
    } catch (err) {
      svc.logger.warn('DeleteAcls could not remove ACLs', { filter, error: err as Error });
      filterResults.push({ errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: (err as Error).message, matchingAcls: [] });
    }
  }
  return { throttleTimeMs: 0, filterResults };
}
