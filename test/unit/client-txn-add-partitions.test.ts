// Kastor's transactional producer adds partitions to its transaction in as few AddPartitionsToTxn requests as
// it can (src/client/transactions.ts): the partitions of one drain go in one request, those asked for while it
// is in flight in the next one, one request at a time; a partition asked for twice is sent once; an error of
// the request fails every partition in it. Against a scripted coordinator (the cluster the manager talks to).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TransactionManager } from '../../src/client/transactions.ts';
import type { Cluster } from '../../src/client/cluster.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';

interface AddRequest {
  v3AndBelowTopics: Array<{ name: string; partitions: number[] }>;
}

function scripted(answer: (req: AddRequest) => number) {
  const requests: string[][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const release: Array<() => void> = [];
  const cluster = {
    withRetry: async <T>(_what: string, fn: () => Promise<T>) => fn(),
    findCoordinator: async () => 1,
    nodeConnection: async () => ({}),
    send: async (_nc: unknown, apiKey: number, build: (v: number) => unknown) => {
      if (apiKey === ApiKey.InitProducerId) return { version: 1, body: { errorCode: 0, producerId: 5n, producerEpoch: 0 } };
      assert.is(apiKey, ApiKey.AddPartitionsToTxn);
      const req = build(3) as AddRequest;
      requests.push(req.v3AndBelowTopics.flatMap((t) => t.partitions.map((p) => `${t.name}-${p}`)));
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise<void>((r) => release.push(r));
      inFlight--;
      const code = answer(req);
      return { version: 3, body: { resultsByTopicV3AndBelow: req.v3AndBelowTopics.map((t) => ({ name: t.name, resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: code })) })) } };
    },
  } as unknown as Cluster;
  const settle = async () => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  };
  return { cluster, requests, release, settle, maxInFlight: () => maxInFlight };
}

test('one request per drain, the next while it is in flight, one at a time', async () => {
  const s = scripted(() => ErrorCode.NONE);
  const txn = new TransactionManager(s.cluster, 'tx', 60_000);
  await txn.init();
  txn.begin();
  const first = [txn.addPartition('a', 0), txn.addPartition('a', 1), txn.addPartition('b', 0), txn.addPartition('a', 0)];
  await s.settle();
  assert.equal(s.requests, [['a-0', 'a-1', 'b-0']]);
  const second = [txn.addPartition('a', 2), txn.addPartition('b', 1), txn.addPartition('a', 1)];
  await s.settle();
  assert.is(s.requests.length, 1, 'the next request waits for the one in flight');
  s.release.shift()!();
  await Promise.all(first);
  await s.settle();
  assert.equal(s.requests[1], ['a-2', 'b-1'], 'a-1 was already being added: not asked again');
  s.release.shift()!();
  await Promise.all(second);
  assert.is(s.maxInFlight(), 1);
  assert.ok(txn.isAdded('a', 2) && txn.isAdded('b', 0) && txn.isAdded('a', 1));
});

test("the request's error fails each of its partitions", async () => {
  const s = scripted(() => ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  const txn = new TransactionManager(s.cluster, 'tx', 60_000);
  await txn.init();
  txn.begin();
  const adds = [txn.addPartition('a', 0), txn.addPartition('a', 1)].map((p) => p.then(() => null, (e: Error) => e.message));
  await s.settle();
  s.release.shift()!();
  const errors = await Promise.all(adds);
  assert.ok(errors.every((e) => e?.includes('TOPIC_AUTHORIZATION_FAILED')), errors.join(' | '));
  assert.not.ok(txn.isAdded('a', 0));
});

test.run();
