// Authorization of partition and cluster administration, as Kafka's KafkaApis: CreatePartitions needs Alter on
// each topic and DeleteRecords Delete on each topic (TOPIC_AUTHORIZATION_FAILED for that topic);
// OffsetForLeaderEpoch Describe and DescribeProducers Read on each topic; ElectLeaders and AlterPartitionReassignments need Alter on the
// cluster, ListPartitionReassignments and DescribeLogDirs Describe on it (CLUSTER_AUTHORIZATION_FAILED).
// DescribeCluster needs nothing, but asked for the cluster's authorized operations (KIP-430) it answers the
// principal's when it may Describe the cluster, else 0.
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { CreatePartitionsRequest, CreatePartitionsResponse } from '../../protocol/generated/create-partitions.ts';
import type { DeleteRecordsRequest, DeleteRecordsResponse } from '../../protocol/generated/delete-records.ts';
import type { OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse } from '../../protocol/generated/offset-for-leader-epoch.ts';
import type { DescribeProducersRequest, DescribeProducersResponse } from '../../protocol/generated/describe-producers.ts';
import type { DescribeClusterRequest, DescribeClusterResponse } from '../../protocol/generated/describe-cluster.ts';
import { CLUSTER_NAME } from '../../security/acl.ts';
import { may, split, type Gate } from './gate.ts';

const TOPIC_DENIED = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
const CLUSTER_DENIED = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;

export const createPartitionsGate: Gate = async (req: CreatePartitionsRequest, g, next) => {
  const { yes, no } = split(req.topics, (t) => may(g, 'Alter', 'Topic', t.name));
  if (no.length === 0) return next(req);
  const denied = no.map((t) => ({ name: t.name, errorCode: TOPIC_DENIED, errorMessage: 'Authorization failed.' }));
  const res = yes.length === 0 ? ({ throttleTimeMs: 0, results: [] } as CreatePartitionsResponse) : ((await next({ ...req, topics: yes })) as CreatePartitionsResponse);
  return { ...res, results: [...res.results, ...denied] };
};

export const deleteRecordsGate: Gate = async (req: DeleteRecordsRequest, g, next) => {
  const { yes, no } = split(req.topics, (t) => may(g, 'Delete', 'Topic', t.name));
  if (no.length === 0) return next(req);
  const denied = no.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: TOPIC_DENIED })) }));
  const res = yes.length === 0 ? ({ throttleTimeMs: 0, topics: [] } as DeleteRecordsResponse) : ((await next({ ...req, topics: yes })) as DeleteRecordsResponse);
  return { ...res, topics: [...res.topics, ...denied] };
};

export const offsetForLeaderEpochGate: Gate = async (req: OffsetForLeaderEpochRequest, g, next) => {
  const { yes, no } = split(req.topics, (t) => may(g, 'Describe', 'Topic', t.topic));
  if (no.length === 0) return next(req);
  const denied = no.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => ({ errorCode: TOPIC_DENIED, partition: p.partition, leaderEpoch: -1, endOffset: -1n })) }));
  const res = yes.length === 0 ? ({ throttleTimeMs: 0, topics: [] } as OffsetForLeaderEpochResponse) : ((await next({ ...req, topics: yes })) as OffsetForLeaderEpochResponse);
  return { ...res, topics: [...res.topics, ...denied] };
};

/** A gate for an API that needs `operation` on the cluster and answers `denied` otherwise. */
function onCluster(operation: 'Alter' | 'Describe', denied: object): Gate {
  return async (req, g, next) => (may(g, operation, 'Cluster', CLUSTER_NAME) ? next(req) : denied);
}

export const electLeadersGate = onCluster('Alter', { throttleTimeMs: 0, errorCode: CLUSTER_DENIED, replicaElectionResults: [] });
export const alterPartitionReassignmentsGate = onCluster('Alter', { throttleTimeMs: 0, errorCode: CLUSTER_DENIED, errorMessage: 'Authorization failed.', responses: [] });
export const listPartitionReassignmentsGate = onCluster('Describe', { throttleTimeMs: 0, errorCode: CLUSTER_DENIED, errorMessage: 'Authorization failed.', topics: [] });
export const describeLogDirsGate = onCluster('Describe', { throttleTimeMs: 0, errorCode: CLUSTER_DENIED, results: [] });

/** DescribeProducers: Read on each topic (KIP-664). */
export const describeProducersGate: Gate = async (req: DescribeProducersRequest, g, next) => {
  const { yes, no } = split(req.topics, (t) => may(g, 'Read', 'Topic', t.name));
  if (no.length === 0) return next(req);
  const denied = no.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, errorCode: TOPIC_DENIED, errorMessage: 'Authorization failed.', activeProducers: [] })) }));
  const res = yes.length === 0 ? ({ throttleTimeMs: 0, topics: [] } as DescribeProducersResponse) : ((await next({ ...req, topics: yes })) as DescribeProducersResponse);
  return { ...res, topics: [...res.topics, ...denied] };
};

export const describeClusterGate: Gate = async (req: DescribeClusterRequest, g, next) => {
  const res = (await next(req)) as DescribeClusterResponse;
  if (!req.includeClusterAuthorizedOperations || res.errorCode !== ErrorCode.NONE) return res;
  return { ...res, clusterAuthorizedOperations: may(g, 'Describe', 'Cluster', CLUSTER_NAME) ? g.authz.operations(g.conn, 'Cluster', CLUSTER_NAME) : 0 };
};
