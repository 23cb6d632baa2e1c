// The periodic flush (flush=interval) syncs the logs that changed a few at a time: thousands of syncs queued at
// once in the thread pool made every other file operation of the broker wait behind them (a follower's
// truncation waited for its log's sync, and its whole fetcher for the truncation: seconds of stalled replication
// after a failover at 3,000 partitions). Three brokers on the memory runtime; each disk counts the log syncs in
// flight, each held until the next turn of the event loop.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryCluster } from '../../src/runtime/memory/memory-runtime.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { FaultyStorage } from '../../src/log/faulty-storage.ts';
import { batchOf } from '../helpers/log-fixtures.ts';
import { ask, drive, startBrokers } from '../helpers/memory-brokers.ts';

const PARTITIONS = 60;

test('the periodic flush syncs at most 8 logs of a broker at once, and every changed log in the end', async () => {
  const cluster = memoryCluster({ seed: 11 });
  const inFlight = new Map<number, number>();
  const most = new Map<number, number>();
  const { brokers, stop } = await startBrokers(cluster, (id, disk) => {
    const faulty = new FaultyStorage(disk);
    faulty.plan.delay = (op, path) => {
      if (op !== 'sync' || !path.endsWith('.log')) return undefined;
      const n = (inFlight.get(id) ?? 0) + 1;
      inFlight.set(id, n);
      most.set(id, Math.max(most.get(id) ?? 0, n));
      return new Promise<void>((resolve) => setImmediate(() => (inFlight.set(id, inFlight.get(id)! - 1), resolve())));
    };
    return faulty;
  });
  try {
    const created = await ask(cluster, brokers[0]!, ApiKey.CreateTopics, 4, {
      topics: [{ name: 'wide', numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    assert.is(created.topics[0]!.errorCode, ErrorCode.NONE);
    const replicas = () => brokers.flatMap((b) => b.services!.registry.all().filter((r) => r.topic === 'wide' && r.role === 'leader' && r.log));
    await drive(cluster, () => replicas().length === PARTITIONS, 'every partition led and open');
    most.clear();
    for (const b of brokers) {
      const mine = replicas().filter((r) => b.services!.registry.get('wide', r.partition) === r);
      const produced = await ask(cluster, b, ApiKey.Produce, 7, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 10_000,
        topicData: [{ name: 'wide', partitionData: mine.map((r) => ({ index: r.partition, records: batchOf(`p${r.partition}`, 2) })) }],
      });
      assert.ok(produced.responses[0]!.partitionResponses.every((p) => p.errorCode === ErrorCode.NONE));
    }
    await drive(cluster, () => replicas().every((r) => r.log!.recoveryPoint === 2), 'every log flushed');
    const perBroker = brokers.map((b) => replicas().filter((r) => b.services!.registry.get('wide', r.partition) === r).length);
    assert.ok(Math.max(...perBroker) > 8, `a broker leads more than 8 partitions (${perBroker})`);
    const peaks = [...most.values()];
    assert.ok(Math.max(...peaks) <= 8, `log syncs in flight at once: ${peaks}`);
    assert.ok(Math.max(...peaks) >= 2, `the pass syncs logs side by side: ${peaks}`);
  } finally {
    await stop();
  }
});

test.run();
