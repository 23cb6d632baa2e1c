// kafka-acls.sh over Kastor, following Kafka 3.9's AclCommand with --bootstrap-server (CreateAcls, DescribeAcls,
// DeleteAcls through Kastor's admin client):
// - --add: every --allow-principal × --allow-host (default *) and every --deny-principal × --deny-host (default
//   *), for each --operation (default All), on each resource named (--topic, --group, --transactional-id,
//   repeatable, and --cluster), with --resource-pattern-type literal (default) or prefixed. --producer and
//   --consumer stand for their operation sets, as in Kafka (Write, Describe, Create on topics, IdempotentWrite on
//   the cluster with --idempotent; Read, Describe on topics, Read on groups).
// - --remove: the same bindings; with no principal named, every binding of each resource. Kafka asks for
//   confirmation unless --force; here --force is required, since no script can answer the prompt.
// - --list: every binding, or those of the resources named (--resource-pattern-type any by default), or of a
//   --principal.
// Printed as Kafka prints them: "Adding ACLs for resource `ResourcePattern(resourceType=TOPIC, name=t,
// patternType=LITERAL)`:" then one `(principal=User:*, host=*, operation=ALL, permissionType=DENY)` line each.
// Refused: --authorizer-properties (Kastor's ACLs are reached through a broker), --delegation-token and
// --user-principal (Kastor has no delegation tokens).
import { Kafka } from '../../client/index.ts';
import type { Admin } from '../../client/admin.ts';
import { CLUSTER_NAME, OPERATIONS, parseName, type AclBinding, type AclFilter, type Operation, type PatternType, type ResourcePattern, type ResourceType } from '../../security/acl.ts';
import { helpOrVersion, ToolError, checkCommon, connectionOptions, kafkaMessage, oneAction, parseOptions, type OptionSpecs, type ParsedOptions } from './options.ts';

const SPECS: OptionSpecs = {
  add: { description: 'add ACLs' },
  remove: { description: 'remove ACLs (needs --force: no prompt is answered here)' },
  list: { description: 'list ACLs (of the resources named, or all)' },
  topic: { value: 'topic', repeats: true, description: 'a topic resource (* for all)' },
  group: { value: 'group', repeats: true, description: 'a consumer group resource (* for all)' },
  'transactional-id': { value: 'transactional-id', repeats: true, description: 'a transactional id resource (* for all)' },
  cluster: { description: 'the cluster resource' },
  'resource-pattern-type': { value: 'ANY|MATCH|LITERAL|PREFIXED', description: 'literal (default for --add and --remove) or prefixed; --list also any (default) or match' },
  'allow-principal': { value: 'allow-principal', repeats: true, description: 'principal of ALLOW bindings (User:alice, User:*)' },
  'deny-principal': { value: 'deny-principal', repeats: true, description: 'principal of DENY bindings' },
  'allow-host': { value: 'allow-host', repeats: true, description: 'host of ALLOW bindings (default *)' },
  'deny-host': { value: 'deny-host', repeats: true, description: 'host of DENY bindings (default *)' },
  principal: { value: 'principal', repeats: true, description: 'with --list: only the bindings of this principal' },
  operation: { value: 'operation', repeats: true, description: `${Object.keys(OPERATIONS).filter((o) => o !== 'Any').join(', ')} (default All)` },
  producer: { description: "a producer's ACLs: Write, Describe, Create on the topics (IdempotentWrite on the cluster with --idempotent)" },
  consumer: { description: "a consumer's ACLs: Read, Describe on the topics, Read on the groups" },
  idempotent: { description: 'with --producer: IdempotentWrite on the cluster' },
  force: { description: 'remove without asking' },
  'authorizer-properties': { value: 'properties', repeats: true, description: 'refused: Kastor reaches its ACLs through a broker (--bootstrap-server)' },
  'delegation-token': { value: 'token', description: 'refused: Kastor has no delegation tokens' },
  'user-principal': { value: 'principal', description: 'refused: Kastor has no delegation tokens' },
};

const KAFKA_RESOURCE_TYPE: Record<ResourceType, string> = { Topic: 'TOPIC', Group: 'GROUP', Cluster: 'CLUSTER', TransactionalId: 'TRANSACTIONAL_ID' };

