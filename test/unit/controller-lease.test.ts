// The lease writes on the `controller` key over the in-memory bucket, and how the metadata store reports
// them: a takeover's own revision is the controller epoch, renewals keep it (and the snapshot's object),
// a compare-and-set on a stale revision loses with LeaseLostError, a resignation empties the key.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryKv } from '../../src/metadata/memory-kv.ts';
import { MetadataStore } from '../../src/metadata/metadata-store.ts';
import { ControllerLease } from '../../src/metadata/controller-lease.ts';
import { LeaseLostError } from '../../src/metadata/errors.ts';
import { CONTROLLER_KEY } from '../../src/metadata/metadata-keys.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';
import { nodeIds } from '../../src/runtime/node/node-ids.ts';

test('takeover, renewal, lost compare-and-set and resignation as the snapshot sees them', async () => {
  const kv = new MemoryKv();
  const store = await MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds });
  const lease = new ControllerLease(kv, { wall: () => 1234 });
  try {
    await kv.put('unrelated', new Uint8Array([1])); // revisions are bucket-wide: the epoch is not 1
    const epoch = await lease.acquire({ brokerId: 2, incarnation: 'a' }, null);
    const s1 = await store.waitFor((s) => s.controller !== null, 1_000);
    assert.equal(s1.controller, { brokerId: 2, epoch });
    assert.is(store.keyRevision(CONTROLLER_KEY), epoch);
    assert.ok(epoch > 1);

    const r2 = await lease.renew({ brokerId: 2, incarnation: 'a' }, epoch, epoch);
    const s2 = await store.waitFor(() => store.keyRevision(CONTROLLER_KEY) === r2, 1_000);
    assert.is(s2.controller, s1.controller, 'a renewal keeps the controller object');

    // A standby that saw only the takeover revision loses; one that saw the renewal wins a new epoch.
    try {
      await lease.acquire({ brokerId: 3, incarnation: 'b' }, epoch);
      assert.unreachable('a stale compare-and-set must lose');
    } catch (err) {
      assert.instance(err, LeaseLostError);
      assert.is((err as LeaseLostError).code, 'LEASE_LOST');
    }
    try {
      await lease.acquire({ brokerId: 3, incarnation: 'b' }, null);
      assert.unreachable('creating a held lease must lose');
    } catch (err) {
      assert.instance(err, LeaseLostError);
    }
    const epoch3 = await lease.acquire({ brokerId: 3, incarnation: 'b' }, r2);
    const s3 = await store.waitFor((s) => s.controller?.brokerId === 3, 1_000);
    assert.equal(s3.controller, { brokerId: 3, epoch: epoch3 });
    // The old holder's renewal now loses.
    try {
      await lease.renew({ brokerId: 2, incarnation: 'a' }, epoch, r2);
      assert.unreachable('a taken lease cannot be renewed');
    } catch (err) {
      assert.instance(err, LeaseLostError);
    }
    // A resignation at a stale revision leaves the lease alone; at the held one it empties the key.
    await lease.resign(r2);
    assert.equal(store.snapshot().controller, { brokerId: 3, epoch: epoch3 });
    await lease.resign(epoch3);
    await store.waitFor((s) => s.controller === null, 1_000);
    const epoch4 = await lease.acquire({ brokerId: 1, incarnation: 'c' }, null);
    assert.equal((await store.waitFor((s) => s.controller !== null, 1_000)).controller, { brokerId: 1, epoch: epoch4 });
  } finally {
    await store.close();
  }
});

test.run();
