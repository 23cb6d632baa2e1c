// A replica's producer-state snapshots: captured at its log end with every producer's batch applied (for the
// broker's periodic checkpoint), written by a clean stop, and read back by a restarted replica, which then reads
// no batch to rebuild the state and still answers a producer's retry as a duplicate.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PartitionReplica } from '../../src/broker/partition-replica.ts';
import { PartitionLog } from '../../src/log/partition-log.ts';
import { MemoryStorage } from '../../src/log/memory-storage.ts';
import { SimulatedClock } from '../../src/runtime/memory/simulated-clock.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch.ts';
import { batchOf, countLogReads } from '../helpers/log-fixtures.ts';

const assignment = { leader: 1, leaderEpoch: 1, replicas: [1], isr: [1] };

async function leaderOn(storage: MemoryStorage): Promise<PartitionReplica> {
  const r = new PartitionReplica({
    topic: 't', topicId: 'a'.repeat(32), partition: 0, brokerId: 1, assignment, dataDir: '/b1', storage,
    logConfig: {}, maxMessageBytes: 1 << 20, minInsyncReplicas: 1, clock: new SimulatedClock(1_000), logger: silentLogger,
  });
  r.start();
  const deadline = Date.now() + 5_000;
  while (r.role !== 'leader') {
    if (Date.now() > deadline) throw new Error(`replica did not lead (${r.role})`);
    await new Promise((done) => setImmediate(done));
  }
  return r;
}

const idempotent = (seq: number) =>
  buildRecordBatch({ records: [{ value: `i${seq}` }], producerId: 9, producerEpoch: 0, baseSequence: seq, timestamp: 1000 });

test('a capture holds every producer batch at the log end; a clean stop writes it and a restart reads no batch', async () => {
  const storage = new MemoryStorage();
  const r = await leaderOn(storage);
  for (let i = 0; i < 4; i++) await r.produce(batchOf(`p${i}`, 3), 1, 1_000);
  const log = r.log!;
  assert.equal(await r.captureProducerState(log), { offset: 12, lines: [], truncationCount: 0 }, 'plain batches only: an empty state at the log end');
  await r.produce(idempotent(0), 1, 1_000);
  const at13 = await r.captureProducerState(log);
  await log.flush();
  assert.ok(await log.writeProducerSnapshot(at13!.offset, at13!.lines, at13!.truncationCount));
  assert.is(await r.captureProducerState(log), null, 'the snapshot on disk is at the log end: nothing to encode');
  await r.produce(batchOf('after', 2), 1, 1_000);
  assert.equal(await r.captureProducerState(log), { offset: 15, lines: ['p 9 0 -1 1000 0,0,12,12,1000'], truncationCount: 0 });
  await r.stop(false);
  assert.is(log.producerSnapshot.offset, 15, 'written by the clean stop, at the log end');

  // What opening the log alone reads (recovery checks the batch its index points at), then the replica's start.
  const read = countLogReads(storage);
  await (await PartitionLog.open({ dir: '/b1/t-0', storage, clock: new SimulatedClock(1_000) })).close();
  const recovery = read();
  const again = await leaderOn(storage);
  assert.is(read() - recovery, recovery, 'no batch read to rebuild the producer state');
  assert.equal(again.producers.table.entry(9)?.batches.map((b) => b.firstOffset), [12], 'the producer came back from the snapshot');
  const retry = await again.produce(idempotent(0), 1, 1_000);
  assert.is(retry.baseOffset, 12, 'a retry of the stored batch is a duplicate, answered with its offset');
  assert.is(again.log!.logEndOffset, 15, 'and not appended again');
  assert.is(await again.captureProducerState(log), null, 'a log the replica no longer holds');
  await again.stop(false);
});

test.run();
