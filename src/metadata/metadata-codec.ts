// JSON encoding of metadata values and the validation of everything read back. The bucket is shared by
// every broker and any operator with a NATS client, so a value is trusted only after its shape is
// checked; a value that fails is reported and skipped by the store, never allowed to crash a broker.
// Unknown extra fields are kept, so a newer broker's additions survive an older broker's update.
import type { BrokerInfo, ControllerInfo, StoredAclResource, TopicInfo } from './types.ts';
import { topicNameProblem } from './topic-name.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; why: string };

function parse(bytes: Uint8Array): Decoded<unknown> {
  try {
    return { ok: true, value: JSON.parse(decoder.decode(bytes)) };
  } catch (err) {
    return { ok: false, why: `not JSON: ${(err as Error).message}` };
  }
}

function decodeWith<T>(bytes: Uint8Array, problem: (v: unknown) => string | null): Decoded<T> {
  const p = parse(bytes);
  if (!p.ok) return p;
  const why = problem(p.value);
  return why ? { ok: false, why } : { ok: true, value: p.value as T };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min: number): v is number => Number.isSafeInteger(v) && (v as number) >= min;
const isIdList = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => isInt(x, 0)) && new Set(v).size === v.length;

const isEndpoint = (e: unknown): boolean =>
  isObject(e) && typeof e.listener === 'string' && e.listener !== '' && typeof e.securityProtocol === 'string' && typeof e.host === 'string' && e.host !== '' && isInt(e.port, 0) && (e.port as number) <= 65535;

export function brokerProblem(v: unknown, expectedId?: number): string | null {
  if (!isObject(v)) return 'not an object';
  if (!isInt(v.id, 0)) return 'id is not a non-negative integer';
  if (expectedId !== undefined && v.id !== expectedId) return `id ${v.id} does not match the key's ${expectedId}`;
  if (typeof v.host !== 'string' || v.host === '') return 'host is not a non-empty string';
  if (!isInt(v.port, 0) || v.port > 65535) return 'port is not in 0..65535';
  if (v.rack !== null && typeof v.rack !== 'string') return 'rack is neither null nor a string';
  if (typeof v.incarnation !== 'string' || v.incarnation === '') return 'incarnation is not a non-empty string';
  if (typeof v.registeredAt !== 'number' || !Number.isFinite(v.registeredAt)) return 'registeredAt is not a number';
  if (v.fenced !== undefined && typeof v.fenced !== 'boolean') return 'fenced is not a boolean';
  if (v.endpoints !== undefined && !(Array.isArray(v.endpoints) && v.endpoints.every(isEndpoint))) return 'endpoints is not a list of { listener, securityProtocol, host, port }';
  return null;
}

export function topicProblem(v: unknown, expectedName?: string): string | null {
  if (!isObject(v)) return 'not an object';
  if (typeof v.name !== 'string') return 'name is not a string';
  const nameProblem = topicNameProblem(v.name);
  if (nameProblem) return `name: ${nameProblem}`;
  if (expectedName !== undefined && v.name !== expectedName) return `name "${v.name}" does not match the key's "${expectedName}"`;
  if (typeof v.id !== 'string' || !/^[0-9a-f]{32}$/.test(v.id)) return 'id is not 32 lowercase hex digits';
  if (!Array.isArray(v.partitions) || v.partitions.length === 0) return 'partitions is not a non-empty array';
  for (let i = 0; i < v.partitions.length; i++) {
    const p: unknown = v.partitions[i];
    if (!isObject(p)) return `partition ${i} is not an object`;
    if (p.partition !== i) return `partitions[${i}].partition is ${String(p.partition)}, expected ${i}`;
    if (!isIdList(p.replicas) || p.replicas.length === 0) return `partition ${i}: replicas are not distinct broker ids`;
    if (!Number.isSafeInteger(p.leader) || (p.leader as number) < -1) return `partition ${i}: leader is not a broker id or -1`;
    if (!isInt(p.leaderEpoch, 0)) return `partition ${i}: leaderEpoch is not a non-negative integer`;
    if (!isIdList(p.isr)) return `partition ${i}: isr is not a list of distinct broker ids`;
    for (const field of ['addingReplicas', 'removingReplicas'] as const) {
      const v = p[field];
      if (v === undefined) continue;
      if (!isIdList(v) || !v.every((b) => (p.replicas as number[]).includes(b))) return `partition ${i}: ${field} are not distinct members of replicas`;
    }
  }
  if (!isObject(v.config) || !Object.values(v.config).every((x) => typeof x === 'string')) return 'config is not a map of strings';
  if (typeof v.createdAt !== 'number' || !Number.isFinite(v.createdAt)) return 'createdAt is not a number';
  return null;
}

function controllerProblem(v: unknown): string | null {
  if (!isObject(v)) return 'not an object';
  if (!isInt(v.brokerId, 0)) return 'brokerId is not a non-negative integer';
  // A takeover cannot know the revision it will get, so it writes no epoch: the epoch is then that
  // write's own revision (see decodeController). Renewals carry it explicitly.
  if (v.epoch !== undefined && !isInt(v.epoch, 0)) return 'epoch is not a non-negative integer';
  return null;
}

export const decodeBroker = (bytes: Uint8Array, id: number) => decodeWith<BrokerInfo>(bytes, (v) => brokerProblem(v, id));
export const decodeTopic = (bytes: Uint8Array, name: string) => decodeWith<TopicInfo>(bytes, (v) => topicProblem(v, name));
/** `revision` is the revision of the write being decoded: the epoch of a takeover that carries none. */
export const decodeController = (bytes: Uint8Array, revision: number): Decoded<ControllerInfo> => {
  const d = decodeWith<{ brokerId: number; epoch?: number }>(bytes, controllerProblem);
  // The lease value may carry more (incarnation, renewal times); the snapshot holds only who and which epoch.
  return d.ok ? { ok: true, value: { brokerId: d.value.brokerId, epoch: d.value.epoch ?? revision } } : d;
};
/** A broker config scope's value: `{ configs: { name: value } }`. */
export const decodeBrokerConfigs = (bytes: Uint8Array): Decoded<Record<string, string>> => {
  const d = decodeWith<{ configs: Record<string, string> }>(bytes, (v) =>
    isObject(v) && isObject(v.configs) && Object.values(v.configs).every((x) => typeof x === 'string') ? null : 'configs is not a map of strings',
  );
  return d.ok ? { ok: true, value: d.value.configs } : d;
};
export const decodeAclResource = (bytes: Uint8Array): Decoded<StoredAclResource> =>
  decodeWith<StoredAclResource>(bytes, (v) => {
    if (!isObject(v) || typeof v.resourceType !== 'string' || typeof v.name !== 'string' || typeof v.patternType !== 'string') return 'not a resource pattern';
    const ok = (e: unknown) => isObject(e) && ['principal', 'host', 'operation', 'permission'].every((k) => typeof e[k] === 'string');
    return Array.isArray(v.entries) && v.entries.every(ok) ? null : 'entries is not a list of ACL entries';
  });
export const decodeClusterId = (bytes: Uint8Array): Decoded<string> => {
  const d = decodeWith<{ clusterId: string }>(bytes, (v) =>
    isObject(v) && typeof v.clusterId === 'string' && v.clusterId !== '' ? null : 'clusterId is not a non-empty string',
  );
  return d.ok ? { ok: true, value: d.value.clusterId } : d;
};
