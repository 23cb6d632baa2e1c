// Kafka's ACL decision rules (src/security/acl-authorizer.ts), the filters of DescribeAcls/DeleteAcls
// (src/security/acl.ts), and the ACLs' storage in the metadata (acl-store.ts): written through one store, seen by
// another store's watch, and the authorizer deciding with the new bindings as soon as they change.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { authorize, AclAuthorizer, type AuthorizationRequest, type AuthorizerSettings } from '../../src/security/acl-authorizer.ts';
import { filterMatches, MATCH_ALL, bindingProblem, type AclBinding } from '../../src/security/acl.ts';
import { AclStore, bindingsOf } from '../../src/security/acl-store.ts';
import { authorizerSettings } from '../../src/security/authorizer-settings.ts';
import { BROKER_FLAGS } from '../../src/cli/broker-command.ts';
import { resolveBrokerFlags } from '../../src/cli/broker-settings.ts';
import { bindingFromWire, bindingToWire, filterFromWire, filterToWire } from '../../src/security/acl-wire.ts';
import { MemoryKv } from '../../src/metadata/memory-kv.ts';
import { MetadataStore } from '../../src/metadata/metadata-store.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';
import { nodeIds } from '../../src/runtime/node/node-ids.ts';

const OFF: AuthorizerSettings = { superUsers: ['User:admin'], allowEveryoneIfNoAclFound: false };
const allow = (b: Partial<AclBinding>): AclBinding => ({ resourceType: 'Topic', name: 'a', patternType: 'LITERAL', principal: 'User:alice', host: '*', operation: 'Write', permission: 'ALLOW', ...b });
const req = (r: Partial<AuthorizationRequest>): AuthorizationRequest => ({ principal: 'User:alice', host: '10.0.0.1', operation: 'Write', resourceType: 'Topic', resourceName: 'a', ...r });
const ok = (bs: AclBinding[], r: Partial<AuthorizationRequest>, s = OFF) => authorize(bs, s, req(r)).allowed;

test('a literal ALLOW lets its principal do its operation on its resource, nothing else', () => {
  const acls = [allow({})];
  assert.ok(ok(acls, {}));
  assert.not.ok(ok(acls, { resourceName: 'b' }), 'another topic');
  assert.not.ok(ok(acls, { principal: 'User:bob' }), 'another principal');
  assert.not.ok(ok(acls, { operation: 'Read' }), 'another operation');
  assert.not.ok(ok(acls, { resourceType: 'Group' }), 'a group of the same name');
});

test('wildcards: User:*, host *, topic *, operation All', () => {
  assert.ok(ok([allow({ principal: 'User:*' })], { principal: 'User:bob' }));
  assert.ok(ok([allow({ name: '*' })], { resourceName: 'anything' }));
  assert.ok(ok([allow({ operation: 'All' })], { operation: 'Delete' }));
  assert.ok(ok([allow({ host: '10.0.0.1' })], {}));
  assert.not.ok(ok([allow({ host: '10.0.0.2' })], {}));
});

test('PREFIXED patterns cover names that start with them', () => {
  const acls = [allow({ name: 'orders-', patternType: 'PREFIXED' })];
  assert.ok(ok(acls, { resourceName: 'orders-eu' }));
  assert.ok(ok(acls, { resourceName: 'orders-' }));
  assert.not.ok(ok(acls, { resourceName: 'order' }));
  assert.not.ok(ok(acls, { resourceName: 'x-orders-eu' }));
});

test('DENY wins over ALLOW, also through wildcards; a DENY is never implied', () => {
  assert.not.ok(ok([allow({}), allow({ permission: 'DENY' })], {}));
  assert.not.ok(ok([allow({}), allow({ permission: 'DENY', principal: 'User:*', name: 'a', operation: 'All' })], {}));
  assert.not.ok(ok([allow({ name: 'a', patternType: 'PREFIXED' }), allow({ permission: 'DENY', host: '10.0.0.1' })], {}));
  // DENY Write does not deny Describe, which Read allows.
  assert.ok(ok([allow({ operation: 'Read' }), allow({ permission: 'DENY', operation: 'Write' })], { operation: 'Describe' }));
  // A DENY for someone else changes nothing.
  assert.ok(ok([allow({}), allow({ permission: 'DENY', principal: 'User:bob' })], {}));
});

test("Kafka's implied operations: Describe by Read/Write/Delete/Alter, DescribeConfigs by AlterConfigs", () => {
  for (const op of ['Read', 'Write', 'Delete', 'Alter'] as const) assert.ok(ok([allow({ operation: op })], { operation: 'Describe' }), op);
  assert.not.ok(ok([allow({ operation: 'Create' })], { operation: 'Describe' }));
  assert.ok(ok([allow({ operation: 'AlterConfigs' })], { operation: 'DescribeConfigs' }));
  assert.not.ok(ok([allow({ operation: 'Describe' })], { operation: 'Read' }), 'nothing implies more than it is');
});

test('super users may do everything, even against a DENY; allow.everyone.if.no.acl.found only where no ACL applies', () => {
  assert.ok(ok([allow({ permission: 'DENY', principal: 'User:*', operation: 'All' })], { principal: 'User:admin' }));
  assert.not.ok(ok([], {}), 'default: no ACL, no access');
  const open = { ...OFF, allowEveryoneIfNoAclFound: true };
  assert.ok(ok([], {}, open));
  assert.ok(ok([allow({ name: 'b', principal: 'User:bob' })], {}, open), 'an ACL on another resource does not close this one');
  assert.not.ok(ok([allow({ principal: 'User:bob' })], {}, open), 'an ACL on this resource for someone else closes it');
  assert.is(authorize([], OFF, req({})).reason, 'no ACL found');
});