function kafkaName(s: string): string {
  return s.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}

function describePattern(p: ResourcePattern): string {
  return `ResourcePattern(resourceType=${KAFKA_RESOURCE_TYPE[p.resourceType]}, name=${p.name}, patternType=${p.patternType})`;
}

function describeEntry(b: AclBinding): string {
  return `\t(principal=${b.principal}, host=${b.host}, operation=${kafkaName(b.operation)}, permissionType=${b.permission})`;
}

function resourcesOf(opts: ParsedOptions, patternType: PatternType): ResourcePattern[] {
  return [
    ...opts.all('topic').map((name) => ({ resourceType: 'Topic' as const, name, patternType })),
    ...opts.all('group').map((name) => ({ resourceType: 'Group' as const, name, patternType })),
    ...opts.all('transactional-id').map((name) => ({ resourceType: 'TransactionalId' as const, name, patternType })),
    ...(opts.has('cluster') ? [{ resourceType: 'Cluster' as const, name: CLUSTER_NAME, patternType: 'LITERAL' as const }] : []),
  ];
}

function patternType(opts: ParsedOptions, action: string): AclFilter['patternType'] {
  const given = opts.value('resource-pattern-type');
  if (given === undefined) return action === 'list' ? 'ANY' : 'LITERAL';
  const p = given.toUpperCase();
  if (!['ANY', 'MATCH', 'LITERAL', 'PREFIXED'].includes(p)) throw new ToolError(`Unrecognized resource pattern type: ${given}`);
  if (action === 'add' && (p === 'ANY' || p === 'MATCH')) throw new ToolError(`A 'LITERAL' or 'PREFIXED' value for --resource-pattern-type is required with --add, got ${p}`);
  return p as AclFilter['patternType'];
}

function operationsOf(opts: ParsedOptions): Operation[] {
  const given = opts.all('operation');
  if (given.length === 0) return ['All'];
  return given.map((o) => {
    try {
      return parseName(OPERATIONS, o.trim(), 'operation') as Operation;
    } catch (err) {
      throw new ToolError((err as Error).message);
    }
  });
}

/** The (principal, host, operation, permission) entries of --add/--remove, for a resource of this type. */
function entriesFor(opts: ParsedOptions, resourceType: ResourceType): Array<Pick<AclBinding, 'principal' | 'host' | 'operation' | 'permission'>> {
  let operations = operationsOf(opts);
  if (opts.has('producer')) operations = resourceType === 'Topic' ? ['Write', 'Describe', 'Create'] : resourceType === 'Cluster' ? ['IdempotentWrite'] : [];
  if (opts.has('consumer')) operations = resourceType === 'Topic' ? ['Read', 'Describe'] : resourceType === 'Group' ? ['Read'] : [];
  const out: Array<Pick<AclBinding, 'principal' | 'host' | 'operation' | 'permission'>> = [];
  for (const [permission, principalOpt, hostOpt] of [['ALLOW', 'allow-principal', 'allow-host'], ['DENY', 'deny-principal', 'deny-host']] as const) {
    const hosts = opts.all(hostOpt).length > 0 ? opts.all(hostOpt) : ['*'];
    for (const principal of opts.all(principalOpt)) {
      if (!/^[^:]+:.+$/.test(principal)) throw new ToolError(`Invalid principal: ${principal} (expected TYPE:NAME, e.g. User:alice)`);
      for (const host of hosts) for (const operation of operations) out.push({ principal, host, operation, permission });
    }
  }
  return out;
}

async function add(admin: Admin, opts: ParsedOptions, resources: ResourcePattern[]): Promise<void> {
  if (opts.all('allow-principal').length + opts.all('deny-principal').length === 0) throw new ToolError('You must specify one of: --allow-principal, --deny-principal when trying to add ACLs.');
  for (const resource of resources) {
    const bindings = entriesFor(opts, resource.resourceType).map((e) => ({ ...resource, ...e }));
    if (bindings.length === 0) continue;
    console.log(`Adding ACLs for resource \`${describePattern(resource)}\`: \n${bindings.map(describeEntry).join('\n')} \n`);
    await admin.createAcls(bindings);
  }
}

