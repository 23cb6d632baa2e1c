// KIP-890 verification at the partition leader keeps a producer's pipelined batches in the order they arrived:
// while a transaction's first batch on a partition is verified with the coordinator, the producer's next batches
// (clients pipeline up to 5) wait behind it instead of overtaking it. librdkafka's 0103 (fatal_idempo sub-test,
// one record per batch) got OUT_OF_ORDER_SEQUENCE_NUMBER for sequence 2 when batch 2 arrived after batch 0 was
// appended (the transaction open, no verification needed) while batch 1 still waited for its own verification.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { verifyTransactionalBatch } from '../../src/txn/txn-verification.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch-builder.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import type { BrokerServices } from '../../src/broker/broker-services.ts';
import type { PartitionReplica } from '../../src/broker/partition-replica.ts';

const PRODUCER = 7;
const batch = (seq: number) => buildRecordBatch({ records: [{ value: `v${seq}` }], producerId: PRODUCER, producerEpoch: 0, baseSequence: seq, isTransactional: true, timestamp: 1000 });
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A leader replica and a coordinator whose verifications the test answers one by one. */
function fixture() {
  let open = false;
  const appended: number[] = [];
  const verifications: Array<(code: number) => void> = [];
  const replica = {
    topic: 't',
    partition: 0,
    producers: { table: { openTransaction: (id: number) => (open && id === PRODUCER ? 0 : null) } },
    verificationGuard: () => 0,
  } as unknown as PartitionReplica;
  const svc = { txn: { verify: () => new Promise<number>((resolve) => verifications.push(resolve)) } } as unknown as BrokerServices;
  /** The produce handler's steps: verify, then hand the batch to the replica, whose append opens the transaction. */
  const handle = async (seq: number) => {
    await verifyTransactionalBatch(svc, 'tid', replica, batch(seq));
    appended.push(seq);
    setImmediate(() => (open = true));
  };
  return { appended, verifications, handle };
}

test('a batch arriving after the first was appended waits for the one still being verified', async () => {
  const f = fixture();
  const h0 = f.handle(0);
  const h1 = f.handle(1);
  await tick();
  f.verifications[0]!(ErrorCode.NONE);
  await tick();
  await tick();
  assert.is(f.appended[0], 0, 'the verified first batch is appended');
  // Batch 2 arrives now that the transaction is open on the partition: it must not overtake batch 1.
  const h2 = f.handle(2);
  await tick();
  for (const answer of f.verifications.slice(1)) answer(ErrorCode.NONE);
  await Promise.all([h0, h1, h2]);
  assert.equal(f.appended, [0, 1, 2]);
  assert.is(f.verifications.length, 1, 'the batches behind a verified one of the same epoch share its verification');
});

test('batches behind a refused first batch are verified on their own, still in order', async () => {
  const f = fixture();
  const h0 = f.handle(0).then(
    () => 'appended',
    (err: Error) => err.message,
  );
  const h1 = f.handle(1);
  await tick();
  f.verifications[0]!(ErrorCode.INVALID_TXN_STATE);
  assert.match(await h0, /was not verified/);
  await tick();
  assert.is(f.verifications.length, 2, 'batch 1 asks the coordinator itself');
  f.verifications[1]!(ErrorCode.NONE);
  await h1;
  assert.equal(f.appended, [1]);
});

test.run();
