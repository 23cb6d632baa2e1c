// A replica tells its log how far it holds no producer's batch (PartitionReplica.noteProducerFree, at the broker's
// periodic checkpoint): to the log end while its producer state is empty, never past a producer's or a control
// batch, and a restarted replica reads only from there to rebuild that state.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PartitionReplica } from '../../src/broker/partition-replica.ts';
import { MemoryStorage } from '../../src/log/memory-storage.ts';
import { SimulatedClock } from '../../src/runtime/memory/simulated-clock.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch.ts';
import { batchOf } from '../helpers/log-fixtures.ts';

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

test('the producer-free mark follows the log end until a producer batch, then stays; a restart rebuilds from it', async () => {
  const storage = new MemoryStorage();
  const r = await leaderOn(storage);
  for (let i = 0; i < 4; i++) await r.produce(batchOf(`p${i}`, 3), 1, 1_000);
  await r.noteProducerFree();
  assert.is(r.log!.producerFreeBelow, 12, 'plain batches only: free to the log end');
  await r.produce(idempotent(0), 1, 1_000);
  await r.produce(batchOf('after', 2), 1, 1_000);
  await r.noteProducerFree();
  assert.is(r.log!.producerFreeBelow, 12, 'a producer batch at offset 12: the mark stays below it');
  await r.log!.checkpoint();
  await r.stop(false);

  const again = await leaderOn(storage);
  assert.is(again.log!.producerFreeBelow, 12);
  assert.equal(again.producers.table.entry(9)?.batches.map((b) => b.firstOffset), [12], 'the producer batch was read back');
  await again.stop(false);
});

test.run();
