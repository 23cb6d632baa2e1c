// Where each piece of cluster metadata lives in the bucket. One key per broker and one per topic (the
// topic with all its partitions: small enough to compare-and-set as a whole, and a leader change in one
// topic never conflicts with another topic's), plus the cluster id and the controller lease.
import { keyTokenToTopicName, topicNameProblem, topicNameToKeyToken } from './topic-name.ts';

export const CLUSTER_ID_KEY = 'cluster.id';
export const CONTROLLER_KEY = 'controller';
export const BROKERS_PREFIX = 'brokers';
export const TOPICS_PREFIX = 'topics';
/** Dynamic broker configs: `broker-configs.default` (cluster-wide) and `broker-configs.<id>`. */
export const BROKER_CONFIGS_PREFIX = 'broker-configs';
/** ACLs: `acls.<hex of type:patternType:name>`, one key per resource pattern (src/security/acl-store.ts). */
export const ACLS_PREFIX = 'acls';
/** The next free producer-id block start (idempotent producer, KIP-98); not part of the snapshot. */
export const PRODUCER_IDS_KEY = 'producer-ids';

export function brokerKey(id: number): string {
  return `${BROKERS_PREFIX}.${id}`;
}

export function topicKey(name: string): string {
  return `${TOPICS_PREFIX}.${topicNameToKeyToken(name)}`;
}

/** The key of a broker's dynamic configs; '' is the cluster-wide default (Kafka's empty resource name). */
export function brokerConfigKey(scope: string): string {
  return `${BROKER_CONFIGS_PREFIX}.${scope === '' ? 'default' : scope}`;
}

export type ParsedKey =
  | { kind: 'cluster-id' }
  | { kind: 'controller' }
  | { kind: 'broker'; id: number }
  | { kind: 'topic'; name: string }
  /** scope: a broker id as a string, '' for the cluster-wide default. */
  | { kind: 'broker-config'; scope: string }
  /** token: the hex after the prefix, naming one resource pattern. */
  | { kind: 'acl'; token: string }
  /** Under a prefix this store owns but not a key it could have written. */
  | { kind: 'invalid'; why: string }
  /** Someone else's key (producer-id blocks, future features): not part of the snapshot. */
  | { kind: 'other' };

export function parseKey(key: string): ParsedKey {
  if (key === CLUSTER_ID_KEY) return { kind: 'cluster-id' };
  if (key === CONTROLLER_KEY) return { kind: 'controller' };
  if (key.startsWith(BROKERS_PREFIX + '.')) {
    const rest = key.slice(BROKERS_PREFIX.length + 1);
    const id = Number(rest);
    if (!/^\d+$/.test(rest) || !Number.isSafeInteger(id)) return { kind: 'invalid', why: 'broker id is not a non-negative integer' };
    return { kind: 'broker', id };
  }
  if (key.startsWith(BROKER_CONFIGS_PREFIX + '.')) {
    const rest = key.slice(BROKER_CONFIGS_PREFIX.length + 1);
    if (rest === 'default') return { kind: 'broker-config', scope: '' };
    if (!/^\d+$/.test(rest) || !Number.isSafeInteger(Number(rest))) return { kind: 'invalid', why: 'broker config scope is neither default nor a broker id' };
    return { kind: 'broker-config', scope: String(Number(rest)) };
  }
  if (key.startsWith(ACLS_PREFIX + '.')) {
    const token = key.slice(ACLS_PREFIX.length + 1);
    return /^[0-9a-f]+$/.test(token) ? { kind: 'acl', token } : { kind: 'invalid', why: 'ACL key is not hex' };
  }
  if (key.startsWith(TOPICS_PREFIX + '.')) {
    const name = keyTokenToTopicName(key.slice(TOPICS_PREFIX.length + 1));
    const problem = topicNameProblem(name);
    return problem ? { kind: 'invalid', why: problem } : { kind: 'topic', name };
  }
  return { kind: 'other' };
}