async function remove(admin: Admin, opts: ParsedOptions, resources: ResourcePattern[]): Promise<void> {
  if (!opts.has('force')) throw new ToolError('kafka-acls.sh --remove needs --force here: Kastor does not prompt for confirmation');
  const anyPrincipal = opts.all('allow-principal').length + opts.all('deny-principal').length === 0;
  for (const resource of resources) {
    const filters: AclFilter[] = anyPrincipal
      ? [{ ...resource, principal: null, host: null, operation: 'Any', permission: 'ANY' }]
      : entriesFor(opts, resource.resourceType).map((e) => ({ ...resource, ...e }));
    if (filters.length === 0) continue;
    console.log(`Removing ACLs for resource \`${describePattern(resource)}\`${anyPrincipal ? '' : `: \n${(filters as AclBinding[]).map(describeEntry).join('\n')} `}\n`);
    await admin.deleteAcls(filters);
  }
}

async function list(admin: Admin, opts: ParsedOptions, pattern: AclFilter['patternType']): Promise<void> {
  const principals = opts.all('principal');
  const named = resourcesOf(opts, 'LITERAL');
  const filters: AclFilter[] = named.length === 0 ? [{ resourceType: 'Any', name: null, patternType: pattern, principal: null, host: null, operation: 'Any', permission: 'ANY' }] : named.map((r) => ({ resourceType: r.resourceType, name: r.name, patternType: pattern, principal: null, host: null, operation: 'Any', permission: 'ANY' }));
  const byResource = new Map<string, { pattern: ResourcePattern; bindings: AclBinding[] }>();
  for (const filter of filters) {
    for (const b of await admin.describeAcls(filter)) {
      if (principals.length > 0 && !principals.includes(b.principal)) continue;
      const key = describePattern(b);
      const group = byResource.get(key) ?? { pattern: b, bindings: [] };
      group.bindings.push(b);
      byResource.set(key, group);
    }
  }
  for (const [key, g] of byResource) {
    const who = principals.length > 0 ? ` for principal \`${principals.join(', ')}\`` : '';
    console.log(`Current ACLs${who} for resource \`${key}\`: \n${g.bindings.map(describeEntry).join('\n')} \n`);
  }
}

export async function kafkaAcls(argv: string[]): Promise<number> {
  let admin: Admin | undefined;
  try {
    const opts = parseOptions(SPECS, argv);
    const early = helpOrVersion(argv, opts, 'kafka-acls.sh', 'add, remove and list ACLs (Kastor: through a broker, --bootstrap-server).', SPECS);
    if (early !== null) return early;
    checkCommon(opts);
    if (opts.has('authorizer-properties')) throw new ToolError('--authorizer-properties is not supported: Kastor keeps its ACLs in the cluster; use --bootstrap-server');
    if (opts.has('delegation-token') || opts.has('user-principal')) throw new ToolError('--delegation-token and --user-principal are not supported: Kastor has no delegation tokens');
    if (!opts.has('bootstrap-server')) throw new ToolError('One of --bootstrap-server or --authorizer-properties must be specified');
    const action = oneAction(opts, ['list', 'add', 'remove']);
    if (opts.has('producer') && opts.has('consumer')) throw new ToolError('With --producer or --consumer, give only one of them');
    if (opts.has('idempotent') && !opts.has('producer')) throw new ToolError('The --idempotent option is only available if --producer is set');
    const pattern = patternType(opts, action);
    admin = new Kafka(connectionOptions(opts, 'kafka-acls')).admin();
    if (action === 'list') {
      await list(admin, opts, pattern);
      return 0;
    }
    const resources = resourcesOf(opts, pattern as PatternType);
    if (opts.has('producer') && opts.has('idempotent') && !opts.has('cluster')) resources.push({ resourceType: 'Cluster', name: CLUSTER_NAME, patternType: 'LITERAL' });
    if (resources.length === 0) throw new ToolError('You must provide at least one resource: --topic <topic> or --cluster or --group <group> or --transactional-id <id>');
    if (action === 'add') await add(admin, opts, resources);
    else await remove(admin, opts, resources);
    return 0;
  } catch (err) {
    console.error(`Error while executing ACL command: ${kafkaMessage(err)}`);
    return 1;
  } finally {
    await admin?.close();
  }
}