test('new bindings decide at once, and each change is a new generation', () => {
  const a = new AclAuthorizer(OFF);
  assert.not.ok(a.authorize(req({})).allowed);
  const before = a.generation;
  a.update([allow({})]);
  assert.is(a.generation, before + 1);
  assert.ok(a.authorize(req({})).allowed);
  a.update([]);
  assert.not.ok(a.authorize(req({})).allowed);
});

test('filters: ANY, MATCH, and exact fields', () => {
  const lit = allow({});
  const pre = allow({ name: 'a', patternType: 'PREFIXED' });
  const star = allow({ name: '*' });
  assert.ok([lit, pre, star].every((b) => filterMatches(MATCH_ALL, b)));
  const match = { ...MATCH_ALL, resourceType: 'Topic' as const, name: 'abc', patternType: 'MATCH' as const };
  assert.equal([lit, pre, star].filter((b) => filterMatches(match, b)), [pre, star]);
  const any = { ...MATCH_ALL, name: 'a', patternType: 'ANY' as const };
  assert.equal([lit, pre, star].filter((b) => filterMatches(any, b)), [lit, pre]);
  assert.not.ok(filterMatches({ ...MATCH_ALL, permission: 'DENY' }, lit));
  assert.not.ok(filterMatches({ ...MATCH_ALL, operation: 'Read' }, lit));
});

test('wire form round trip and validation', () => {
  const b = allow({ patternType: 'PREFIXED', permission: 'DENY', operation: 'IdempotentWrite', resourceType: 'Cluster', name: 'kafka-cluster' });
  assert.match(String(bindingFromWire(bindingToWire(b))), /LITERAL kafka-cluster/);
  const c = allow({ patternType: 'PREFIXED' });
  assert.equal(bindingFromWire(bindingToWire(c)), c);
  assert.equal(filterFromWire(filterToWire(MATCH_ALL)), MATCH_ALL);
  assert.type(bindingFromWire({ ...bindingToWire(c), operation: 1 }), 'string');
  assert.match(bindingProblem(allow({ principal: 'alice' }))!, /TYPE:NAME/);
});

test('authorizer settings from Kafka keys', () => {
  assert.is(authorizerSettings(undefined, undefined, false), null);
  assert.is(authorizerSettings('none', 'User:a', false), null);
  assert.equal(authorizerSettings('org.apache.kafka.metadata.authorizer.StandardAuthorizer', 'User:admin; User:ops', false), { superUsers: ['User:admin', 'User:ops'], allowEveryoneIfNoAclFound: false });
  assert.equal(authorizerSettings('acl', undefined, true), { superUsers: [], allowEveryoneIfNoAclFound: true });
  assert.throws(() => authorizerSettings('com.example.Other', undefined, false), /authorizer/);
  assert.throws(() => authorizerSettings('acl', 'admin', false), /super-users/);
});

test("server.properties' authorizer.class.name, super.users and allow.everyone.if.no.acl.found reach the flags", () => {
  const file = 'node.id=1\nlog.dirs=/tmp/x\nauthorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\nsuper.users=User:admin;User:ops\nallow.everyone.if.no.acl.found=true\n';
  const { flags: f } = resolveBrokerFlags(BROKER_FLAGS, ['--config', 'server.properties'], {}, () => file);
  assert.equal(authorizerSettings(f.authorizer, f['super-users'], f['allow-everyone-if-no-acl-found']), { superUsers: ['User:admin', 'User:ops'], allowEveryoneIfNoAclFound: true });
  const off = resolveBrokerFlags(BROKER_FLAGS, ['--id', '1', '--data', '/tmp/x'], {}).flags;
  assert.is(authorizerSettings(off.authorizer, off['super-users'], off['allow-everyone-if-no-acl-found']), null, 'no authorizer unless configured');
});

test('ACLs written through one metadata store are seen by another one watching the same bucket', async () => {
  const kv = new MemoryKv();
  const a = await MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds });
  const b = await MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds });
  try {
    const writer = new AclStore(a);
    const cached = new AclAuthorizer(OFF);
    b.subscribe((next, prev) => next.acls !== prev.acls && cached.update(bindingsOf(next)));
    assert.not.ok(cached.authorize(req({})).allowed);
    await writer.add(allow({}));
    await writer.add(allow({})); // adding it again changes nothing
    await writer.add(allow({ name: 'orders-', patternType: 'PREFIXED', operation: 'Read' }));
    assert.is(writer.list(MATCH_ALL).length, 2);
    await b.waitFor((s) => bindingsOf(s).length === 2, 5_000);
    assert.ok(cached.authorize(req({})).allowed);
    const removed = await writer.remove({ ...MATCH_ALL, operation: 'Write' });
    assert.equal(removed, [allow({})]);
    await b.waitFor((s) => bindingsOf(s).length === 1, 5_000);
    assert.not.ok(cached.authorize(req({})).allowed, 'the removal holds');
    assert.equal(new AclStore(b).list(MATCH_ALL), [allow({ name: 'orders-', patternType: 'PREFIXED', operation: 'Read' })]);
  } finally {
    await a.close();
    await b.close();
  }
});

test.run();
