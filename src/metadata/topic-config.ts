// The topic configs Kastor knows, with Kafka's defaults and validation (LogConfig / TopicConfig), so
// CreateTopics, AlterConfigs and DescribeConfigs answer as a Kafka broker would. A topic stores only its
// overrides (as Kafka did in ZooKeeper); the effective value of a key is its override or its default.
// Pure: no I/O. An unknown key or a bad value becomes an error entry, which the broker maps to
// INVALID_CONFIG for that topic without failing the other topics of the request.

export type ConfigType = 'BOOLEAN' | 'STRING' | 'INT' | 'LONG' | 'DOUBLE' | 'LIST';

interface ConfigDef {
  type: ConfigType;
  default: string;
  doc: string;
  /** Returns the normalized value, or throws a message saying what is wrong. */
  check: (value: string) => string;
}

const LONG_MAX = '9223372036854775807';
const INT_MAX = 2 ** 31 - 1;

const long = (min: bigint) => (v: string) => {
  const t = v.trim();
  if (!/^[-+]?\d+$/.test(t)) throw 'not a number of type LONG';
  const n = BigInt(t);
  if (n > BigInt(LONG_MAX) || n < -BigInt(LONG_MAX) - 1n) throw 'out of range for type LONG';
  if (n < min) throw `value must be at least ${min}`;
  return n.toString();
};
const int = (min: number) => (v: string) => {
  const t = v.trim();
  if (!/^[-+]?\d+$/.test(t)) throw 'not a number of type INT';
  const n = Number(t);
  if (n > INT_MAX || n < -INT_MAX - 1) throw 'out of range for type INT';
  if (n < min) throw `value must be at least ${min}`;
  return String(n);
};
const double = (min: number, max: number) => (v: string) => {
  const n = Number(v.trim());
  if (v.trim() === '' || !Number.isFinite(n)) throw 'not a number of type DOUBLE';
  if (n < min || n > max) throw `value must be between ${min} and ${max}`;
  return String(n);
};
const bool = (v: string) => {
  const t = v.trim().toLowerCase();
  if (t !== 'true' && t !== 'false') throw 'expected value to be either true or false';
  return t;
};
const oneOf = (allowed: string[]) => (v: string) => {
  const t = v.trim();
  if (!allowed.includes(t)) throw `string must be one of: ${allowed.join(', ')}`;
  return t;
};
const listOf = (allowed: string[]) => (v: string) => {
  const items = v.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw 'empty list element';
  const bad = items.filter((s) => !allowed.includes(s));
  if (bad.length) throw `${bad.join(', ')} not in the allowed values [${allowed.join(', ')}]`;
  if (new Set(items).size !== items.length) throw 'duplicate list element';
  return items.join(',');
};

/** A Kafka version as message.format.version takes it (0.10.0.0, 0.10.0-IV1, 2.8, 3.0-IV1). */
const kafkaVersion = (v: string) => {
  const t = v.trim();
  if (!/^\d+\.\d+(\.\d+){0,2}(-IV\d+)?$/.test(t)) throw `${t} is not a Kafka version`;
  return t;
};

