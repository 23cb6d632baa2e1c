// kafka-configs.sh over Kastor, following Kafka 3.9's ConfigCommand for what Kastor serves: --describe of
// topics and brokers through DescribeConfigs, printed as Kafka prints it ("Dynamic configs for topic t are:"
// then `  name=value sensitive=false synonyms={SOURCE:name=value}`; --all for every config, defaults
// included). Topic configs are read at any broker; a broker's own at that broker, as Kafka's admin client
// does. The admin client's describeConfigs is not used because it answers topics only and keeps no source.
// --alter of a topic, a broker or the brokers' cluster-wide default (--entity-default) through
// IncrementalAlterConfigs, as Kafka 3.9's ConfigCommand: --add-config k=v,k2=[a,b] (brackets around a list
// value whose commas are not separators) or --add-config-file FILE (properties), --delete-config k,k2 (a key
// that is not set is refused before anything changes: "Invalid config(s): k"), then "Completed updating
// config for topic t.".
//
// Refused with one line: entity types other than topics and brokers (Kastor has no quotas, SCRAM users, client
// metrics or group configs), and --bootstrap-controller (Kastor has no controller listener).
import { readFileSync } from 'node:fs';
import { Kafka } from '../../client/index.ts';
import { parseProperties } from '../broker-settings.ts';
import type { Admin } from '../../client/admin.ts';
import { KafkaProtocolError } from '../../client/errors.ts';
import { ApiKey } from '../../protocol/generated/api-keys.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import { helpOrVersion, ToolError, checkCommon, connectionOptions, kafkaMessage, oneAction, parseOptions, type OptionSpecs, type ParsedOptions } from './options.ts';

const ENTITY_TYPES = ['topics', 'clients', 'users', 'brokers', 'broker-loggers', 'ips', 'client-metrics', 'groups'];
const RESOURCE_TYPE: Record<string, number> = { topics: 2, brokers: 4 };
/** Kafka's ConfigEntry.ConfigSource names, by DescribeConfigs config_source. */
const SOURCES = ['UNKNOWN', 'DYNAMIC_TOPIC_CONFIG', 'DYNAMIC_BROKER_CONFIG', 'DYNAMIC_DEFAULT_BROKER_CONFIG', 'STATIC_BROKER_CONFIG', 'DEFAULT_CONFIG', 'DYNAMIC_BROKER_LOGGER_CONFIG', 'CLIENT_METRICS_CONFIG', 'GROUP_CONFIG'];
/** Without --all, Kafka shows only the configs set dynamically for the entity itself. */
const DYNAMIC_SOURCE: Record<string, number> = { topics: 1, brokers: 2 };
/** The brokers' cluster-wide default entity shows what is set there (DYNAMIC_DEFAULT_BROKER_CONFIG). */
const DYNAMIC_DEFAULT_SOURCE = 3;
/** Shorthands for --entity-type X --entity-name Y. */
const SHORTHANDS: Record<string, string> = { topic: 'topics', broker: 'brokers', 'broker-logger': 'broker-loggers', client: 'clients', user: 'users', ip: 'ips', group: 'groups', 'client-metrics': 'client-metrics' };

const SPECS: OptionSpecs = {
  describe: { description: 'list configs for the given entity' },
  alter: { description: 'alter the configuration of the entity' },
  'entity-type': { value: 'topics|brokers', repeats: true, description: 'type of entity' },
  'entity-name': { value: 'name', repeats: true, description: 'name of entity (topic name, broker id)' },
  'entity-default': { description: 'the default entity (brokers: cluster-wide defaults)' },
  all: { description: 'with --describe: every config, defaults included' },
  topic: { value: 'topic', description: 'shorthand for --entity-type topics --entity-name <topic>' },
  broker: { value: 'broker-id', description: 'shorthand for --entity-type brokers --entity-name <broker-id>' },
  'broker-defaults': { description: 'shorthand for --entity-type brokers --entity-default' },
  'broker-logger': { value: 'broker-id', description: 'refused: Kastor has no dynamic loggers' },
  client: { value: 'client-id', description: 'refused: Kastor has no quotas' },
  user: { value: 'user', description: 'refused: Kastor has no quotas or SCRAM users' },
  ip: { value: 'ip', description: 'refused: Kastor has no connection quotas' },
  group: { value: 'group', description: 'refused: Kastor has no group configs' },
  'client-metrics': { value: 'name', description: 'refused: Kastor has no client metrics subscriptions' },
  'add-config': { value: 'k1=v1,k2=[v1,v2,v2],k3=v3', description: 'with --alter: configs to add or change (square brackets group a list value)' },
  'add-config-file': { value: 'file', description: 'with --alter: a properties file of configs to add or change' },
  'delete-config': { value: 'k1,k2', description: 'with --alter: config keys to remove' },
  force: { description: 'accepted and ignored' },
  'bootstrap-controller': { value: 'HOST:PORT', description: 'refused: Kastor has no controller listener' },
};

