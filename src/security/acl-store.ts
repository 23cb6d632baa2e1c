// Where ACLs live: one key per resource pattern in the cluster metadata bucket, `acls.<hex of
// type:patternType:name>`, holding that pattern's entries (as Kafka's ZooKeeper authorizer kept one znode per
// resource pattern). Writes are compare-and-sets on the one key they change (src/metadata updateOther, as SCRAM
// credentials are written: scram-credentials.ts); the metadata watch folds every key into the snapshot's `acls`, so
// every broker sees a change as soon as its watch delivers it, and `bindingsOf(snapshot)` is what its authorizer
// decides with.
import type { MetadataStore } from '../metadata/metadata-store.ts';
import { ACLS_PREFIX } from '../metadata/metadata-keys.ts';
import type { ClusterSnapshot, StoredAclResource } from '../metadata/types.ts';
import { OPERATIONS, filterMatches, sameBinding, type AclBinding, type AclEntry, type AclFilter, type Operation, type PatternType, type Permission, type ResourcePattern, type ResourceType } from './acl.ts';

const RESOURCE_TYPES: readonly string[] = ['Topic', 'Group', 'Cluster', 'TransactionalId'];
const PATTERN_TYPES: readonly string[] = ['LITERAL', 'PREFIXED'];
const PERMISSIONS: readonly string[] = ['ALLOW', 'DENY'];

export function aclKey(p: ResourcePattern): string {
  return `${ACLS_PREFIX}.${Buffer.from(`${p.resourceType}:${p.patternType}:${p.name}`, 'utf8').toString('hex')}`;
}

const validEntry = (e: StoredAclResource['entries'][number]) => PERMISSIONS.includes(e.permission) && e.operation in OPERATIONS && e.operation !== 'Any';

/** Every binding in the snapshot, skipping any entry this version does not know (a newer broker's). */
export function bindingsOf(snapshot: ClusterSnapshot): AclBinding[] {
  const out: AclBinding[] = [];
  for (const r of Object.values(snapshot.acls ?? {})) {
    if (!RESOURCE_TYPES.includes(r.resourceType) || !PATTERN_TYPES.includes(r.patternType)) continue;
    const pattern = { resourceType: r.resourceType as ResourceType, name: r.name, patternType: r.patternType as PatternType };
    for (const e of r.entries) {
      if (validEntry(e)) out.push({ ...pattern, principal: e.principal, host: e.host, operation: e.operation as Operation, permission: e.permission as Permission });
    }
  }
  return out;
}

function decode(bytes: Uint8Array | null): AclEntry[] {
  if (!bytes) return [];
  const stored = JSON.parse(Buffer.from(bytes).toString('utf8')) as StoredAclResource;
  return stored.entries.filter(validEntry) as AclEntry[];
}

function encode(pattern: ResourcePattern, entries: AclEntry[]): Uint8Array | null {
  if (entries.length === 0) return null;
  const stored: StoredAclResource = { ...pattern, entries: entries.map((e) => ({ principal: e.principal, host: e.host, operation: e.operation, permission: e.permission })) };
  return Buffer.from(JSON.stringify(stored));
}

const patternOf = (b: AclBinding): ResourcePattern => ({ resourceType: b.resourceType, name: b.name, patternType: b.patternType });
const bindingOf = (p: ResourcePattern, e: AclEntry): AclBinding => ({ ...p, ...e });

export class AclStore {
  constructor(private readonly metadata: Pick<MetadataStore, 'updateOther' | 'snapshot'>) {}

  list(filter: AclFilter): AclBinding[] {
    return bindingsOf(this.metadata.snapshot()).filter((b) => filterMatches(filter, b));
  }

  /** Adds a binding (adding one that exists changes nothing, as in Kafka). */
  async add(b: AclBinding): Promise<void> {
    const pattern = patternOf(b);
    await this.metadata.updateOther(aclKey(pattern), (current) => {
      const entries = decode(current);
      if (entries.some((e) => sameBinding(bindingOf(pattern, e), b))) return current;
      return encode(pattern, [...entries, { principal: b.principal, host: b.host, operation: b.operation, permission: b.permission }]);
    });
  }

  /** Removes every binding the filter matches; returns those removed. */
  async remove(filter: AclFilter): Promise<AclBinding[]> {
    const patterns = new Map<string, ResourcePattern>();
    for (const b of this.list(filter)) patterns.set(aclKey(b), patternOf(b));
    const removed: AclBinding[] = [];
    for (const [key, pattern] of patterns) {
      let attempt: AclBinding[] = [];
      await this.metadata.updateOther(key, (current) => {
        const entries = decode(current);
        const keep = entries.filter((e) => !filterMatches(filter, bindingOf(pattern, e)));
        // Computed again on a lost compare-and-set: only the last attempt's removals count.
        attempt = entries.filter((e) => !keep.includes(e)).map((e) => bindingOf(pattern, e));
        return keep.length === entries.length ? current : encode(pattern, keep);
      });
      removed.push(...attempt);
    }
    return removed;
  }
}
