// Metadata: brokers, the controller, topics with their ids, partitions, leaders, replicas and ISR.
// Topics that do not exist are auto-created when the client allows it (v4+ allow_auto_topic_creation; always
// allowed before v4) and auto.create.topics.enable is on — producers ask for it, consumers do not.
// A partition whose leader is not a live broker reports LEADER_NOT_AVAILABLE with leader -1, so clients
// refresh and retry instead of connecting to a dead broker.
// KIP-430: asked for (v8+ per topic, v8-v10 for the cluster), the authorized operations are all of them, as
// Kafka answers without an authorizer; with one, the Metadata gate puts the principal's own in their place.
import type { MetadataRequest, MetadataResponse } from '../../protocol/generated/metadata.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { ClusterSnapshot, TopicInfo } from '../../metadata/types.ts';
import type { BrokerServices } from '../broker-services.ts';
import { invalidTopicName } from '../topic-admin.ts';
import { endpointFor } from '../../security/listeners.ts';
import { allOperations, OPERATIONS_NOT_REQUESTED } from '../../security/authorized-operations.ts';

const ZERO_UUID = '0'.repeat(32);
const AUTO_CREATE_WAIT_MS = 5_000;

function topicEntry(snapshot: ClusterSnapshot, topic: TopicInfo, topicAuthorizedOperations: number) {
  const live = snapshot.brokers;
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.id,
    isInternal: topic.name.startsWith('__'),
    partitions: topic.partitions.map((p) => {
      const leaderLive = p.leader >= 0 && live[p.leader] !== undefined;
      return {
        errorCode: leaderLive ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE,
        partitionIndex: p.partition,
        leaderId: leaderLive ? p.leader : -1,
        leaderEpoch: p.leaderEpoch,
        replicaNodes: [...p.replicas],
        isrNodes: [...p.isr],
        offlineReplicas: p.replicas.filter((r) => live[r] === undefined),
      };
    }),
    topicAuthorizedOperations,
  };
}

function errorEntry(name: string | null, topicId: string, errorCode: number, topicAuthorizedOperations = OPERATIONS_NOT_REQUESTED) {
  return { errorCode, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations };
}

/** `listener`: the one the client came in on, whose addresses it is told (brokers without it are left out, as Kafka does). */
export async function metadata(svc: BrokerServices, req: MetadataRequest, apiVersion: number, listener?: string): Promise<MetadataResponse> {
  let snapshot = svc.metadata.snapshot();
  // v0: an empty list means all topics; v1+: null means all topics and an empty list means none.
  const all = req.topics === null || (apiVersion === 0 && req.topics.length === 0);
  const allowAutoCreate = svc.config.autoCreateTopics && (apiVersion < 4 || req.allowAutoTopicCreation);
  const topics: ReturnType<typeof topicEntry | typeof errorEntry>[] = [];
  // Kafka sets them on every entry it looked up by name, error entries too; an unknown topic id keeps the default.
  const topicOps = req.includeTopicAuthorizedOperations ? allOperations('Topic') : OPERATIONS_NOT_REQUESTED;

  if (all) {
    for (const t of Object.values(snapshot.topics).sort((a, b) => a.name.localeCompare(b.name))) topics.push(topicEntry(snapshot, t, topicOps));
  } else {
    const toCreate: string[] = [];
    for (const requested of req.topics!) {
      if (requested.name === null || requested.name === undefined) {
        // v10+: addressed by topic id only.
        const byId = Object.values(snapshot.topics).find((t) => t.id === requested.topicId);
        topics.push(byId ? topicEntry(snapshot, byId, topicOps) : errorEntry(null, requested.topicId ?? ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_ID));
        continue;
      }
      const name = requested.name;
      if (snapshot.topics[name]) continue;
      if (invalidTopicName(name)) continue;
      if (allowAutoCreate) toCreate.push(name);
    }
    if (toCreate.length > 0) {
      await Promise.all(
        toCreate.map(async (name) => {
          const r = await svc.topics.create({ name, numPartitions: -1, replicationFactor: -1 });
          if (r.errorCode === ErrorCode.NONE || r.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) await svc.topics.waitReady(name, AUTO_CREATE_WAIT_MS);
        }),
      );
      snapshot = svc.metadata.snapshot();
    }
    for (const requested of req.topics!) {
      const name = requested.name;
      if (name === null || name === undefined) continue;
      const t = snapshot.topics[name];
      if (t) topics.push(topicEntry(snapshot, t, topicOps));
      else if (invalidTopicName(name)) topics.push(errorEntry(name, ZERO_UUID, ErrorCode.INVALID_TOPIC_EXCEPTION, topicOps));
      else topics.push(errorEntry(name, ZERO_UUID, toCreate.includes(name) ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, topicOps));
    }
  }

  return {
    throttleTimeMs: 0,
    brokers: Object.values(snapshot.brokers)
      .sort((a, b) => a.id - b.id)
      .flatMap((b) => {
        const at = endpointFor(b, listener);
        return at ? [{ nodeId: b.id, host: at.host, port: at.port, rack: b.rack }] : [];
      }),
    clusterId: snapshot.clusterId,
    controllerId: svc.controllerId(snapshot),
    topics,
    clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? allOperations('Cluster') : OPERATIONS_NOT_REQUESTED,
  } as MetadataResponse;
}
