// The next transaction of a transactional id right after a commit, through three whole brokers (memory runtime):
// AddPartitionsToTxn sent the moment EndTxn is answered — while the coordinator is still writing the markers of
// the previous transaction — is held until that transaction is complete and then answered NONE, not
// CONCURRENT_TRANSACTIONS (which would cost the producer a retry); the new transaction is Ongoing. InitProducerId
// is held the same way. The coordinator's marker writer is gated by the test to hold the completion open.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryCluster } from '../../src/runtime/memory/memory-runtime.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { ask, createOrdersEverywhere, drive, findTxnCoordinator, send, startBrokers } from '../helpers/memory-brokers.ts';

const TXN_ID = 'tx-next';

test('the next AddPartitionsToTxn and InitProducerId wait for the previous transaction to complete', async () => {
  const cluster = memoryCluster({ seed: 43 });
  const { brokers, stop } = await startBrokers(cluster);
  try {
    await createOrdersEverywhere(cluster, brokers);
    const coordinator = await findTxnCoordinator(cluster, brokers, TXN_ID);
    const shard = coordinator.services!.txn!.route(TXN_ID).shard!;
    const init = await ask(cluster, coordinator, ApiKey.InitProducerId, 3, { transactionalId: TXN_ID, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    assert.is(init.errorCode, ErrorCode.NONE);
    const addBody = {
      v3AndBelowTransactionalId: TXN_ID,
      v3AndBelowProducerId: init.producerId,
      v3AndBelowProducerEpoch: init.producerEpoch,
      v3AndBelowTopics: [{ name: 'orders', partitions: [0] }],
    };
    const addCode = (r: { resultsByTopicV3AndBelow: Array<{ resultsByPartition: Array<{ partitionErrorCode: number }> }> }) => r.resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode;
    const state = () => shard.metadata(TXN_ID)!.state;
    // The markers of each commit are held back until the test lets them go (the coordinator's marker writer, gated).
    const txn = coordinator.services!.txn! as unknown as { writeMarkers: (...args: unknown[]) => Promise<boolean> };
    const writeMarkers = txn.writeMarkers.bind(txn);
    let gate: (() => void) | null = null;
    txn.writeMarkers = async (...args: unknown[]) => {
      await new Promise<void>((r) => (gate = r));
      return writeMarkers(...args);
    };
    /** EndTxn(commit), then `next` while the markers are held, then the markers let go; both answers. */
    const commitThen = async <K extends number>(apiKey: K, body: Parameters<typeof send<K>>[3]) => {
      const ended = send(coordinator, ApiKey.EndTxn, 3, { transactionalId: TXN_ID, producerId: init.producerId, producerEpoch: init.producerEpoch, committed: true });
      await drive(cluster, () => ended.answered() && gate !== null, 'EndTxn answered, its markers held');
      assert.is(state(), 'PrepareCommit');
      const next = send(coordinator, apiKey, 3, body);
      let steps = 0;
      await drive(cluster, () => steps++ >= 20, 'a moment (less than the 500 ms hold)');
      assert.not.ok(next.answered(), 'answered while the previous transaction is still being completed');
      const release = gate!;
      gate = null;
      release();
      await drive(cluster, () => next.answered(), 'the held request answered');
      return { ended: ended.answer(), next: next.answer() };
    };

    assert.is(addCode(await ask(cluster, coordinator, ApiKey.AddPartitionsToTxn, 3, addBody)), ErrorCode.NONE);
    for (let round = 0; round < 3; round++) {
      const { ended, next } = await commitThen(ApiKey.AddPartitionsToTxn, addBody);
      assert.is(ended.errorCode, ErrorCode.NONE, `round ${round}: end`);
      assert.is(addCode(next), ErrorCode.NONE, `round ${round}: the next transaction's add, held until the commit completed`);
      assert.is(state(), 'Ongoing');
    }
    // InitProducerId while a commit is being completed: held, then a new epoch.
    const { next: again } = await commitThen(ApiKey.InitProducerId, { transactionalId: TXN_ID, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    assert.is(again.errorCode, ErrorCode.NONE);
    assert.is(again.producerEpoch, init.producerEpoch + 1);
    assert.is(state(), 'Empty');
  } finally {
    await stop();
  }
});

test.run();
