// `kastor acls`: Kafka's ACLs (CreateAcls, DescribeAcls, DeleteAcls), with kafka-acls' flag names.
// - add: --allow-principal or --deny-principal, --operation (comma-separated), one resource (--topic, --group,
//   --transactional-id or --cluster), --resource-pattern-type literal (default) or prefixed, --allow-host /
//   --deny-host (default *).
// - list: every binding, or those of a resource (--resource-pattern-type any by default; match: the bindings that
//   apply to the named resource) or of a --principal.
// - remove: the bindings matching the same flags as add, where a flag left out matches anything.
// The caller needs Alter (add, remove) or Describe (list) on the cluster.
import { Kafka } from '../client/index.ts';
import { UsageError, helpText, parseFlags, type FlagSpecs, type ParsedFlags } from './args.ts';
import { parseBootstrapFlag, stringifyJson } from './topic-command.ts';
import { CLIENT_SECURITY_FLAGS, clientSecurityOptions } from './client-security.ts';
import { CLUSTER_NAME, OPERATIONS, describeBinding, parseName, type AclBinding, type AclFilter, type Operation, type ResourceType } from '../security/acl.ts';

const FLAGS = {
  bootstrap: { type: 'string', description: 'brokers to connect to, comma-separated', default: '127.0.0.1:9092', value: 'HOST:PORT[,..]' },
  'allow-principal': { type: 'string', description: 'add/remove: the principal an ALLOW binding is for (User:alice, User:*)', value: 'PRINCIPAL' },
  'deny-principal': { type: 'string', description: 'add/remove: the principal a DENY binding is for', value: 'PRINCIPAL' },
  'allow-host': { type: 'string', description: 'add/remove: the host of an ALLOW binding (default *)', value: 'HOST' },
  'deny-host': { type: 'string', description: 'add/remove: the host of a DENY binding (default *)', value: 'HOST' },
  principal: { type: 'string', description: 'list: only the bindings of this principal', value: 'PRINCIPAL' },
  operation: { type: 'string', description: `add/remove: ${Object.keys(OPERATIONS).filter((o) => o !== 'Any').join(', ')} (comma-separated)`, value: 'OPS' },
  topic: { type: 'string', description: 'the resource: a topic (* for all)', value: 'NAME' },
  group: { type: 'string', description: 'the resource: a consumer group (* for all)', value: 'NAME' },
  'transactional-id': { type: 'string', description: 'the resource: a transactional id (* for all)', value: 'ID' },
  cluster: { type: 'boolean', description: 'the resource: the cluster' },
  'resource-pattern-type': { type: 'string', description: 'literal or prefixed (add; default literal); list/remove also any or match (default: list any, remove literal)', value: 'TYPE' },
  json: { type: 'boolean', description: 'list: print JSON instead of text' },
  ...CLIENT_SECURITY_FLAGS,
} satisfies FlagSpecs;

type Flags = ParsedFlags<typeof FLAGS>;
const SUBCOMMANDS = ['add', 'list', 'remove'];

function resourceOf(f: Flags): { resourceType: ResourceType; name: string } | null {
  const given: Array<{ resourceType: ResourceType; name: string }> = [];
  if (f.topic !== undefined) given.push({ resourceType: 'Topic', name: f.topic });
  if (f.group !== undefined) given.push({ resourceType: 'Group', name: f.group });
  if (f['transactional-id'] !== undefined) given.push({ resourceType: 'TransactionalId', name: f['transactional-id'] });
  if (f.cluster) given.push({ resourceType: 'Cluster', name: CLUSTER_NAME });
  if (given.length > 1) throw new UsageError('name one resource: --topic, --group, --transactional-id or --cluster');
  return given[0] ?? null;
}

