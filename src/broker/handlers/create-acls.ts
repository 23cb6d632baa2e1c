// CreateAcls (API 30): adds ACL bindings to the cluster metadata (src/security/acl-store.ts), one result per
// creation in request order; a binding that cannot be an ACL is INVALID_REQUEST with the reason, and one that
// exists already is a success that changes nothing, as in Kafka.
import type { CreateAclsRequest, CreateAclsResponse } from '../../protocol/generated/create-acls.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import type { RequestContext } from '../request-router.ts';
import { AclStore } from '../../security/acl-store.ts';
import { bindingFromWire } from '../../security/acl-wire.ts';
import { aclApiRefusal } from './acl-gate.ts';

export async function createAcls(svc: BrokerServices, req: CreateAclsRequest, ctx: RequestContext): Promise<CreateAclsResponse> {
  const refused = aclApiRefusal(svc, ctx, 'CreateAcls', 'Alter');
  if (refused) return { throttleTimeMs: 0, results: req.creations.map(() => refused) };
  const store = new AclStore(svc.metadata);
  const results = [];
  for (const c of req.creations) {
    const b = bindingFromWire({ ...c, patternType: c.resourcePatternType });
    if (typeof b === 'string') {
      results.push({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: b });
      continue;
    }
    try {
      await store.add(b);
      svc.logger.info('ACL created', { ...b, by: ctx.conn.security?.principal });
      results.push({ errorCode: ErrorCode.NONE, errorMessage: null });
    } catch (err) {
      svc.logger.warn('CreateAcls could not store an ACL', { ...b, error: err as Error });
      results.push({ errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: (err as Error).message });
    }
  }
  return { throttleTimeMs: 0, results };
}