const DEFS: Record<string, ConfigDef> = {
  'cleanup.policy': { type: 'LIST', default: 'delete', check: listOf(['compact', 'delete']), doc: 'Retention policy for old segments: delete (by time/size) and/or compact (by key).' },
  'compression.type': { type: 'STRING', default: 'producer', check: oneOf(['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer']), doc: 'Final compression of the topic; producer keeps what the producer sent.' },
  'delete.retention.ms': { type: 'LONG', default: '86400000', check: long(0n), doc: 'How long delete tombstones are kept in compacted topics.' },
  'file.delete.delay.ms': { type: 'LONG', default: '60000', check: long(0n), doc: 'Delay before a deleted segment file is removed from disk.' },
  'flush.messages': { type: 'LONG', default: LONG_MAX, check: long(1n), doc: 'Force an fsync after this many messages (default: leave it to the interval policy and replication).' },
  'flush.ms': { type: 'LONG', default: LONG_MAX, check: long(0n), doc: 'Force an fsync after this many milliseconds.' },
  'index.interval.bytes': { type: 'INT', default: '4096', check: int(0), doc: 'Bytes of log between two offset index entries.' },
  'max.compaction.lag.ms': { type: 'LONG', default: LONG_MAX, check: long(1n), doc: 'Longest time a message stays ineligible for compaction.' },
  'max.message.bytes': { type: 'INT', default: '1048588', check: int(0), doc: 'Largest record batch size allowed, after compression.' },
  'message.timestamp.after.max.ms': { type: 'LONG', default: LONG_MAX, check: long(0n), doc: 'Largest allowed lead of a CreateTime timestamp over the broker clock.' },
  'message.timestamp.before.max.ms': { type: 'LONG', default: LONG_MAX, check: long(0n), doc: 'Largest allowed lag of a CreateTime timestamp behind the broker clock.' },
  // Deprecated since Kafka 3.0 and ignored there (batches stay RecordBatch v2), but still accepted and listed.
  'message.format.version': { type: 'STRING', default: '3.0-IV1', check: kafkaVersion, doc: 'Deprecated and ignored: Kastor, as Kafka 3.0+, stores every batch in the format the producer sent (RecordBatch v2).' },
  'message.timestamp.type': { type: 'STRING', default: 'CreateTime', check: oneOf(['CreateTime', 'LogAppendTime']), doc: 'Whether record timestamps are the producer\'s (CreateTime) or the append time.' },
  'min.cleanable.dirty.ratio': { type: 'DOUBLE', default: '0.5', check: double(0, 1), doc: 'Share of uncompacted log that triggers compaction.' },
  'min.compaction.lag.ms': { type: 'LONG', default: '0', check: long(0n), doc: 'Shortest time a message stays uncompacted.' },
  'min.insync.replicas': { type: 'INT', default: '1', check: int(1), doc: 'Smallest ISR that accepts a produce with acks=all (else NOT_ENOUGH_REPLICAS).' },
  preallocate: { type: 'BOOLEAN', default: 'false', check: bool, doc: 'Preallocate the file of a new segment.' },
  'retention.bytes': { type: 'LONG', default: '-1', check: long(-(2n ** 63n)), doc: 'Largest size a partition log may grow to before old segments are deleted; -1 for no limit.' },
  'retention.ms': { type: 'LONG', default: '604800000', check: long(-1n), doc: 'Longest time a segment is kept before deletion; -1 for no limit.' },
  'segment.bytes': { type: 'INT', default: '1073741824', check: int(14), doc: 'Size at which a segment is rolled.' },
  'segment.index.bytes': { type: 'INT', default: '10485760', check: int(4), doc: 'Size of the offset index file of a segment.' },
  'segment.jitter.ms': { type: 'LONG', default: '0', check: long(0n), doc: 'Random jitter subtracted from segment.ms to avoid rolling every segment at once.' },
  'segment.ms': { type: 'LONG', default: '604800000', check: long(1n), doc: 'Time after which a segment is rolled even if not full.' },
  'unclean.leader.election.enable': { type: 'BOOLEAN', default: 'false', check: bool, doc: 'Allow a replica outside the ISR to become leader, at the cost of losing records.' },
};

export const TOPIC_CONFIG_NAMES: readonly string[] = Object.keys(DEFS).sort();

/** A known topic config's type, default and documentation (undefined for an unknown key). */
export function topicConfigDef(name: string): Readonly<Omit<ConfigDef, 'check'>> | undefined {
  return Object.hasOwn(DEFS, name) ? DEFS[name] : undefined;
}

/** Checks one value of a known topic config: the normalized value, or the message naming the key. */
export function checkTopicConfigValue(name: string, value: string): { value: string } | { error: string } {
  const { config, errors } = resolveTopicConfig({ [name]: value });
  return errors.length > 0 ? { error: errors[0]!.message } : { value: config[name]! };
}

/** One refused override; prints as its message, so a list of them joins into a readable text. */
export class TopicConfigError {
  constructor(
    readonly name: string,
    readonly value: unknown,
    readonly message: string,
  ) {}
  toString(): string {
    return this.message;
  }
}

export interface ConfigEntry {
  name: string;
  value: string;
  isDefault: boolean;
  readOnly: boolean;
  sensitive: boolean;
  /** DescribeConfigs v1+ config source: the topic's override or the default. */
  source: 'TOPIC' | 'DEFAULT';
  type: ConfigType;
  documentation: string;
}

