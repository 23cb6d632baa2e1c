// Authorization of the data path, as Kafka's KafkaApis: Produce needs Write on each topic (and Write on the
// transactional id of a transactional Produce), Fetch Read on each topic, ListOffsets Describe on each topic: a
// denied topic's partitions answer TOPIC_AUTHORIZATION_FAILED and the others are served in the same response.
// Metadata lists only the topics the principal may Describe (a request for all topics leaves the others out
// silently; one naming them gets TOPIC_AUTHORIZATION_FAILED), and a topic it would auto-create needs Create on
// the topic or the cluster. Asked for (KIP-430), each listed topic carries the principal's operations on it (a
// denied one keeps INT32_MIN), and the cluster's are the principal's when it may Describe the cluster, else 0.
import { ErrorCode } from '../../protocol/generated/errors.ts';
import { ZERO_UUID } from '../../protocol/codec-support.ts';
import type { ProduceRequest, ProduceResponse } from '../../protocol/generated/produce.ts';
import type { FetchRequest, FetchResponse } from '../../protocol/generated/fetch.ts';
import type { ListOffsetsRequest, ListOffsetsResponse } from '../../protocol/generated/list-offsets.ts';
import type { MetadataRequest, MetadataResponse } from '../../protocol/generated/metadata.ts';
import { may, split, type Gate } from './gate.ts';
import { CLUSTER_NAME } from '../../security/acl.ts';
import { OPERATIONS_NOT_REQUESTED } from '../../security/authorized-operations.ts';

const DENIED = ErrorCode.TOPIC_AUTHORIZATION_FAILED;

export const produceGate: Gate = async (req: ProduceRequest, g, next) => {
  const txnDenied = req.transactionalId != null && !may(g, 'Write', 'TransactionalId', req.transactionalId);
  const { yes, no } = split(req.topicData, (t) => !txnDenied && may(g, 'Write', 'Topic', t.name));
  const errorCode = txnDenied ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED : DENIED;
  const denied = no.map((t) => ({
    name: t.name,
    partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, recordErrors: [], errorMessage: null })),
  }));
  if (no.length === 0) return next(req);
  if (yes.length === 0) return req.acks === 0 ? null : ({ responses: denied, throttleTimeMs: 0 } as ProduceResponse);
  const res = (await next({ ...req, topicData: yes })) as ProduceResponse | null;
  return res === null ? null : { ...res, responses: [...res.responses, ...denied] };
};

export const fetchGate: Gate = async (req: FetchRequest, g, next) => {
  const snapshot = g.svc.metadata.snapshot();
  const byId = new Map(Object.values(snapshot.topics).map((t) => [t.id, t.name]));
  // v13 names topics by id: an id no topic has is the handler's UNKNOWN_TOPIC_ID, not an authorization question.
  const nameOf = (t: FetchRequest['topics'][number]) => (g.apiVersion >= 13 ? byId.get(t.topicId ?? ZERO_UUID) : t.topic);
  const { yes, no } = split(req.topics, (t) => {
    const name = nameOf(t);
    return name === undefined || may(g, 'Read', 'Topic', name);
  });
  if (no.length === 0) return next(req);
  // Kafka answers a denied partition with an empty record set, never a null one: librdkafka takes null
  // (MessageSetSize -1) for a protocol error and never reports the authorization failure (its test 0119).
  const denied = no.map((t) => ({
    topic: t.topic,
    topicId: t.topicId,
    partitions: t.partitions.map((p) => ({ partitionIndex: p.partition, errorCode: DENIED, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, abortedTransactions: null, preferredReadReplica: -1, records: Buffer.alloc(0) })),
  }));
  // An incremental fetch (KIP-227) still goes to the handler: its session's other partitions are read, and its epoch moves on.
  const incremental = (req.sessionEpoch ?? -1) > 0;
  if (yes.length === 0 && !incremental) return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses: denied, nodeEndpoints: [] } as FetchResponse;
  const res = (await next({ ...req, topics: yes })) as FetchResponse;
  return { ...res, responses: [...res.responses, ...denied] };
};

