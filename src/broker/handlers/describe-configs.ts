// DescribeConfigs for topics (resource type 2) and brokers (4): every known key with its value, whether it is
// a default, read-only or sensitive, and its source (v1+), so tools like kcat and Kafka's admin clients can
// show a topic's effective configuration.
import type { DescribeConfigsRequest, DescribeConfigsResponse } from '../../protocol/generated/describe-configs.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { describeTopicConfig } from '../../metadata/topic-config.ts';
import { RACK_AWARE_SELECTOR_CLASS } from '../replica-selector.ts';

const TOPIC = 2;
const BROKER = 4;
const SOURCE_DYNAMIC_TOPIC = 1;
const SOURCE_STATIC_BROKER = 4;
const SOURCE_DEFAULT = 5;

interface Entry {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  sensitive: boolean;
  source: number;
}

function brokerEntries(svc: BrokerServices): Entry[] {
  const c = svc.config;
  const rows: Array<[string, string | null]> = [
    ['broker.id', String(c.brokerId)],
    ['broker.rack', c.rack],
    ['replica.selector.class', c.replicaSelector === 'rack-aware' ? RACK_AWARE_SELECTOR_CLASS : null],
    ['advertised.listeners', `PLAINTEXT://${c.advertisedHost}:${c.advertisedPort}`],
    ['log.dirs', c.dataDir],
    ['auto.create.topics.enable', String(c.autoCreateTopics)],
    ['num.partitions', String(c.numPartitions)],
    ['default.replication.factor', String(c.defaultReplicationFactor)],
    ['socket.request.max.bytes', String(c.maxRequestBytes)],
    ['log.flush.interval.ms', c.flush === 'always' ? '0' : String(c.flushIntervalMs)],
  ];
  return rows.map(([name, value]) => ({ name, value, readOnly: true, isDefault: false, sensitive: false, source: SOURCE_STATIC_BROKER }));
}

export function describeConfigs(svc: BrokerServices, req: DescribeConfigsRequest): DescribeConfigsResponse {
  const snapshot = svc.metadata.snapshot();
  const results = req.resources.map((res) => {
    const base = { resourceType: res.resourceType, resourceName: res.resourceName };
    let entries: Entry[];
    if (res.resourceType === TOPIC) {
      const topic = snapshot.topics[res.resourceName];
      if (!topic) return { ...base, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `topic "${res.resourceName}" does not exist`, configs: [] };
      entries = describeTopicConfig(topic.config).map((e) => ({
        name: e.name,
        value: e.sensitive ? null : e.value,
        readOnly: e.readOnly,
        isDefault: e.isDefault,
        sensitive: e.sensitive,
        source: e.isDefault ? SOURCE_DEFAULT : SOURCE_DYNAMIC_TOPIC,
      }));
    } else if (res.resourceType === BROKER) {
      if (res.resourceName !== '' && res.resourceName !== String(svc.brokerId)) {
        return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `ask broker ${res.resourceName} for its own configuration`, configs: [] };
      }
      entries = brokerEntries(svc);
    } else {
      return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `resource type ${res.resourceType} is not supported (2 = topic, 4 = broker)`, configs: [] };
    }
    const keys = res.configurationKeys;
    if (keys && keys.length > 0) entries = entries.filter((e) => keys.includes(e.name));
    return {
      ...base,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      configs: entries.map((e) => ({
        name: e.name,
        value: e.value,
        readOnly: e.readOnly,
        isDefault: e.isDefault,
        configSource: e.source,
        isSensitive: e.sensitive,
        synonyms: req.includeSynonyms ? [{ name: e.name, value: e.value, source: e.source }] : [],
        configType: 0,
        documentation: null,
      })),
    };
  });
  return { throttleTimeMs: 0, results } as DescribeConfigsResponse;
}
