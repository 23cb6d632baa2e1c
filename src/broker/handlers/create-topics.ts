// CreateTopics: validate and create each topic (or only validate, v1+ validate_only), then wait up to
// timeout_ms for the topic to be usable on this broker. Each topic has its own error code and message.
import type { CreateTopicsRequest, CreateTopicsResponse } from '../../protocol/generated/create-topics.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { describeTopicConfig } from '../../metadata/topic-config.ts';

export async function createTopics(svc: BrokerServices, req: CreateTopicsRequest): Promise<CreateTopicsResponse> {
  const seen = new Map<string, number>();
  for (const t of req.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
  const topics = await Promise.all(
    req.topics.map(async (t) => {
      const base = { name: t.name, topicId: '0'.repeat(32), topicConfigErrorCode: 0, numPartitions: -1, replicationFactor: -1, configs: [] as unknown[] };
      if ((seen.get(t.name) ?? 0) > 1) {
        return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `topic "${t.name}" appears more than once in the request` };
      }
      const configs: Record<string, string> = {};
      for (const c of t.configs) if (c.value !== null) configs[c.name] = c.value;
      const r = await svc.topics.create({
        name: t.name,
        numPartitions: t.numPartitions,
        replicationFactor: t.replicationFactor,
        assignments: t.assignments.map((a) => ({ partitionIndex: a.partitionIndex, brokerIds: a.brokerIds })),
        configs,
        validateOnly: req.validateOnly ?? false,
      });
      if (r.errorCode !== ErrorCode.NONE || !r.topic) return { ...base, errorCode: r.errorCode, errorMessage: r.errorMessage };
      if (!req.validateOnly && req.timeoutMs > 0) await svc.topics.waitReady(t.name, req.timeoutMs);
      return {
        ...base,
        topicId: req.validateOnly ? base.topicId : r.topic.id,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        numPartitions: r.topic.partitions.length,
        replicationFactor: r.topic.partitions[0].replicas.length,
        configs: describeTopicConfig(r.topic.config).map((c) => ({
          name: c.name,
          value: c.sensitive ? null : c.value,
          readOnly: c.readOnly,
          configSource: c.isDefault ? 5 /* DEFAULT_CONFIG */ : 1 /* DYNAMIC_TOPIC_CONFIG */,
          isSensitive: c.sensitive,
        })),
      };
    }),
  );
  return { throttleTimeMs: 0, topics } as CreateTopicsResponse;
}
