// The broker configs that running parts of Kastor take up at runtime (Kafka's BrokerReconfigurable, KIP-226,
// DynamicBrokerConfig: `kafka-configs.sh --entity-type brokers [--entity-name ID | --entity-default] --alter
// --add-config log.cleaner.io.max.bytes.per.second=...`): the log cleaner's I/O bound and backoff, as Kafka's
// LogCleaner reconfigures itself, and producer.id.expiration.ms. They are stored with the other dynamic broker
// configs (per broker, and '' for the cluster-wide default) and resolved in Kafka's order: this broker's dynamic
// value, the cluster's, the broker's static setting (its command line or server.properties), Kafka's default. The
// cleaner reads them at every pass, the periodic checkpoint at every producer-state snapshot. log.cleaner.enable
// is not dynamic in Kafka either, so it is refused as static; log.cleaner.threads and the buffer sizes are, but
// Kastor runs one cleaner with no dedupe buffer, so it only stores them (inert-broker-config.ts). Pure: no I/O.
import { ConfigSource, type ConfigSynonym, type LayeredEntry } from './config-layers.ts';
import { parseConfigNumber } from './config-number.ts';

interface ReconfigurableDef {
  type: 'LONG' | 'DOUBLE' | 'INT';
  default: string;
  doc: string;
  /** The normalized value, or throws what is wrong with it. */
  check: (value: string) => string;
}

const INT_MAX = 2 ** 31 - 1;

/** Kafka's default for the I/O bound: Double.MAX_VALUE, i.e. unbounded. */
const DOUBLE_MAX = '1.7976931348623157E308';

/** A number config's check as Kafka's ConfigDef (config-number.ts): the normalized value, or throws Kafka's reason. */
const numberCheck =
  (type: 'INT' | 'LONG', min: number) =>
  (v: string): string => {
    const parsed = parseConfigNumber(type, v, [min, Infinity]);
    if ('why' in parsed) throw parsed.why;
    return parsed.value;
  };

export const RECONFIGURABLE_CONFIGS: Readonly<Record<string, ReconfigurableDef>> = {
  'log.cleaner.io.max.bytes.per.second': {
    type: 'DOUBLE',
    default: DOUBLE_MAX,
    doc: "The log cleaner's reads and writes together are held to this many bytes per second.",
    check: (v) => {
      const parsed = parseConfigNumber('DOUBLE', v);
      if ('why' in parsed) throw parsed.why;
      // Kafka has no lower bound; a cleaner held to nothing would never finish a cleaning.
      if (!(parsed.n > 0)) throw 'Value must be above 0';
      return parsed.n >= Number.MAX_VALUE ? DOUBLE_MAX : parsed.value;
    },
  },
  'log.cleaner.backoff.ms': {
    type: 'LONG',
    default: '15000',
    doc: 'The amount of time to sleep when there are no logs to clean.',
    check: numberCheck('LONG', 0),
  },
  'producer.id.expiration.ms': {
    type: 'INT',
    default: '86400000',
    doc: "How long a producer id is kept in a partition's producer state after its last batch, with no transaction open (Kafka's producer.id.expiration.ms).",
    check: numberCheck('INT', 1),
  },
};

export function isReconfigurableConfig(name: string): boolean {
  return Object.hasOwn(RECONFIGURABLE_CONFIGS, name);
}

/** Checks one value: the normalized value, or Kafka's message naming the key. */
export function checkReconfigurableValue(name: string, value: string): { value: string } | { error: string } {
  try {
    return { value: RECONFIGURABLE_CONFIGS[name]!.check(value) };
  } catch (why) {
    return { error: `Invalid value ${value} for configuration ${name}: ${String(why)}` };
  }
}

export interface ReconfigurableLayers {
  /** This broker's dynamic configs (broker config names). */
  broker?: Readonly<Record<string, string>>;
  /** The cluster-wide dynamic defaults. */
  clusterDefault?: Readonly<Record<string, string>>;
  /** The broker's static settings of these keys (only those given on its command line or in server.properties). */
  static?: Readonly<Record<string, string>>;
}

function synonymsOf(name: string, layers: ReconfigurableLayers): ConfigSynonym[] {
  const out: ConfigSynonym[] = [];
  const add = (layer: Readonly<Record<string, string>> | undefined, source: number) => {
    if (layer && Object.hasOwn(layer, name)) out.push({ name, value: layer[name]!, source });
  };
  add(layers.broker, ConfigSource.DYNAMIC_BROKER_CONFIG);
  add(layers.clusterDefault, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
  add(layers.static, ConfigSource.STATIC_BROKER_CONFIG);
  out.push({ name, value: RECONFIGURABLE_CONFIGS[name]!.default, source: ConfigSource.DEFAULT_CONFIG });
  return out;
}

/** The cleaner configs as DescribeConfigs shows a broker (every key) or the cluster default (the keys set there). */
export function reconfigurableConfigEntries(layers: ReconfigurableLayers, clusterWide: boolean): LayeredEntry[] {
  const out: LayeredEntry[] = [];
  for (const [name, def] of Object.entries(RECONFIGURABLE_CONFIGS)) {
    const synonyms = synonymsOf(name, clusterWide ? { clusterDefault: layers.clusterDefault } : layers);
    if (clusterWide && synonyms[0]!.source !== ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG) continue;
    out.push({ name, value: synonyms[0]!.value, source: synonyms[0]!.source, synonyms, type: def.type, documentation: def.doc });
  }
  return out;
}

export interface ReconfigurableSettings {
  /** log.cleaner.io.max.bytes.per.second; Infinity: unbounded. */
  cleanerIoMaxBytesPerSecond: number;
  cleanerBackoffMs: number;
  producerIdExpirationMs: number;
}

/** The settings to run with now. A stored value that no longer parses falls through to the next layer. */
export function reconfigurableSettings(layers: ReconfigurableLayers): ReconfigurableSettings {
  const effective = (name: string): number => {
    for (const s of synonymsOf(name, layers)) {
      const checked = checkReconfigurableValue(name, s.value);
      if ('value' in checked) return Number(checked.value);
    }
    return Number(RECONFIGURABLE_CONFIGS[name]!.default);
  };
  const io = effective('log.cleaner.io.max.bytes.per.second');
  return {
    cleanerIoMaxBytesPerSecond: io >= Number.MAX_VALUE ? Infinity : io,
    cleanerBackoffMs: Math.min(effective('log.cleaner.backoff.ms'), INT_MAX),
    producerIdExpirationMs: effective('producer.id.expiration.ms'),
  };
}

/** The static layer of a broker started with these settings: only the keys that differ from Kafka's defaults. */
export function staticReconfigurableConfigs(s: ReconfigurableSettings): Record<string, string> {
  const out: Record<string, string> = {};
  const differs = (name: string, value: number) => {
    if (String(value) !== RECONFIGURABLE_CONFIGS[name]!.default) out[name] = String(value);
  };
  if (Number.isFinite(s.cleanerIoMaxBytesPerSecond)) out['log.cleaner.io.max.bytes.per.second'] = String(s.cleanerIoMaxBytesPerSecond);
  differs('log.cleaner.backoff.ms', s.cleanerBackoffMs);
  differs('producer.id.expiration.ms', s.producerIdExpirationMs);
  return out;
}
