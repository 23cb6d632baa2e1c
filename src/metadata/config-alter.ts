// The new config set of one resource (a topic, a broker, the cluster-wide broker default) after an
// IncrementalAlterConfigs or an AlterConfigs, with Kafka's checks and messages (ConfigAdminManager,
// ZkAdminManager.prepareIncrementalConfigs): SET, DELETE, APPEND and SUBTRACT (the last two on LIST configs
// only, starting from the current value or the default), AlterConfigs replacing the whole set, a key named
// twice refused, then every resulting value validated. Pure, so that a compare-and-set that lost to a
// concurrent change runs it again on the newer set. A refusal is a ConfigRefused carrying the Kafka error.
import { ErrorCode } from '../protocol/generated/errors.ts';
import { DYNAMIC_BROKER_CONFIGS } from './config-layers.ts';
import { checkTopicConfigValue, resolveTopicConfig, topicConfigDef } from './topic-config.ts';
import { RECONFIGURABLE_CONFIGS, checkReconfigurableValue, isReconfigurableConfig } from './reconfigurable-config.ts';
import { checkInertBrokerConfigValue, inertBrokerConfigDefault, inertBrokerConfigType, isInertBrokerConfig, perBrokerOnly } from './inert-broker-config.ts';

export const AlterOp = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

export interface IncrementalOp {
  name: string;
  op: number;
  value: string | null;
}