export const listOffsetsGate: Gate = async (req: ListOffsetsRequest, g, next) => {
  const { yes, no } = split(req.topics, (t) => may(g, 'Describe', 'Topic', t.name));
  if (no.length === 0) return next(req);
  const denied = no.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: DENIED, oldStyleOffsets: [], timestamp: -1n, offset: -1n, leaderEpoch: -1 })),
  }));
  const res = yes.length === 0 ? ({ throttleTimeMs: 0, topics: [] } as ListOffsetsResponse) : ((await next({ ...req, topics: yes })) as ListOffsetsResponse);
  return { ...res, topics: [...res.topics, ...denied] };
};

const errorTopic = (name: string | null) => ({ errorCode: DENIED, name, topicId: ZERO_UUID, isInternal: false, partitions: [], topicAuthorizedOperations: OPERATIONS_NOT_REQUESTED });

/** KIP-430 on the handler's answer: the principal's operations where the handler put all of them. */
function ownOperations(req: MetadataRequest, g: Parameters<Gate>[1], res: MetadataResponse): MetadataResponse {
  if (!req.includeClusterAuthorizedOperations && !req.includeTopicAuthorizedOperations) return res;
  const topics = res.topics.map((t) => (t.name !== null && t.topicAuthorizedOperations !== OPERATIONS_NOT_REQUESTED ? { ...t, topicAuthorizedOperations: g.authz.operations(g.conn, 'Topic', t.name) } : t));
  if (!req.includeClusterAuthorizedOperations) return { ...res, topics };
  const clusterAuthorizedOperations = may(g, 'Describe', 'Cluster', CLUSTER_NAME) ? g.authz.operations(g.conn, 'Cluster', CLUSTER_NAME) : 0;
  return { ...res, topics, clusterAuthorizedOperations };
}

export const metadataGate: Gate = async (req: MetadataRequest, g, next) => {
  const all = req.topics === null || (g.apiVersion === 0 && req.topics.length === 0);
  if (all) {
    const res = (await next(req)) as MetadataResponse;
    return ownOperations(req, g, { ...res, topics: res.topics.filter((t) => t.name !== null && may(g, 'Describe', 'Topic', t.name, true)) });
  }
  const snapshot = g.svc.metadata.snapshot();
  const autoCreate = g.svc.config.autoCreateTopics && (g.apiVersion < 4 || req.allowAutoTopicCreation !== false);
  const mayCreate = (name: string) => may(g, 'Create', 'Cluster', CLUSTER_NAME, true) || may(g, 'Create', 'Topic', name);
  const denied: string[] = [];
  const kept = req.topics!.filter((t) => {
    if (t.name === null || t.name === undefined) return true; // by id: checked on the answer
    const ok = may(g, 'Describe', 'Topic', t.name) && (snapshot.topics[t.name] !== undefined || !autoCreate || mayCreate(t.name));
    if (!ok) denied.push(t.name);
    return ok;
  });
  // An empty list is "all topics" in v0: ask for one that cannot exist and drop it from the answer.
  const res = (await next({ ...req, topics: kept.length === 0 && g.apiVersion === 0 ? [] : kept })) as MetadataResponse;
  const asked = new Set(kept.map((t) => t.name));
  const askedIds = new Set(kept.filter((t) => t.name === null || t.name === undefined).map((t) => t.topicId));
  const topics = res.topics.flatMap((t) => {
    if (t.name !== null && asked.has(t.name)) return [t];
    if (!askedIds.has(t.topicId)) return [];
    return t.name === null || may(g, 'Describe', 'Topic', t.name) ? [t] : [{ ...errorTopic(null), topicId: t.topicId }];
  });
  return ownOperations(req, g, { ...res, topics: [...topics, ...denied.map(errorTopic)] });
};