function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Who and what from the add/remove flags: one permission, its principal and host, the operations. */
function entryFlags(f: Flags): { permission: 'ALLOW' | 'DENY' | 'ANY'; principal: string | null; host: string | null; operations: Array<Operation | 'Any'> } {
  if (f['allow-principal'] && f['deny-principal']) throw new UsageError('give --allow-principal or --deny-principal, not both');
  const deny = f['deny-principal'] !== undefined || f['deny-host'] !== undefined;
  const allow = f['allow-principal'] !== undefined || f['allow-host'] !== undefined;
  if (deny && allow) throw new UsageError('mix no --allow-* and --deny-* flags in one command');
  const operations = f.operation === undefined ? (['Any'] as const) : f.operation.split(',').map((o) => usage(() => parseName(OPERATIONS, o.trim(), 'operation')) as Operation | 'Any');
  return {
    permission: deny ? 'DENY' : allow ? 'ALLOW' : 'ANY',
    principal: f['deny-principal'] ?? f['allow-principal'] ?? null,
    host: f['deny-host'] ?? f['allow-host'] ?? null,
    operations: [...operations],
  };
}

function patternFlag(f: Flags, fallback: AclFilter['patternType']): AclFilter['patternType'] {
  if (f['resource-pattern-type'] === undefined) return fallback;
  const p = f['resource-pattern-type'].toUpperCase();
  if (!['LITERAL', 'PREFIXED', 'ANY', 'MATCH'].includes(p)) throw new UsageError(`--resource-pattern-type must be literal, prefixed, any or match, got "${f['resource-pattern-type']}"`);
  return p as AclFilter['patternType'];
}

export async function aclsCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || !SUBCOMMANDS.includes(sub)) {
    const text = helpText('acls', 'ACLs: kastor acls add|list|remove', FLAGS);
    if (sub && sub !== '--help') throw new UsageError(`unknown acls command "${sub}" (add, list, remove)`);
    console.log(text);
    return sub ? 0 : 2;
  }
  const f = parseFlags(`acls ${sub}`, FLAGS, rest);
  if (f._.length > 0) throw new UsageError(`unexpected argument "${f._[0]}"`);
  const resource = resourceOf(f);
  const admin = new Kafka({ bootstrap: parseBootstrapFlag(f.bootstrap), clientId: 'kastor-acls', retry: { retries: 3, maxBackoffMs: 1000 }, ...clientSecurityOptions(f, process.env) }).admin();
  try {
    if (sub === 'list') {
      const filter: AclFilter = { resourceType: resource?.resourceType ?? 'Any', name: resource?.name ?? null, patternType: patternFlag(f, 'ANY'), principal: f.principal ?? null, host: null, operation: 'Any', permission: 'ANY' };
      const bindings = await admin.describeAcls(filter);
      if (f.json) console.log(stringifyJson(bindings));
      else if (bindings.length === 0) console.log('no ACLs');
      else for (const b of bindings) console.log(describeBinding(b));
      return 0;
    }
    const e = entryFlags(f);
    if (sub === 'add') {
      if (!resource) throw new UsageError('kastor acls add needs a resource: --topic, --group, --transactional-id or --cluster');
      if (e.principal === null) throw new UsageError('kastor acls add needs --allow-principal or --deny-principal');
      if (e.operations.includes('Any')) throw new UsageError('kastor acls add needs --operation');
      const patternType = patternFlag(f, 'LITERAL');
      if (patternType !== 'LITERAL' && patternType !== 'PREFIXED') throw new UsageError('kastor acls add takes --resource-pattern-type literal or prefixed');
      const bindings: AclBinding[] = e.operations.map((operation) => ({ ...resource, patternType, principal: e.principal!, host: e.host ?? '*', operation: operation as Operation, permission: e.permission as 'ALLOW' | 'DENY' }));
      await admin.createAcls(bindings);
      for (const b of bindings) console.log(`added ${describeBinding(b)}`);
    } else {
      const filters: AclFilter[] = e.operations.map((operation) => ({
        resourceType: resource?.resourceType ?? 'Any',
        name: resource?.name ?? null,
        patternType: patternFlag(f, resource ? 'LITERAL' : 'ANY'),
        principal: e.principal,
        host: e.host,
        operation,
        permission: e.permission,
      }));
      const removed = await admin.deleteAcls(filters);
      if (removed.length === 0) console.log('no ACLs matched');
      for (const b of removed) console.log(`removed ${describeBinding(b)}`);
    }
  } finally {
    await admin.close();
  }
  return 0;
}