/** Validates and normalizes overrides; the valid ones are returned in `config`, the rest as errors. */
export function resolveTopicConfig(overrides: Record<string, string>): { config: Record<string, string>; errors: TopicConfigError[] } {
  const config: Record<string, string> = {};
  const errors: TopicConfigError[] = [];
  for (const [name, value] of Object.entries(overrides)) {
    const def = Object.hasOwn(DEFS, name) ? DEFS[name] : undefined;
    if (!def) {
      errors.push(new TopicConfigError(name, value, `Unknown topic config name: ${name}`));
      continue;
    }
    if (typeof value !== 'string') {
      errors.push(new TopicConfigError(name, value, `Invalid value ${String(value)} for configuration ${name}: expected a string`));
      continue;
    }
    try {
      config[name] = def.check(value);
    } catch (why) {
      errors.push(new TopicConfigError(name, value, `Invalid value ${value} for configuration ${name}: ${String(why)}`));
    }
  }
  return { config, errors };
}

/** Every known key with its effective value (override or default). Unknown stored keys are dropped. */
export function effectiveTopicConfig(overrides: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of TOPIC_CONFIG_NAMES) out[name] = Object.hasOwn(overrides, name) ? overrides[name] : DEFS[name].default;
  return out;
}

/** DescribeConfigs for a topic: every known key, marked as an override or a default. */
export function describeConfig(topic: { config: Record<string, string> }): ConfigEntry[] {
  return describeTopicConfig(topic.config);
}

/** describeConfig given the topic's overrides directly. */
export function describeTopicConfig(overrides: Record<string, string>): ConfigEntry[] {
  return TOPIC_CONFIG_NAMES.map((name) => {
    const def = DEFS[name];
    const overridden = Object.hasOwn(overrides, name);
    return {
      name,
      value: overridden ? overrides[name] : def.default,
      isDefault: !overridden,
      readOnly: false,
      sensitive: false,
      source: overridden ? 'TOPIC' : 'DEFAULT',
      type: def.type,
      documentation: def.doc,
    };
  });
}

/** The effective settings the log and the replicas act on, typed. Long "no limit" defaults become huge numbers. */
export interface TopicSettings {
  cleanupPolicy: string[];
  compressionType: string;
  retentionMs: number;
  retentionBytes: number;
  segmentBytes: number;
  segmentMs: number;
  segmentJitterMs: number;
  segmentIndexBytes: number;
  indexIntervalBytes: number;
  maxMessageBytes: number;
  minInsyncReplicas: number;
  uncleanLeaderElection: boolean;
  timestampType: 'CreateTime' | 'LogAppendTime';
  timestampBeforeMaxMs: number;
  timestampAfterMaxMs: number;
  flushMessages: number;
  flushMs: number;
  fileDeleteDelayMs: number;
  preallocate: boolean;
}

export function topicSettings(overrides: Record<string, string>): TopicSettings {
  const c = effectiveTopicConfig(overrides);
  const num = (k: string) => Number(c[k]);
  return {
    cleanupPolicy: c['cleanup.policy'].split(','),
    compressionType: c['compression.type'],
    retentionMs: num('retention.ms'),
    retentionBytes: num('retention.bytes'),
    segmentBytes: num('segment.bytes'),
    segmentMs: num('segment.ms'),
    segmentJitterMs: num('segment.jitter.ms'),
    segmentIndexBytes: num('segment.index.bytes'),
    indexIntervalBytes: num('index.interval.bytes'),
    maxMessageBytes: num('max.message.bytes'),
    minInsyncReplicas: num('min.insync.replicas'),
    uncleanLeaderElection: c['unclean.leader.election.enable'] === 'true',
    timestampType: c['message.timestamp.type'] as TopicSettings['timestampType'],
    timestampBeforeMaxMs: num('message.timestamp.before.max.ms'),
    timestampAfterMaxMs: num('message.timestamp.after.max.ms'),
    flushMessages: num('flush.messages'),
    flushMs: num('flush.ms'),
    fileDeleteDelayMs: num('file.delete.delay.ms'),
    preallocate: c.preallocate === 'true',
  };
}
