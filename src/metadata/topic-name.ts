// Kafka's topic name rules (org.apache.kafka.common.internals.Topic.validate): 1..249 characters of
// [a-zA-Z0-9._-], and not "." or "..". Also how a name becomes a metadata key: NATS KV keys are
// dot-separated tokens that may not be empty, and Kafka allows "a..b" and "a.", so '.' is written as '='
// (a character Kafka never allows in a name, so the mapping is one to one and reversible).

const LEGAL = /^[a-zA-Z0-9._-]+$/;
export const MAX_TOPIC_NAME_LENGTH = 249;

/** Why `name` is not a legal topic name, or null when it is. */
export function topicNameProblem(name: string): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'the name is empty';
  if (name === '.' || name === '..') return '"." and ".." are not allowed';
  if (name.length > MAX_TOPIC_NAME_LENGTH) return `longer than ${MAX_TOPIC_NAME_LENGTH} characters`;
  if (!LEGAL.test(name)) return 'only ASCII letters, digits, ".", "_" and "-" are allowed';
  return null;
}

export function topicNameToKeyToken(name: string): string {
  return name.replaceAll('.', '=');
}

export function keyTokenToTopicName(token: string): string {
  return token.replaceAll('=', '.');
}