export class ConfigRefused extends Error {
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Broker configs Kafka has but cannot change at runtime (Kastor's static ones): refused as Kafka refuses them. */
const STATIC_BROKER_CONFIGS = new Set([
  'broker.id', 'node.id', 'broker.rack', 'listeners', 'advertised.listeners', 'log.dir', 'log.dirs', 'num.partitions',
  'default.replication.factor', 'auto.create.topics.enable', 'socket.request.max.bytes', 'log.flush.interval.ms',
  'replica.selector.class', 'broker.session.timeout.ms', 'broker.heartbeat.interval.ms', 'process.roles',
  'controller.quorum.voters', 'zookeeper.connect', 'log.retention.hours', 'log.retention.minutes', 'log.roll.hours',
  'inter.broker.listener.name', 'security.inter.broker.protocol', 'offsets.topic.replication.factor', 'offsets.topic.num.partitions',
  'log.cleaner.enable',
]);

/** A topic, one broker (its id), or the cluster-wide default of broker configs (the empty broker name). */
export type ConfigKind = 'topic' | 'broker' | 'broker-default';

/** The type of a config of `kind` (topic keys, or the dynamic broker keys by their topic synonym). */
function typeOf(kind: ConfigKind, name: string): string | undefined {
  if (kind !== 'topic' && isReconfigurableConfig(name)) return RECONFIGURABLE_CONFIGS[name]!.type;
  if (kind !== 'topic' && isInertBrokerConfig(name)) return inertBrokerConfigType(name);
  return topicConfigDef(kind === 'topic' ? name : (DYNAMIC_BROKER_CONFIGS[name] ?? ''))?.type;
}

function defaultOf(kind: ConfigKind, name: string): string {
  if (kind !== 'topic' && isInertBrokerConfig(name)) return inertBrokerConfigDefault(name) ?? '';
  return topicConfigDef(kind === 'topic' ? name : (DYNAMIC_BROKER_CONFIGS[name] ?? ''))?.default ?? '';
}

function refuseDuplicates(names: string[]): void {
  const dup = names.filter((n, i) => names.indexOf(n) !== i);
  if (dup.length > 0) throw new ConfigRefused(ErrorCode.INVALID_REQUEST, `Error due to duplicate config keys: ${[...new Set(dup)].join(', ')}`);
}

/** IncrementalAlterConfigs: `current` with `ops` applied, validated. Throws ConfigRefused. */
export function applyIncremental(kind: ConfigKind, current: Readonly<Record<string, string>>, ops: IncrementalOp[]): Record<string, string> {
  refuseDuplicates(ops.map((o) => o.name));
  const next: Record<string, string> = { ...current };
  for (const { name, op, value } of ops) {
    if (op === AlterOp.DELETE) {
      delete next[name];
      continue;
    }
    if (op !== AlterOp.SET && op !== AlterOp.APPEND && op !== AlterOp.SUBTRACT) throw new ConfigRefused(ErrorCode.INVALID_REQUEST, `Unknown config operation ${op} for config key: ${name}`);
    if (value === null) throw new ConfigRefused(ErrorCode.INVALID_REQUEST, `Null value not supported for: ${name}`);
    if (op === AlterOp.SET) {
      next[name] = value;
      continue;
    }
    const type = typeOf(kind, name);
    if (type === undefined) {
      next[name] = value; // an unknown key: the validation below names it
      continue;
    }
    const verb = op === AlterOp.APPEND ? 'append' : 'subtract';
    if (type !== 'LIST') throw new ConfigRefused(ErrorCode.INVALID_REQUEST, `Config value ${verb} is not allowed for config key: ${name}`);
    const old = (Object.hasOwn(next, name) ? next[name]! : defaultOf(kind, name)).split(',').map((s) => s.trim()).filter((s) => s !== '');
    const given = value.split(',').map((s) => s.trim());
    next[name] = (op === AlterOp.APPEND ? [...old, ...given.filter((v) => !old.includes(v))] : old.filter((v) => !given.includes(v))).join(',');
  }
  return validate(kind, next);
}

/** AlterConfigs: the whole set replaced by `entries`, validated. Throws ConfigRefused. */
export function replaceAll(kind: ConfigKind, entries: Array<{ name: string; value: string | null }>): Record<string, string> {
  refuseDuplicates(entries.map((e) => e.name));
  const next: Record<string, string> = {};
  for (const { name, value } of entries) {
    if (value === null) throw new ConfigRefused(ErrorCode.INVALID_REQUEST, `Null value not supported for ${kind} configs: ${name}`);
    next[name] = value;
  }
  return validate(kind, next);
}

/** Every key known and every value valid; the values normalized. */
function validate(kind: ConfigKind, configs: Record<string, string>): Record<string, string> {
  if (kind === 'topic') {
    const { config, errors } = resolveTopicConfig(configs);
    if (errors.length > 0) throw new ConfigRefused(ErrorCode.INVALID_CONFIG, errors.map((e) => e.message).join('; '));
    return config;
  }
  const names = Object.keys(configs);
  const fixed = names.filter((n) => STATIC_BROKER_CONFIGS.has(n));
  if (fixed.length > 0) throw new ConfigRefused(ErrorCode.INVALID_REQUEST, `Cannot update these configs dynamically: Set(${fixed.join(', ')})`);
  const onlyPerBroker = kind === 'broker-default' ? perBrokerOnly(names) : [];
  if (onlyPerBroker.length > 0) throw new ConfigRefused(ErrorCode.INVALID_REQUEST, `Cannot update these configs at default cluster level, broker id must be specified: Set(${onlyPerBroker.join(', ')})`);
  const out: Record<string, string> = {};
  const errors: string[] = [];
  for (const name of names) {
    if (isReconfigurableConfig(name)) {
      const checked = checkReconfigurableValue(name, configs[name]!);
      if ('error' in checked) errors.push(checked.error);
      else out[name] = checked.value;
      continue;
    }
    if (isInertBrokerConfig(name)) {
      const checked = checkInertBrokerConfigValue(name, configs[name]!);
      if ('error' in checked) errors.push(checked.error);
      else out[name] = checked.value;
      continue;
    }
    const topicKey = DYNAMIC_BROKER_CONFIGS[name];
    if (topicKey === undefined) {
      errors.push(`Unknown broker config name: ${name} (dynamic broker configs Kastor acts on: ${[...Object.keys(DYNAMIC_BROKER_CONFIGS), ...Object.keys(RECONFIGURABLE_CONFIGS)].join(', ')})`);
      continue;
    }
    const checked = checkTopicConfigValue(topicKey, configs[name]!);
    if ('error' in checked) errors.push(checked.error.replace(`configuration ${topicKey}`, `configuration ${name}`));
    else out[name] = checked.value;
  }
  if (errors.length > 0) throw new ConfigRefused(ErrorCode.INVALID_CONFIG, errors.join('; '));
  return out;
}