export async function kafkaConfigs(argv: string[]): Promise<number> {
  let admin: Admin | undefined;
  try {
    const opts = parseOptions(SPECS, argv);
    const early = helpOrVersion(argv, opts, 'kafka-configs.sh', 'add/remove entity config for a topic, client, user or broker.', SPECS);
    if (early !== null) return early;
    checkCommon(opts);
    if (opts.has('bootstrap-controller')) throw new ToolError('--bootstrap-controller is not supported: Kastor has no controller listener; use --bootstrap-server');
    const action = oneAction(opts, ['describe', 'alter']);
    if (!opts.has('bootstrap-server')) throw new ToolError('One of the required --bootstrap-server or --bootstrap-controller arguments must be specified');
    const entity = entityOf(opts);
    if (action === 'alter') {
      if (!opts.has('add-config') && !opts.has('add-config-file') && !opts.has('delete-config')) throw new ToolError('At least one of --add-config, --add-config-file, or --delete-config must be specified with --alter');
      if (entity.name === undefined) throw new ToolError(`An entity name must be specified with --alter of ${entity.type}`);
      admin = new Kafka(connectionOptions(opts, 'kafka-configs')).admin();
      await alter(admin, entity, opts);
      return 0;
    }
    for (const flag of ['add-config', 'add-config-file', 'delete-config']) if (opts.has(flag)) throw new ToolError(`Option "[${flag}]" can't be used with option "[describe]"`);
    admin = new Kafka(connectionOptions(opts, 'kafka-configs')).admin();
    await describe(admin, entity, opts.has('all'));
    return 0;
  } catch (err) {
    if (err instanceof ToolError) console.error(err.message);
    else console.error(`Error while executing config command with args '${argv.join(' ')}'\n${err instanceof KafkaProtocolError ? err.message : kafkaMessage(err)}`);
    return 1;
  } finally {
    await admin?.close();
  }
}

interface Entity {
  type: string;
  /** undefined: every entity of the type; '' the default entity. */
  name: string | undefined;
}

function entityOf(opts: ParsedOptions): Entity {
  const types = [...opts.all('entity-type')];
  const names = [...opts.all('entity-name')];
  for (const [flag, type] of Object.entries(SHORTHANDS)) {
    for (const v of opts.all(flag)) {
      types.push(type);
      names.push(v);
    }
  }
  if (opts.has('broker-defaults')) types.push('brokers');
  if (types.length === 0) throw new ToolError('At least one entity type must be specified');
  const bad = types.find((t) => !ENTITY_TYPES.includes(t));
  if (bad) throw new ToolError(`Invalid entity type ${bad}, the entity type must be one of ${ENTITY_TYPES.join(', ')}`);
  const type = types[0]!;
  if (types.length > 1 || names.length > 1) throw new ToolError('Kastor\'s kafka-configs.sh takes one entity at a time (one --entity-type and at most one --entity-name)');
  if (!(type in RESOURCE_TYPE)) throw new ToolError(`--entity-type ${type} is not supported: Kastor has configs for topics and brokers only`);
  const isDefault = opts.has('entity-default') || opts.has('broker-defaults');
  if (isDefault && type !== 'brokers') throw new ToolError('--entity-default is supported for brokers only');
  if (isDefault && names.length > 0) throw new ToolError('--entity-name and --entity-default cannot both be given');
  const name = isDefault ? '' : names[0];
  if (type === 'brokers' && name && !/^\d+$/.test(name)) throw new ToolError(`The entity name for brokers must be a valid integer broker id, but it is: ${name}`);
  return { type, name };
}

async function describe(admin: Admin, entity: Entity, all: boolean): Promise<void> {
  let names: string[];
  if (entity.name !== undefined) names = [entity.name];
  else if (entity.type === 'topics') names = await admin.listTopics({ includeInternal: true });
  else names = [...(await admin.describeCluster()).brokers.map((b) => String(b.nodeId)), ''];
  const singular = entity.type.slice(0, -1);
  for (const name of names) {
    const entries = await describeConfigs(admin, entity.type, name);
    if (name === '') console.log(`Default configs for ${entity.type} in the cluster are:`);
    else console.log(`${all ? 'All' : 'Dynamic'} configs for ${singular} ${name} are:`);
    for (const e of entries) {
      if (!all && e.configSource !== (name === '' ? DYNAMIC_DEFAULT_SOURCE : DYNAMIC_SOURCE[entity.type])) continue;
      const synonyms = e.synonyms.map((s) => `${SOURCES[s.source] ?? s.source}:${s.name}=${s.value}`).join(', ');
      console.log(`  ${e.name}=${e.value} sensitive=${e.isSensitive} synonyms={${synonyms}}`);
    }
  }
}

