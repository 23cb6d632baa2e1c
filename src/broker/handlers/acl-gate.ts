// What the three ACL APIs check first, as Kafka's: without an authorizer they answer SECURITY_DISABLED ("No
// Authorizer is configured"); with one, DescribeAcls needs Describe on the cluster and CreateAcls/DeleteAcls
// need Alter on it (CLUSTER_AUTHORIZATION_FAILED otherwise).
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import type { RequestContext } from '../request-router.ts';

export function aclApiRefusal(svc: BrokerServices, ctx: RequestContext, api: string, operation: 'Describe' | 'Alter'): { errorCode: number; errorMessage: string } | null {
  if (!svc.authorizer) return { errorCode: ErrorCode.SECURITY_DISABLED, errorMessage: 'No Authorizer is configured on the broker' };
  if (!svc.authorizer.clusterAllowed(ctx.conn, api, operation)) return { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: `${api} needs ${operation} on the cluster` };
  return null;
}
