// Authorization of topic administration, configs, producer ids and SCRAM users, as Kafka's KafkaApis:
// CreateTopics needs Create on the cluster or the topic, DeleteTopics Delete on the topic (TOPIC_AUTHORIZATION_FAILED
// per topic); DescribeConfigs/AlterConfigs/IncrementalAlterConfigs need DescribeConfigs/AlterConfigs on the topic
// (TOPIC_AUTHORIZATION_FAILED) or, for a broker or broker logger, on the cluster (CLUSTER_AUTHORIZATION_FAILED), per
// resource; InitProducerId needs Write on its transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED) or, without
// one, IdempotentWrite on the cluster or Write on some topic (KIP-679; CLUSTER_AUTHORIZATION_FAILED); the SCRAM
// credential APIs need Describe/Alter on the cluster.
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { CreateTopicsRequest, CreateTopicsResponse } from '../../protocol/generated/create-topics.ts';
import type { DeleteTopicsRequest, DeleteTopicsResponse } from '../../protocol/generated/delete-topics.ts';
import type { DescribeConfigsRequest, DescribeConfigsResponse } from '../../protocol/generated/describe-configs.ts';
import type { InitProducerIdRequest } from '../../protocol/generated/init-producer-id.ts';
import { ZERO_UUID } from '../../protocol/codec-support.ts';
import { CLUSTER_NAME, type Operation } from '../../security/acl.ts';
import { principalOf } from '../../security/broker-authorizer.ts';
import { may, split, type Gate, type GateContext } from './gate.ts';

const TOPIC_DENIED = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
const CLUSTER_DENIED = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
const TOPIC_RESOURCE = 2;

export const createTopicsGate: Gate = async (req: CreateTopicsRequest, g, next) => {
  const onCluster = may(g, 'Create', 'Cluster', CLUSTER_NAME, true);
  const { yes, no } = split(req.topics, (t) => onCluster || may(g, 'Create', 'Topic', t.name));
  if (no.length === 0) return next(req);
  const denied = no.map((t) => ({ name: t.name, topicId: ZERO_UUID, errorCode: TOPIC_DENIED, errorMessage: 'Authorization failed.', topicConfigErrorCode: 0, numPartitions: -1, replicationFactor: -1, configs: [] }));
  const res = yes.length === 0 ? ({ throttleTimeMs: 0, topics: [] } as CreateTopicsResponse) : ((await next({ ...req, topics: yes })) as CreateTopicsResponse);
  return { ...res, topics: [...res.topics, ...denied] };
};

export const deleteTopicsGate: Gate = async (req: DeleteTopicsRequest, g, next) => {
  const snapshot = g.svc.metadata.snapshot();
  const nameOfId = new Map(Object.values(snapshot.topics).map((t) => [t.id, t.name]));
  const deniedResult = (name: string | null, topicId: string) => ({ name, topicId, errorCode: TOPIC_DENIED, errorMessage: 'Authorization failed.' });
  let denied: ReturnType<typeof deniedResult>[];
  let rest: DeleteTopicsRequest;
  let empty: boolean;
  if (g.apiVersion >= 6) {
    // v6: by name or by id; an unknown id is the handler's answer.
    const { yes, no } = split(req.topics ?? [], (t) => {
      const name = t.name ?? nameOfId.get(t.topicId);
      return name === undefined || may(g, 'Delete', 'Topic', name);
    });
    denied = no.map((t) => deniedResult(t.name, t.topicId));
    rest = { ...req, topics: yes };
    empty = yes.length === 0;
  } else {
    const { yes, no } = split(req.topicNames ?? [], (name) => may(g, 'Delete', 'Topic', name));
    denied = no.map((name) => deniedResult(name, snapshot.topics[name]?.id ?? ZERO_UUID));
    rest = { ...req, topicNames: yes };
    empty = yes.length === 0;
  }
  if (denied.length === 0) return next(req);
  const res = empty ? ({ throttleTimeMs: 0, responses: [] } as DeleteTopicsResponse) : ((await next(rest)) as DeleteTopicsResponse);
  return { ...res, responses: [...res.responses, ...denied] };
};

/** A per-resource config gate: a topic resource asks the topic, a broker or logger resource the cluster. */
function configGate(operation: Operation, resultsField: 'results' | 'responses', deniedResult: (r: { resourceType: number; resourceName: string }, errorCode: number) => object): Gate {
  return async (req: { resources: Array<{ resourceType: number; resourceName: string }> }, g: GateContext, next) => {
    const { yes, no } = split(req.resources, (r) => (r.resourceType === TOPIC_RESOURCE ? may(g, operation, 'Topic', r.resourceName) : may(g, operation, 'Cluster', CLUSTER_NAME)));
    if (no.length === 0) return next(req);
    const denied = no.map((r) => deniedResult(r, r.resourceType === TOPIC_RESOURCE ? TOPIC_DENIED : CLUSTER_DENIED));
    const res = yes.length === 0 ? { throttleTimeMs: 0, [resultsField]: [] } : await next({ ...req, resources: yes });
    return { ...res, [resultsField]: [...res[resultsField], ...denied] };
  };
}

export const describeConfigsGate = configGate('DescribeConfigs', 'results', (r, errorCode) => ({ errorCode, errorMessage: 'Authorization failed.', resourceType: r.resourceType, resourceName: r.resourceName, configs: [] }) satisfies DescribeConfigsResponse['results'][number]);
const alterDenied = (r: { resourceType: number; resourceName: string }, errorCode: number) => ({ errorCode, errorMessage: 'Authorization failed.', resourceType: r.resourceType, resourceName: r.resourceName });
export const alterConfigsGate = configGate('AlterConfigs', 'responses', alterDenied);
export const incrementalAlterConfigsGate = configGate('AlterConfigs', 'responses', alterDenied);

export const initProducerIdGate: Gate = async (req: InitProducerIdRequest, g, next) => {
  const refuse = (errorCode: number) => ({ throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 });
  if (req.transactionalId !== null) return may(g, 'Write', 'TransactionalId', req.transactionalId) ? next(req) : refuse(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  if (may(g, 'IdempotentWrite', 'Cluster', CLUSTER_NAME, true) || g.authz.anyAllowed(g.conn, 'Write', 'Topic')) return next(req);
  g.svc.logger.info('authorization denied', { ...principalOf(g.conn), operation: 'IdempotentWrite', resourceType: 'Cluster', resourceName: CLUSTER_NAME, api: g.api, reason: 'neither IdempotentWrite on the cluster nor Write on any topic' });
  g.svc.metrics.authorizationDenied.inc({ operation: 'IdempotentWrite', resource_type: 'Cluster' });
  return refuse(CLUSTER_DENIED);
};

export const describeScramGate: Gate = async (req, g, next) =>
  may(g, 'Describe', 'Cluster', CLUSTER_NAME) ? next(req) : { throttleTimeMs: 0, errorCode: CLUSTER_DENIED, errorMessage: 'Authorization failed.', results: [] };

export const alterScramGate: Gate = async (req: { deletions: Array<{ name: string }>; upsertions: Array<{ name: string }> }, g, next) => {
  if (may(g, 'Alter', 'Cluster', CLUSTER_NAME)) return next(req);
  const users = [...new Set([...req.deletions, ...req.upsertions].map((a) => a.name))];
  return { throttleTimeMs: 0, results: users.map((user) => ({ user, errorCode: CLUSTER_DENIED, errorMessage: 'Authorization failed.' })) };
};
