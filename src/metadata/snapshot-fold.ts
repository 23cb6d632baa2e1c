// One watched change folded into a snapshot draft: the key says what it is (metadata-keys.ts), the codec checks
// the value (a malformed one is skipped with a warning, never applied), and an unchanged part of a topic or broker
// keeps its object, so a change to one topic leaves every other part of the snapshot the same.
import { current, isDraft, type Draft } from 'immer';
import type { KvChange } from './kv.ts';
import { decodeAclResource, decodeBroker, decodeBrokerConfigs, decodeClusterId, decodeController, decodeTopic } from './metadata-codec.ts';
import { parseKey } from './metadata-keys.ts';
import { shareUnchanged } from './share-unchanged.ts';
import type { ClusterSnapshot } from './types.ts';

/** Applies `c` to `draft` (a delete removes the key's part); `warn` hears of a value it skips. */
export function applyChange(draft: Draft<ClusterSnapshot>, c: KvChange, warn: (message: string, facts: Record<string, unknown>) => void): void {
  const key = parseKey(c.key);
  const skip = (why: string) => warn('skipping a malformed metadata value', { key: c.key, revision: c.revision, reason: why });
  switch (key.kind) {
    case 'other':
      return;
    case 'invalid':
      return skip(key.why);
    case 'cluster-id': {
      if (c.value === null) return void (draft.clusterId = '');
      const d = decodeClusterId(c.value);
      return d.ok ? void (draft.clusterId = d.value) : skip(d.why);
    }
    case 'controller': {
      if (c.value === null) return void (draft.controller = null);
      const d = decodeController(c.value, c.revision);
      if (!d.ok) return skip(d.why);
      // A lease renewal rewrites the key without changing who holds it: keep the same object.
      if (draft.controller?.brokerId !== d.value.brokerId || draft.controller?.epoch !== d.value.epoch) draft.controller = d.value;
      return;
    }
    case 'broker': {
      if (c.value === null) return void delete draft.brokers[key.id];
      const d = decodeBroker(c.value, key.id);
      return d.ok ? void put(draft.brokers, key.id, d.value) : skip(d.why);
    }
    case 'broker-config': {
      const configs = (draft.brokerConfigs ??= {});
      if (c.value === null) return void delete configs[key.scope];
      const d = decodeBrokerConfigs(c.value);
      if (!d.ok) return skip(d.why);
      // A rewrite with the same configs keeps the same object, so nothing downstream sees a change.
      const cur = configs[key.scope];
      if (!cur || JSON.stringify(cur) !== JSON.stringify(d.value)) configs[key.scope] = d.value;
      return;
    }
    case 'acl': {
      const acls = (draft.acls ??= {});
      if (c.value === null) return void delete acls[key.token];
      const d = decodeAclResource(c.value);
      return d.ok ? void (acls[key.token] = d.value) : skip(d.why);
    }
    case 'topic': {
      if (c.value === null) return void delete draft.topics[key.name];
      const d = decodeTopic(c.value, key.name);
      return d.ok ? void put(draft.topics, key.name, d.value) : skip(d.why);
    }
  }
}

/** Sets map[k] to value, keeping every unchanged part of the previous value (structural sharing). */
function put<V extends object>(map: Record<string | number, Draft<V>>, k: string | number, value: V): void {
  const cur = map[k];
  if (cur === undefined) return void (map[k] = value as Draft<V>);
  // The value as it stands (the previous snapshot's, unless an earlier change of this batch rewrote it).
  const old = isDraft(cur) ? current(cur) : cur;
  const shared = shareUnchanged(old, value);
  if (shared !== old) map[k] = shared as Draft<V>;
}
