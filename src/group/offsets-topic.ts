// The internal topic `__consumer_offsets` and which of its partitions coordinates a group: Kafka's
// GroupMetadataManager.partitionFor = Utils.abs(groupId.hashCode) % offsets.topic.num.partitions, with Java's
// String.hashCode, so a group lands on the same partition number as it would on a Kafka cluster.
export const OFFSETS_TOPIC = '__consumer_offsets';
export const DEFAULT_OFFSETS_PARTITIONS = 10;

/** Java's String.hashCode: s[0]*31^(n-1) + ... + s[n-1] over UTF-16 code units, in 32-bit arithmetic. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** Kafka's Utils.abs: Integer.MIN_VALUE maps to 0 rather than staying negative. */
function kafkaAbs(n: number): number {
  return n === -2147483648 ? 0 : Math.abs(n);
}

export function partitionForGroup(groupId: string, partitions: number): number {
  return kafkaAbs(javaStringHashCode(groupId)) % partitions;
}
