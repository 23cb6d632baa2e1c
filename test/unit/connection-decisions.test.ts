// Authorization decisions cached per connection (src/security/connection-decisions.ts through BrokerAuthorizer):
// over a real MetadataStore and AclStore on a memory bucket, a decision asked again on the same connection is
// not evaluated again (counted by BrokerAuthorizer.evaluations), another connection has its own, an ACL added or
// removed through the store changes the next decision on the same connection, the cache keeps at most its bound,
// and a connection whose principal changed is not answered from the old principal's decisions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BrokerAuthorizer } from '../../src/security/broker-authorizer.ts';
import { AclStore, bindingsOf } from '../../src/security/acl-store.ts';
import { MATCH_ALL, type AclBinding } from '../../src/security/acl.ts';
import type { ConnectionInfo } from '../../src/broker/request-handler.ts';
import type { ConnectionSecurity } from '../../src/security/connection-security.ts';
import { MemoryKv } from '../../src/metadata/memory-kv.ts';
import { MetadataStore } from '../../src/metadata/metadata-store.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';
import { nodeIds } from '../../src/runtime/node/node-ids.ts';
import { createLogger } from '../../src/util/logger.ts';

const binding = (b: Partial<AclBinding>): AclBinding => ({ resourceType: 'Topic', name: 'a', patternType: 'LITERAL', principal: 'User:alice', host: '*', operation: 'Write', permission: 'ALLOW', ...b });
const connection = (id: number, principal = 'User:alice'): ConnectionInfo => ({ id, remote: `127.0.0.1:${5000 + id}`, closed: false, security: { principal, peerHost: '127.0.0.1' } as ConnectionSecurity });

async function withAuthorizer(maxCachedPerConnection: number | undefined, body: (authz: BrokerAuthorizer, acls: AclStore, applied: (n: number) => Promise<void>) => Promise<void>) {
  const store = await MetadataStore.open(new MemoryKv(), { clock: nodeClock, ids: nodeIds });
  const authz = new BrokerAuthorizer({ settings: { superUsers: [], allowEveryoneIfNoAclFound: false }, metadata: store, logger: createLogger({ now: () => 0, sink: () => {} }), maxCachedPerConnection });
  try {
    await body(authz, new AclStore(store), (n) => store.waitFor((s) => bindingsOf(s).length === n, 5_000).then(() => {}));
  } finally {
    authz.stop();
    await store.close();
  }
}

test('a decision is evaluated once per connection and then served from its cache', async () => {
  await withAuthorizer(undefined, async (authz, acls, applied) => {
    await acls.add(binding({}));
    await applied(1);
    const alice = connection(1);
    const start = authz.evaluations;
    for (let i = 0; i < 100; i++) assert.ok(authz.allowed(alice, 'Produce', 'Write', 'Topic', 'a'));
    assert.is(authz.evaluations - start, 1, 'one evaluation for 100 asks');
    for (let i = 0; i < 100; i++) assert.not.ok(authz.allowed(alice, 'Produce', 'Write', 'Topic', 'b', true));
    assert.is(authz.evaluations - start, 2, 'another resource is another decision');
    authz.operations(alice, 'Topic', 'a');
    const afterOps = authz.evaluations;
    authz.operations(alice, 'Topic', 'a');
    assert.is(authz.evaluations, afterOps, 'KIP-430 operations come from the same cache');
    assert.ok(authz.allowed(connection(2), 'Produce', 'Write', 'Topic', 'a'));
    assert.is(authz.evaluations, afterOps + 1, 'another connection has a cache of its own');
  });
});

test('an ACL added or removed changes the next decision on the same connection', async () => {
  await withAuthorizer(undefined, async (authz, acls, applied) => {
    const alice = connection(1);
    assert.not.ok(authz.allowed(alice, 'Produce', 'Write', 'Topic', 'a', true), 'no ACL: denied');
    assert.not.ok(authz.allowed(alice, 'Produce', 'Write', 'Topic', 'a', true), 'cached');
    await acls.add(binding({}));
    await applied(1);
    assert.ok(authz.allowed(alice, 'Produce', 'Write', 'Topic', 'a'), 'the ALLOW holds at once');
    await acls.add(binding({ permission: 'DENY', principal: 'User:*' }));
    await applied(2);
    assert.not.ok(authz.allowed(alice, 'Produce', 'Write', 'Topic', 'a', true), 'the DENY added holds at once');
    const evaluated = authz.evaluations;
    assert.not.ok(authz.allowed(alice, 'Produce', 'Write', 'Topic', 'a', true));
    assert.is(authz.evaluations, evaluated, 'and is cached until the next change');
    assert.is((await acls.remove({ ...MATCH_ALL, permission: 'DENY' })).length, 1);
    await applied(1);
    assert.ok(authz.allowed(alice, 'Produce', 'Write', 'Topic', 'a'), 'the DENY removed: allowed again');
  });
});

test('the cache is bounded: past its size the oldest decision goes', async () => {
  await withAuthorizer(3, async (authz) => {
    const alice = connection(1);
    for (const t of ['t1', 't2', 't3', 't4']) authz.allowed(alice, 'Fetch', 'Read', 'Topic', t, true);
    const n = authz.evaluations;
    authz.allowed(alice, 'Fetch', 'Read', 'Topic', 't4', true);
    authz.allowed(alice, 'Fetch', 'Read', 'Topic', 't2', true);
    assert.is(authz.evaluations, n, 't2..t4 kept');
    authz.allowed(alice, 'Fetch', 'Read', 'Topic', 't1', true);
    assert.is(authz.evaluations, n + 1, 't1 was dropped');
  });
});

test("a connection whose principal changed is not answered from the old principal's decisions", async () => {
  await withAuthorizer(undefined, async (authz, acls, applied) => {
    await acls.add(binding({}));
    await applied(1);
    const conn = connection(1);
    assert.ok(authz.allowed(conn, 'Produce', 'Write', 'Topic', 'a'));
    (conn.security as { principal: string }).principal = 'User:mallory';
    assert.not.ok(authz.allowed(conn, 'Produce', 'Write', 'Topic', 'a', true));
  });
});

test.run();
