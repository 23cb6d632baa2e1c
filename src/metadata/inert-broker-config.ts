// Dynamic broker configs that Kafka 3.9 accepts at runtime (DynamicBrokerConfig.AllDynamicConfigs) for features
// Kastor does not have: Kerberos and SASL login refresh, the request and network thread pools, connection limits,
// the log cleaner's buffers and threads, transaction partition verification. Admin tools and client test suites set them (librdkafka's
// 0081 sets sasl.kerberos.min.time.before.relogin, background.threads), so, as Kafka does, AlterConfigs and
// IncrementalAlterConfigs check their type and range and store them with the other dynamic broker configs (per
// broker, and '' for the cluster-wide default), and DescribeConfigs shows them with their source; they change
// nothing in Kastor, and their documentation says so. The listener and SASL keys are per broker in Kafka
// (DynamicBrokerConfig.PerBrokerConfigs): refused at the cluster-wide level with Kafka's INVALID_REQUEST.
// Left out on purpose: keys that name a Kastor setting which does not change at runtime (sasl.enabled.mechanisms,
// ssl.*, listeners), and those that need a listener prefix or load a class (sasl.jaas.config, metric.reporters).
// Pure: no I/O.
import { ConfigSource, type ConfigSynonym, type LayeredEntry } from './config-layers.ts';
import type { ConfigType } from './topic-config.ts';
import { parseConfigNumber } from './config-number.ts';

type InertType = Exclude<ConfigType, 'LIST'> | 'SHORT' | 'LIST';

interface InertConfigDef {
  type: InertType;
  /** Kafka's default; null where Kafka has none (DescribeConfigs shows a null value). */
  default: string | null;
  doc: string;
  /** The inclusive range of a number, as Kafka's ConfigDef validator. */
  range?: [number, number];
  /** Settable only per broker id (Kafka's PerBrokerConfigs). */
  perBroker?: true;
}

const INT_MAX = 2 ** 31 - 1;

const atLeast = (min: number): [number, number] => [min, Infinity];
const perBroker = true as const;

const DEFS: Readonly<Record<string, InertConfigDef>> = {
  // DynamicThreadPool
  'num.io.threads': { type: 'INT', default: '8', range: atLeast(1), doc: 'Threads the broker uses to process requests.' },
  'num.network.threads': { type: 'INT', default: '3', range: atLeast(1), doc: 'Threads receiving requests and sending responses.' },
  'num.replica.fetchers': { type: 'INT', default: '1', doc: 'Threads fetching from each source broker.' },
  'num.recovery.threads.per.data.dir': { type: 'INT', default: '2', range: atLeast(1), doc: 'Threads per log directory for recovery at startup and flushing at shutdown.' },
  'background.threads': { type: 'INT', default: '10', range: atLeast(1), doc: 'Threads for background tasks.' },
  // LogCleaner (the I/O bound and the backoff do take effect: reconfigurable-config.ts)
  'log.cleaner.threads': { type: 'INT', default: '1', range: atLeast(0), doc: 'Background threads for log cleaning.' },
  'log.cleaner.dedupe.buffer.size': { type: 'LONG', default: '134217728', doc: 'Memory for log deduplication across all cleaner threads.' },
  'log.cleaner.io.buffer.load.factor': { type: 'DOUBLE', default: '0.9', doc: 'Load factor of the cleaner\'s dedupe buffer.' },
  'log.cleaner.io.buffer.size': { type: 'INT', default: '524288', range: atLeast(0), doc: 'Memory for the cleaner\'s I/O buffers across all threads.' },
  // SocketServer and connection quotas
  'max.connections': { type: 'INT', default: String(INT_MAX), range: atLeast(0), doc: 'Most connections the broker accepts at once.' },
  'max.connection.creation.rate': { type: 'INT', default: String(INT_MAX), range: atLeast(0), doc: 'Most new connections a second the broker accepts.' },
  'max.connections.per.ip': { type: 'INT', default: String(INT_MAX), range: atLeast(0), doc: 'Most connections from one IP address.' },
  'max.connections.per.ip.overrides': { type: 'STRING', default: '', doc: 'Per-IP or hostname overrides of max.connections.per.ip.' },
  'connection.failed.authentication.delay.ms': { type: 'INT', default: '100', range: atLeast(0), doc: 'Delay before a connection that failed authentication is closed.' },
  // Producer state
  'transaction.partition.verification.enable': { type: 'BOOLEAN', default: 'true', doc: 'Verify a partition was added to a transaction before a transactional write.' },
  // SASL, Kerberos (GSSAPI) and login refresh: per broker
  'sasl.mechanism.inter.broker.protocol': { type: 'STRING', default: 'GSSAPI', perBroker, doc: 'SASL mechanism for inter-broker communication.' },
  'sasl.kerberos.service.name': { type: 'STRING', default: null, perBroker, doc: 'Kerberos principal name Kafka runs as.' },
  'sasl.kerberos.kinit.cmd': { type: 'STRING', default: '/usr/bin/kinit', perBroker, doc: 'Kerberos kinit command path.' },
  'sasl.kerberos.ticket.renew.window.factor': { type: 'DOUBLE', default: '0.8', perBroker, doc: 'Share of the ticket lifetime after which a renewal is attempted.' },
  'sasl.kerberos.ticket.renew.jitter': { type: 'DOUBLE', default: '0.05', perBroker, doc: 'Random jitter added to the renewal time.' },
  'sasl.kerberos.min.time.before.relogin': { type: 'LONG', default: '60000', perBroker, doc: 'Login thread sleep time between refresh attempts.' },
  'sasl.kerberos.principal.to.local.rules': { type: 'LIST', default: 'DEFAULT', perBroker, doc: 'Rules mapping principal names to short names.' },
  'sasl.login.refresh.window.factor': { type: 'DOUBLE', default: '0.8', range: [0.5, 1], perBroker, doc: 'Share of the credential lifetime after which the login refresh thread refreshes it.' },
  'sasl.login.refresh.window.jitter': { type: 'DOUBLE', default: '0.05', range: [0, 0.25], perBroker, doc: 'Random jitter added to the login refresh time.' },
  'sasl.login.refresh.min.period.seconds': { type: 'SHORT', default: '60', range: [0, 900], perBroker, doc: 'Shortest time between two login refreshes.' },
  'sasl.login.refresh.buffer.seconds': { type: 'SHORT', default: '300', range: [0, 3600], perBroker, doc: 'Time before credential expiry kept as a buffer when refreshing.' },
};

