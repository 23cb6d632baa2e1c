// DescribeCluster (KIP-700): the live brokers, the controller and the cluster id, as Metadata reports them.
// KIP-430: asked for, the cluster's authorized operations are all of them, as Kafka answers without an
// authorizer (with one, the DescribeCluster gate puts the principal's own in their place).
import type { DescribeClusterRequest, DescribeClusterResponse } from '../../protocol/generated/describe-cluster.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { endpointFor } from '../../security/listeners.ts';
import { allOperations, OPERATIONS_NOT_REQUESTED } from '../../security/authorized-operations.ts';

/** `listener`: the one the client came in on, whose addresses it is told. */
export function describeCluster(svc: BrokerServices, req: DescribeClusterRequest, listener?: string): DescribeClusterResponse {
  const snapshot = svc.metadata.snapshot();
  // Endpoint type 1 = brokers; 2 = controllers (KRaft), which Kastor does not expose separately.
  if (req.endpointType !== undefined && req.endpointType !== 1) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
      errorMessage: `endpoint type ${req.endpointType} is not served; use 1 (brokers)`,
      endpointType: req.endpointType,
      clusterId: snapshot.clusterId,
      controllerId: -1,
      brokers: [],
      clusterAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
    } as DescribeClusterResponse;
  }
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    endpointType: 1,
    clusterId: snapshot.clusterId,
    controllerId: svc.controllerId(snapshot),
    brokers: Object.values(snapshot.brokers).flatMap((b) => {
      const at = endpointFor(b, listener);
      return at ? [{ brokerId: b.id, host: at.host, port: at.port, rack: b.rack }] : [];
    }),
    clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? allOperations('Cluster') : OPERATIONS_NOT_REQUESTED,
  } as DescribeClusterResponse;
}
