// Where a topic's effective config comes from, layer by layer, as Kafka resolves it (KIP-226): the topic's own
// override (DYNAMIC_TOPIC_CONFIG), then the broker-level synonym set dynamically for this broker
// (DYNAMIC_BROKER_CONFIG), then set dynamically for the whole cluster (DYNAMIC_DEFAULT_BROKER_CONFIG), then the
// broker's static setting (STATIC_BROKER_CONFIG: server.properties, Kastor's --topic-default), then Kafka's
// default (DEFAULT_CONFIG). DescribeConfigs reports the first layer that sets a key as its source and, asked for
// synonyms, every layer that does, most important first.
//
// The broker configs Kastor changes at runtime are the broker-level names of topic configs (Kafka's
// DynamicLogConfig): the small set below. They live in the cluster metadata (per broker and cluster-wide), so
// every broker sees them and they survive restarts. Other broker configs are static: refused as Kafka refuses
// them. Pure: no I/O.
import { TOPIC_CONFIG_NAMES, topicConfigDef, type ConfigType } from './topic-config.ts';

/** DescribeConfigs v1+ config_source values. */
export const ConfigSource = {
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

/** Broker config → the topic config it is the broker-wide default of: the broker configs that change at runtime. */
export const DYNAMIC_BROKER_CONFIGS: Readonly<Record<string, string>> = {
  'log.retention.ms': 'retention.ms',
  'log.retention.bytes': 'retention.bytes',
  'log.segment.bytes': 'segment.bytes',
  'log.roll.ms': 'segment.ms',
  'log.cleanup.policy': 'cleanup.policy',
  'log.message.timestamp.type': 'message.timestamp.type',
  'message.max.bytes': 'max.message.bytes',
  'min.insync.replicas': 'min.insync.replicas',
  'compression.type': 'compression.type',
  'unclean.leader.election.enable': 'unclean.leader.election.enable',
};

/** The broker-level name of a topic config, where Kafka has one. */
export const BROKER_SYNONYM: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(DYNAMIC_BROKER_CONFIGS).map(([b, t]) => [t, b]));

export interface ConfigLayers {
  /** The topic's overrides (topic config names). */
  topic?: Readonly<Record<string, string>>;
  /** Dynamic configs of the broker answering (broker config names). */
  broker?: Readonly<Record<string, string>>;
  /** Dynamic cluster-wide defaults (broker config names). */
  clusterDefault?: Readonly<Record<string, string>>;
  /** The broker's static topic defaults (topic config names: --topic-default, server.properties). */
  static?: Readonly<Record<string, string>>;
}

export interface ConfigSynonym {
  name: string;
  value: string;
  source: number;
}

export interface LayeredEntry {
  name: string;
  value: string;
  source: number;
  /** Every layer that sets the key, most important first (the effective one first). */
  synonyms: ConfigSynonym[];
  type: ConfigType;
  documentation: string;
}

/** The synonyms of topic config `name`, most important first; the last is always Kafka's default. */
function synonymsOf(name: string, layers: ConfigLayers, withTopic: boolean): ConfigSynonym[] {
  const def = topicConfigDef(name)!;
  const broker = BROKER_SYNONYM[name];
  const out: ConfigSynonym[] = [];
  const add = (layer: Readonly<Record<string, string>> | undefined, key: string | undefined, source: number) => {
    if (layer && key !== undefined && Object.hasOwn(layer, key)) out.push({ name: key, value: layer[key]!, source });
  };
  if (withTopic) add(layers.topic, name, ConfigSource.DYNAMIC_TOPIC_CONFIG);
  add(layers.broker, broker, ConfigSource.DYNAMIC_BROKER_CONFIG);
  add(layers.clusterDefault, broker, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
  if (layers.static && Object.hasOwn(layers.static, name)) out.push({ name: broker ?? name, value: layers.static[name]!, source: ConfigSource.STATIC_BROKER_CONFIG });
  out.push({ name: broker ?? name, value: def.default, source: ConfigSource.DEFAULT_CONFIG });
  return out;
}

/** Every topic config with its effective value, source and synonyms (DescribeConfigs of a topic). */
export function topicConfigEntries(layers: ConfigLayers): LayeredEntry[] {
  return TOPIC_CONFIG_NAMES.map((name) => {
    const synonyms = synonymsOf(name, layers, true);
    const def = topicConfigDef(name)!;
    return { name, value: synonyms[0]!.value, source: synonyms[0]!.source, synonyms, type: def.type, documentation: def.doc };
  });
}

/** Each topic config's effective value where a layer above Kafka's default sets it (what the replicas act on). */
export function effectiveOverrides(layers: ConfigLayers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of TOPIC_CONFIG_NAMES) {
    const first = synonymsOf(name, layers, true)[0]!;
    if (first.source !== ConfigSource.DEFAULT_CONFIG) out[name] = first.value;
  }
  return out;
}

/**
 * The dynamic broker configs as DescribeConfigs shows a broker: for a broker id every dynamic key with its
 * effective value, for the cluster-wide default resource (`clusterWide`) only the keys set there.
 */
export function brokerConfigEntries(layers: ConfigLayers, clusterWide: boolean): LayeredEntry[] {
  const out: LayeredEntry[] = [];
  for (const [brokerKey, topicKey] of Object.entries(DYNAMIC_BROKER_CONFIGS)) {
    const def = topicConfigDef(topicKey)!;
    const synonyms = synonymsOf(topicKey, clusterWide ? { clusterDefault: layers.clusterDefault } : layers, false);
    if (clusterWide && synonyms[0]!.source !== ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG) continue;
    // The broker-level key names every synonym of a broker config (Kafka lists e.g. log.retention.ms for all).
    const named = synonyms.map((s) => ({ ...s, name: brokerKey }));
    out.push({ name: brokerKey, value: named[0]!.value, source: named[0]!.source, synonyms: named, type: def.type, documentation: def.doc });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