const NO_EFFECT = ' Accepted, stored and described as Kafka does; it has no effect in Kastor, which has no such feature.';

export function isInertBrokerConfig(name: string): boolean {
  return Object.hasOwn(DEFS, name);
}

export function inertBrokerConfigType(name: string): InertType {
  return DEFS[name]!.type;
}

export function inertBrokerConfigDefault(name: string): string | null {
  return DEFS[name]!.default;
}

/** The inert keys among `names` that Kafka only takes per broker id. */
export function perBrokerOnly(names: string[]): string[] {
  return names.filter((n) => isInertBrokerConfig(n) && DEFS[n]!.perBroker);
}

/** The type's parse and the range, as Kafka's ConfigDef: the normalized value, or Kafka's message naming the key. */
export function checkInertBrokerConfigValue(name: string, value: string): { value: string } | { error: string } {
  const def = DEFS[name]!;
  const t = value.trim();
  const fail = (why: string) => ({ error: `Invalid value ${value} for configuration ${name}: ${why}` });
  switch (def.type) {
    case 'STRING':
      return { value: t };
    case 'LIST':
      return { value: t.split(',').map((s) => s.trim()).filter((s) => s !== '').join(',') };
    case 'BOOLEAN':
      if (t.toLowerCase() !== 'true' && t.toLowerCase() !== 'false') return fail('Expected value to be either true or false');
      return { value: t.toLowerCase() };
    default: {
      const parsed = parseConfigNumber(def.type, t, def.range);
      return 'why' in parsed ? fail(parsed.why) : { value: parsed.value };
    }
  }
}

interface InertLayers {
  broker?: Readonly<Record<string, string>>;
  clusterDefault?: Readonly<Record<string, string>>;
}

function synonymsOf(name: string, def: InertConfigDef, layers: InertLayers): ConfigSynonym[] {
  const out: ConfigSynonym[] = [];
  if (layers.broker && Object.hasOwn(layers.broker, name)) out.push({ name, value: layers.broker[name]!, source: ConfigSource.DYNAMIC_BROKER_CONFIG });
  if (layers.clusterDefault && Object.hasOwn(layers.clusterDefault, name)) out.push({ name, value: layers.clusterDefault[name]!, source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG });
  if (def.default !== null) out.push({ name, value: def.default, source: ConfigSource.DEFAULT_CONFIG });
  return out;
}

/** The inert configs as DescribeConfigs shows a broker (every key) or the cluster default (the keys set there). */
export function inertBrokerConfigEntries(layers: InertLayers, clusterWide: boolean): Array<Omit<LayeredEntry, 'value' | 'type'> & { value: string | null; type: InertType }> {
  const out = [];
  for (const [name, def] of Object.entries(DEFS)) {
    const synonyms = synonymsOf(name, def, clusterWide ? { clusterDefault: layers.clusterDefault } : layers);
    const first = synonyms[0];
    if (clusterWide && first?.source !== ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG) continue;
    out.push({ name, value: first?.value ?? null, source: first?.source ?? ConfigSource.DEFAULT_CONFIG, synonyms, type: def.type, documentation: def.doc + NO_EFFECT });
  }
  return out;
}
