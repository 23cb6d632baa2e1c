// The records Kastor keeps in `__consumer_offsets`, one compacted key per fact so that "the latest record per
// key wins" rebuilds the coordinator's state (Kafka's OffsetCommitKey/Value and GroupMetadataKey/Value, in a
// format of Kastor's own). Keys and values are UTF-8 JSON; keys are JSON arrays so equal facts encode to
// equal bytes, which log compaction relies on:
//
//   key   ["offset", group, topic, partition]   value {"v":1,"offset":"42","leaderEpoch":-1,"metadata":"","commitTimestamp":1700000000000}
//   key   ["group", group]                      value {"v":1,"generationId":3,"protocolType":"consumer","protocolName":"range",
//                                                      "leaderId":"m1","members":[{"memberId":..,"groupInstanceId":..,"clientId":..,
//                                                      "clientHost":..,"sessionTimeoutMs":..,"rebalanceTimeoutMs":..,
//                                                      "metadata":"<base64>","assignment":"<base64>"}]}
//
// A null value is a tombstone: the offset was deleted (OffsetDelete, DeleteGroups) or the group is gone.
// Offsets are decimal strings because Kafka offsets are int64. `v` is the value schema version: a reader
// skips versions it does not know rather than misreading them.
import type { PersistedGroup } from './group-types.ts';

export const VALUE_VERSION = 1;

export interface CommittedOffset {
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestamp: number;
}

export type OffsetsRecordKey = { kind: 'offset'; group: string; topic: string; partition: number } | { kind: 'group'; group: string };

export function offsetKey(group: string, topic: string, partition: number): Buffer {
  return Buffer.from(JSON.stringify(['offset', group, topic, partition]));
}

export function groupKey(group: string): Buffer {
  return Buffer.from(JSON.stringify(['group', group]));
}

export function encodeOffset(o: CommittedOffset): Buffer {
  return Buffer.from(JSON.stringify({ v: VALUE_VERSION, offset: o.offset.toString(), leaderEpoch: o.leaderEpoch, metadata: o.metadata, commitTimestamp: o.commitTimestamp }));
}

export function encodeGroup(g: PersistedGroup): Buffer {
  return Buffer.from(
    JSON.stringify({
      v: VALUE_VERSION,
      ...g,
      members: g.members.map((m) => ({ ...m, metadata: m.metadata.toString('base64'), assignment: m.assignment.toString('base64') })),
    }),
  );
}

/** Null for a key this version does not know (a newer broker's record kind). */
export function decodeKey(key: Buffer): OffsetsRecordKey | null {
  const k = JSON.parse(key.toString('utf8')) as unknown[];
  if (k[0] === 'offset' && k.length === 4) return { kind: 'offset', group: String(k[1]), topic: String(k[2]), partition: Number(k[3]) };
  if (k[0] === 'group' && k.length === 2) return { kind: 'group', group: String(k[1]) };
  return null;
}

export function decodeOffset(value: Buffer): CommittedOffset | null {
  const v = JSON.parse(value.toString('utf8'));
  if (v.v !== VALUE_VERSION) return null;
  return { offset: BigInt(v.offset), leaderEpoch: v.leaderEpoch, metadata: v.metadata, commitTimestamp: v.commitTimestamp };
}

export function decodeGroup(value: Buffer): PersistedGroup | null {
  const v = JSON.parse(value.toString('utf8'));
  if (v.v !== VALUE_VERSION) return null;
  return {
    generationId: v.generationId,
    protocolType: v.protocolType,
    protocolName: v.protocolName,
    leaderId: v.leaderId,
    members: (v.members as Array<Record<string, unknown>>).map((m) => ({
      memberId: String(m.memberId),
      groupInstanceId: (m.groupInstanceId as string | null) ?? null,
      clientId: String(m.clientId),
      clientHost: String(m.clientHost),
      sessionTimeoutMs: Number(m.sessionTimeoutMs),
      rebalanceTimeoutMs: Number(m.rebalanceTimeoutMs),
      metadata: Buffer.from(String(m.metadata), 'base64'),
      assignment: Buffer.from(String(m.assignment), 'base64'),
    })),
  };
}
