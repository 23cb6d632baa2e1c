// DescribeConfigs for topics (resource type 2) and brokers (4): every known key with its value, whether it is
// read-only or sensitive, and its source (v1+: the topic's override, this broker's or the cluster's dynamic
// config, the broker's static one, or Kafka's default; config-layers.ts), with every layer that sets it as
// synonyms when asked (include_synonyms), so kcat and Kafka's admin tools show where a value comes from.
// A broker id shows its static configs and every dynamic one (the topic configs' broker-level names, the log
// cleaner's and producer-id expiry: reconfigurable-config.ts, and those Kastor only stores: inert-broker-config.ts); the empty
// name (the cluster-wide default) only the dynamic configs set there, as Kafka does.
import type { DescribeConfigsRequest, DescribeConfigsResponse } from '../../protocol/generated/describe-configs.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { brokerConfigEntries, ConfigSource, topicConfigEntries, type ConfigLayers, type ConfigSynonym } from '../../metadata/config-layers.ts';
import type { ClusterSnapshot } from '../../metadata/types.ts';
import { RACK_AWARE_SELECTOR_CLASS } from '../replica-selector.ts';
import { RESOURCE_BROKER as BROKER, RESOURCE_TOPIC as TOPIC } from '../config-admin.ts';
import { listenersOf, staticSettingsOf } from '../broker-config.ts';
import { reconfigurableConfigEntries, staticReconfigurableConfigs } from '../../metadata/reconfigurable-config.ts';
import { inertBrokerConfigEntries } from '../../metadata/inert-broker-config.ts';

/** DescribeConfigs v3+ config_type values (ConfigDef.Type). */
const CONFIG_TYPE: Record<string, number> = { BOOLEAN: 1, STRING: 2, INT: 3, SHORT: 4, LONG: 5, DOUBLE: 6, LIST: 7 };

interface Entry {
  name: string;
  value: string | null;
  readOnly: boolean;
  sensitive: boolean;
  source: number;
  synonyms: ConfigSynonym[];
  type: number;
  documentation: string | null;
}

/** The layers this broker resolves a topic's (or its own) configs from: its dynamic configs, the cluster's, its static ones. */
function brokerLayers(svc: BrokerServices, snapshot: ClusterSnapshot): ConfigLayers {
  return { broker: snapshot.brokerConfigs?.[String(svc.brokerId)], clusterDefault: snapshot.brokerConfigs?.[''], static: svc.config.topicDefaults };
}

function staticEntries(svc: BrokerServices): Entry[] {
  const c = svc.config;
  const rows: Array<[string, string | null]> = [
    ['broker.id', String(c.brokerId)],
    ['broker.rack', c.rack],
    ['replica.selector.class', c.replicaSelector === 'rack-aware' ? RACK_AWARE_SELECTOR_CLASS : null],
    ['listeners', listenersOf(c).map((l) => `${l.name}://${l.host}:${l.port}`).join(',')],
    ['advertised.listeners', listenersOf(c).map((l) => `${l.name}://${l.advertisedHost}:${l.advertisedPort}`).join(',')],
    ['listener.security.protocol.map', listenersOf(c).map((l) => `${l.name}:${l.securityProtocol}`).join(',')],
    ['ssl.client.auth', c.tls?.clientAuth ?? 'none'],
    ['sasl.enabled.mechanisms', c.saslMechanisms.join(',')],
    ['connections.max.reauth.ms', String(c.connectionsMaxReauthMs)],
    ['log.dirs', c.dataDir],
    ['auto.create.topics.enable', String(c.autoCreateTopics)],
    ['num.partitions', String(c.numPartitions)],
    ['default.replication.factor', String(c.defaultReplicationFactor)],
    ['socket.request.max.bytes', String(c.maxRequestBytes)],
    ['log.flush.interval.ms', c.flush === 'always' ? '0' : String(c.flushIntervalMs)],
    ['log.cleaner.enable', String(c.logCleanerEnable)],
  ];
  return rows.map(([name, value]) => {
    const source = ConfigSource.STATIC_BROKER_CONFIG;
    return { name, value, readOnly: true, sensitive: false, source, synonyms: value === null ? [] : [{ name, value, source }], type: 0, documentation: null };
  });
}

export function describeConfigs(svc: BrokerServices, req: DescribeConfigsRequest): DescribeConfigsResponse {
  const snapshot = svc.metadata.snapshot();
  const layers = brokerLayers(svc, snapshot);
  const results = req.resources.map((res) => {
    const base = { resourceType: res.resourceType, resourceName: res.resourceName };
    let entries: Entry[];
    if (res.resourceType === TOPIC) {
      const topic = snapshot.topics[res.resourceName];
      if (!topic) return { ...base, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `topic "${res.resourceName}" does not exist`, configs: [] };
      entries = topicConfigEntries({ ...layers, topic: topic.config }).map((e) => ({ ...e, readOnly: false, sensitive: false, type: CONFIG_TYPE[e.type] ?? 0 }));
    } else if (res.resourceType === BROKER) {
      const clusterWide = res.resourceName === '';
      if (!clusterWide && res.resourceName !== String(svc.brokerId)) {
        return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `ask broker ${res.resourceName} for its own configuration`, configs: [] };
      }
      const runtimeLayers = { broker: layers.broker, clusterDefault: layers.clusterDefault, static: staticReconfigurableConfigs(staticSettingsOf(svc.config)) };
      const layered: Array<Omit<Entry, 'readOnly' | 'sensitive' | 'type'> & { type: string }> = [
        ...brokerConfigEntries(layers, clusterWide),
        ...reconfigurableConfigEntries(runtimeLayers, clusterWide),
        ...inertBrokerConfigEntries(layers, clusterWide),
      ];
      const dynamic: Entry[] = layered
        .sort((x, y) => x.name.localeCompare(y.name))
        .map((e) => ({ ...e, readOnly: false, sensitive: false, type: CONFIG_TYPE[e.type] ?? 0 }));
      entries = clusterWide ? dynamic : [...staticEntries(svc), ...dynamic];
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
        value: e.sensitive ? null : e.value,
        readOnly: e.readOnly,
        // v0's is_default; v1+ carry the source instead.
        isDefault: e.source === ConfigSource.DEFAULT_CONFIG,
        configSource: e.source,
        isSensitive: e.sensitive,
        synonyms: req.includeSynonyms ? e.synonyms : [],
        configType: e.type,
        documentation: req.includeDocumentation ? e.documentation : null,
      })),
    };
  });
  return { throttleTimeMs: 0, results } as DescribeConfigsResponse;
}
