// Kastor's key partitioning agrees with the Java client's murmur2, as KafkaJS's DefaultPartitioner implements
// it, on many random keys and partition counts; plus known Java vectors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Partitioners } from 'kafkajs';
import { murmur2, partitionForKey, toPositive } from '../../src/client/partitioner.ts';

test('murmur2 matches values computed by the Java client', () => {
  // From Kafka's UtilsTest.testMurmur2.
  const cases: Array<[string, number]> = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ];
  for (const [key, expected] of cases) assert.is(murmur2(Buffer.from(key)), expected, key);
  assert.is(toPositive(-2147483648), 0);
});

test('same partition as KafkaJS DefaultPartitioner for 20k random keys', () => {
  const partitioner = Partitioners.DefaultPartitioner();
  let seed = 42;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < 20_000; i++) {
    const len = Math.floor(rand() * 40);
    const key = Buffer.alloc(len);
    for (let j = 0; j < len; j++) key[j] = Math.floor(rand() * 256);
    const numPartitions = 1 + Math.floor(rand() * 64);
    const partitionMetadata = Array.from({ length: numPartitions }, (_, p) => ({ partitionId: p, leader: 1 }));
    const theirs = partitioner({ topic: 't', partitionMetadata, message: { key, value: null } } as never);
    const ours = partitionForKey(key, numPartitions);
    if (theirs !== ours) assert.unreachable(`key ${key.toString('hex')} with ${numPartitions} partitions: KafkaJS ${theirs}, Kastor ${ours}`);
  }
});

test.run();