/** DescribeConfigs with synonyms for one resource: topics at any broker, a broker's configs at that broker. */
async function describeConfigs(admin: Admin, type: string, name: string) {
  const cluster = admin.cluster;
  const { body } = await cluster.withRetry('DescribeConfigs', async () => {
    const nc = type === 'brokers' && name !== '' ? await brokerConnection(admin, Number(name)) : await cluster.anyConnection();
    return cluster.send(nc, ApiKey.DescribeConfigs, (v) => ({
      resources: [{ resourceType: RESOURCE_TYPE[type]!, resourceName: name, configurationKeys: null }],
      ...(v >= 1 ? { includeSynonyms: true } : {}),
      ...(v >= 3 ? { includeDocumentation: false } : {}),
    }));
  });
  const r = body.results[0]!;
  if (r.errorCode !== 0) throw new KafkaProtocolError(r.errorCode, { topic: type === 'topics' ? name : undefined, message: r.errorMessage });
  return [...r.configs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((c) => ({ ...c, synonyms: c.synonyms ?? [] }));
}

/**
 * --alter: the configs to set and to delete, checked against what the entity has (a key to delete must be set,
 * as Kafka's ConfigCommand checks), then one IncrementalAlterConfigs.
 */
async function alter(admin: Admin, entity: Entity, opts: ParsedOptions): Promise<void> {
  const added = new Map<string, string>();
  for (const text of opts.all('add-config')) for (const [k, v] of parseAddConfig(text)) added.set(k, v);
  for (const file of opts.all('add-config-file')) for (const [k, v] of parseConfigFile(file)) added.set(k, v);
  const deleted = opts.all('delete-config').flatMap((t) => t.split(',').map((k) => k.trim()).filter((k) => k !== ''));
  const name = entity.name!;
  const current = await describeConfigs(admin, entity.type, name);
  const setHere = current.filter((e) => e.configSource === (name === '' ? DYNAMIC_DEFAULT_SOURCE : DYNAMIC_SOURCE[entity.type]));
  const invalid = deleted.filter((k) => !setHere.some((e) => e.name === k));
  if (invalid.length > 0) throw new KafkaProtocolError(ErrorCode.INVALID_CONFIG, { message: `Invalid config(s): ${invalid.join(',')}` });
  await admin.incrementalAlterConfigs([
    {
      type: entity.type === 'topics' ? 'topic' : 'broker',
      name,
      ops: [...[...added].map(([k, value]) => ({ name: k, op: 'set' as const, value })), ...deleted.map((k) => ({ name: k, op: 'delete' as const }))],
    },
  ]);
  if (name === '') console.log(`Completed updating default config for ${entity.type} in the cluster.`);
  else console.log(`Completed updating config for ${entity.type.slice(0, -1)} ${name}.`);
}

/** Kafka's --add-config syntax: `k1=v1,k2=[a,b],k3=v3`, commas inside square brackets belonging to the value. */
export function parseAddConfig(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const part of text.split(/,(?=[^\]]*(?:\[|$))/)) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ToolError(`Invalid entity config: all configs to be added must be in the format "key=val", got "${part}"`);
    const value = part.slice(eq + 1).trim();
    out.push([part.slice(0, eq).trim(), /^\[.*\]$/.test(value) ? value.slice(1, -1) : value]);
  }
  return out;
}

function parseConfigFile(file: string): Array<[string, string]> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ToolError(`--add-config-file ${file}: cannot read it (${(err as { code?: string }).code ?? (err as Error).message})`);
  }
  try {
    return parseProperties(text, file).map(({ key, value }) => [key, value]);
  } catch (err) {
    throw new ToolError((err as Error).message);
  }
}

async function brokerConnection(admin: Admin, id: number) {
  if (!admin.cluster.brokers.has(id)) await admin.cluster.refreshMetadata([]);
  if (!admin.cluster.brokers.has(id)) throw new ToolError(`Broker ${id} is not in the cluster (brokers: ${[...admin.cluster.brokers.keys()].join(', ')})`);
  return admin.cluster.nodeConnection(id);
}
