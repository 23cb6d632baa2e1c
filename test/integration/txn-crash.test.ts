// Transactions (KIP-98) across crashes, on 3 real broker processes: the transaction coordinator is SIGKILLed
// mid-transaction (a KafkaJS producer then commits at the new coordinator, or fails and the transaction is
// aborted) and the moment it answered EndTxn(commit) (the new coordinator, loading PrepareCommit from
// __transaction_state, writes the markers); and a producer that vanishes mid-transaction is aborted after its
// transaction.timeout.ms, which releases the last stable offset. What read_committed consumers (kcat, librdkafka)
// see is the check throughout: a transaction's records on every partition or on none, each exactly once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Kafka, logLevel } from 'kafkajs';
import { startTestCluster, type TestCluster } from '../../src/testing/index.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { partitionForTransactionalId, TXN_STATE_TOPIC } from '../../src/txn/txn-topic.ts';
import { until } from '../helpers/until.ts';
import { addPartitions, coordinatorOf, endTxn, initTransactions, latestOffsets, readCommittedKcat, sendTransactional, waitStable } from '../helpers/txn-requests.ts';

let cluster: TestCluster;
let kafka: Kafka;
/** The brokers' log lines about transactions, shown when a test fails. */
const txnLog: string[] = [];

test.before(async () => {
  cluster = await startTestCluster({
    brokers: 3,
    topics: [
      { name: 'txc-a', partitions: 3, replicationFactor: 3 },
      { name: 'txc-b', partitions: 3, replicationFactor: 3 },
      { name: 'txc-c', partitions: 2, replicationFactor: 3 },
      { name: 'txc-d', partitions: 2, replicationFactor: 3 },
    ],
    onBrokerLog: (id, line) => {
      if (/transaction|marker|coordinating/i.test(line)) txnLog.push(`[broker ${id}] ${line}`);
    },
  });
  kafka = new Kafka({ clientId: 'kastor-txn-crash', brokers: cluster.bootstrapServers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 12, initialRetryTime: 200, maxRetryTime: 2_000 } });
});
test.after(async () => {
  await cluster?.close();
});

/** Runs a test body, printing the brokers' transaction log lines if it fails. */
async function withLogs(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    process.stderr.write(`broker transaction logs:\n${txnLog.slice(-60).join('\n')}\n`);
    throw err;
  }
}

/** Brings a killed broker back and waits until every partition has all its replicas in sync again. */
async function restore(id: number): Promise<void> {
  await cluster.restartBroker(id);
  await cluster.waitForInSync(undefined, { timeoutMs: 30_000 });
}

const count = (xs: string[], x: string) => xs.filter((y) => y === x).length;

test('the coordinator is killed between sends: the transaction commits once at the new coordinator, or is aborted whole', () =>
  withLogs(async () => {
    const expected = ['0:a-0', '1:a-1', '2:a-2', '0:a-3'];
    const producer = kafka.producer({ transactionalId: 'crash-a', idempotent: true, maxInFlightRequests: 1, transactionTimeout: 15_000 });
    await producer.connect();
    let coordinator = -1;
    let committed = false;
    let failure: Error | null = null;
    try {
      const txn = await producer.transaction();
      await txn.send({ topic: 'txc-a', messages: [{ value: 'a-0', partition: 0 }, { value: 'a-1', partition: 1 }] });
      coordinator = await coordinatorOf(cluster, 'crash-a');
      await cluster.killBroker(coordinator);
      try {
        // A new partition joins the transaction at the new coordinator (AddPartitionsToTxn after the load).
        await txn.send({ topic: 'txc-a', messages: [{ value: 'a-2', partition: 2 }, { value: 'a-3', partition: 0 }] });
        await txn.commit();
        committed = true;
      } catch (err) {
        failure = err as Error;
        await txn.abort().catch(() => {});
      }
    } finally {
      await producer.disconnect().catch(() => {});
    }
    const next = await coordinatorOf(cluster, 'crash-a'); // a live broker: another one took over
    // Committed, aborted, or (if even the abort failed) aborted by the coordinator at the transaction's timeout.
    await waitStable(cluster, 'txc-a', [0, 1, 2], 30_000);
    const got = (await readCommittedKcat(cluster, 'txc-a')).filter((r) => r.includes('a-'));
    process.stderr.write(`(a) coordinator ${coordinator} killed, new coordinator ${next}; ${committed ? 'committed' : `failed: ${failure?.message}`}; read_committed: ${got.join(' ')}\n`);
    if (committed) for (const r of expected) assert.is(count(got, r), 1, `${r} is read exactly once: ${got.join(' ')}`);
    else assert.equal(got, [], `an unfinished transaction shows nothing: ${got.join(' ')}`);
    assert.is(got.length, committed ? expected.length : 0, `nothing else is read: ${got.join(' ')}`);

    // The id works at the new coordinator: the next producer's transaction commits.
    const again = kafka.producer({ transactionalId: 'crash-a', idempotent: true, maxInFlightRequests: 1 });
    await again.connect();
    try {
      const txn = await again.transaction();
      await txn.send({ topic: 'txc-a', messages: [0, 1, 2].map((p) => ({ value: `a2-${p}`, partition: p })) });
      await txn.commit();
    } finally {
      await again.disconnect();
    }
    await waitStable(cluster, 'txc-a', [0, 1, 2], 15_000);
    const after = await readCommittedKcat(cluster, 'txc-a');
    for (const p of [0, 1, 2]) assert.is(count(after, `${p}:a2-${p}`), 1, `the next transaction's record on partition ${p}: ${after.join(' ')}`);
    await restore(coordinator);
  }));

test('the coordinator is killed the moment it answered EndTxn(commit): the new coordinator finishes the commit', () =>
  withLogs(async () => {
    const p = await initTransactions(cluster, 'crash-b', 60_000);
    const coordinator = await coordinatorOf(cluster, 'crash-b');
    assert.equal(await addPartitions(cluster, coordinator, p, 'txc-b', [0, 1, 2]), [ErrorCode.NONE, ErrorCode.NONE, ErrorCode.NONE]);
    const expected: string[] = [];
    for (const partition of [0, 1, 2]) {
      const values = [`b-${partition}-0`, `b-${partition}-1`];
      await sendTransactional(cluster, p, 'txc-b', partition, values);
      expected.push(...values.map((v) => `${partition}:${v}`));
    }
    assert.equal(await latestOffsets(cluster, 'txc-b', [0, 1, 2], true), [0, 0, 0], 'the open transaction holds every partition');
    const code = await endTxn(cluster, coordinator, p, true);
    await cluster.killBroker(coordinator);
    assert.is(code, ErrorCode.NONE, 'EndTxn(commit) was answered: PrepareCommit is written');
    // What the killed coordinator's markers had reached (informative: the race decides).
    const stableBefore = await latestOffsets(cluster, 'txc-b', [0, 1, 2], true);

    const next = await coordinatorOf(cluster, 'crash-b'); // a live broker: another one took over
    await waitStable(cluster, 'txc-b', [0, 1, 2], 20_000);
    const got = (await readCommittedKcat(cluster, 'txc-b')).sort();
    process.stderr.write(`(b) coordinator ${coordinator} killed after EndTxn, new coordinator ${next}; LSO right after the kill ${stableBefore}; read_committed: ${got.join(' ')}\n`);
    assert.equal(got, expected.sort(), 'every record of the committed transaction, on every partition, exactly once');

    // The transaction is complete at the new coordinator: the producer's next InitProducerId gets the next epoch.
    const resumed = await initTransactions(cluster, 'crash-b', 60_000);
    assert.is(resumed.producerId, p.producerId);
    assert.is(resumed.producerEpoch, p.producerEpoch + 1);
    await restore(coordinator);
  }));

test('a producer that vanishes mid-transaction is aborted after transaction.timeout.ms, and the LSO moves past it', () =>
  withLogs(async () => {
    const zombie = await initTransactions(cluster, 'crash-c', 3_000);
    const coordinator = await coordinatorOf(cluster, 'crash-c');
    assert.equal(await addPartitions(cluster, coordinator, zombie, 'txc-c', [0, 1]), [ErrorCode.NONE, ErrorCode.NONE]);
    await sendTransactional(cluster, zombie, 'txc-c', 0, ['z-0']);
    await sendTransactional(cluster, zombie, 'txc-c', 1, ['z-1', 'z-2']);
    // ... and the producer is gone. Another one writes after it.
    const plain = kafka.producer();
    await plain.connect();
    try {
      await plain.send({ topic: 'txc-c', acks: -1, messages: [{ value: 'after-0', partition: 0 }, { value: 'after-1', partition: 1 }] });
    } finally {
      await plain.disconnect();
    }
    const started = Date.now();
    const held = await latestOffsets(cluster, 'txc-c', [0, 1], true);
    assert.equal(held, [0, 0], 'the open transaction holds the last stable offset at its first record');

    await waitStable(cluster, 'txc-c', [0, 1], 15_000);
    const waited = Date.now() - started;
    const got = (await readCommittedKcat(cluster, 'txc-c')).sort();
    process.stderr.write(`(c) the LSO moved ${waited} ms after the other producer's write; read_committed: ${got.join(' ')}\n`);
    assert.equal(got, ['0:after-0', '1:after-1'], 'the later records are read, the abandoned transaction never');

    // The coordinator fenced the vanished producer (epoch bumped) when it aborted: its commit is refused.
    const late = await endTxn(cluster, await coordinatorOf(cluster, 'crash-c'), zombie, true);
    assert.ok(late === ErrorCode.PRODUCER_FENCED || late === ErrorCode.INVALID_PRODUCER_EPOCH, `the zombie's EndTxn is fenced (error ${late})`);
    // ... and so is a batch it sends at its old epoch (the abort marker carried the bumped one).
    const refused = await sendTransactional(cluster, zombie, 'txc-c', 0, ['z-late']).then(
      () => 'written',
      (err: Error) => err.message,
    );
    assert.match(refused, new RegExp(`error (${ErrorCode.INVALID_PRODUCER_EPOCH}|${ErrorCode.PRODUCER_FENCED})$`), `the zombie's late batch is refused: ${refused}`);
    const stillGot = (await readCommittedKcat(cluster, 'txc-c')).sort();
    assert.equal(stillGot, ['0:after-0', '1:after-1']);
  }));

test('a vanished producer whose coordinator and partition leader then crash: the new leader holds the LSO, the new coordinator aborts it at its timeout', () =>
  withLogs(async () => {
    // A transactional id coordinated by the leader of txc-d-0, so one kill moves both.
    const state = cluster.metadata().topics[TXN_STATE_TOPIC]!.partitions;
    const leader0 = cluster.partitionState('txc-d', 0).leader;
    const id = Array.from({ length: 200 }, (_, i) => `crash-d-${i}`).find((t) => state[partitionForTransactionalId(t, state.length)]!.leader === leader0);
    assert.ok(id, `a transactional id coordinated by broker ${leader0}`);
    const zombie = await initTransactions(cluster, id!, 10_000);
    const coordinator = await coordinatorOf(cluster, id!);
    assert.is(coordinator, leader0);
    assert.equal(await addPartitions(cluster, coordinator, zombie, 'txc-d', [0, 1]), [ErrorCode.NONE, ErrorCode.NONE]);
    await sendTransactional(cluster, zombie, 'txc-d', 0, ['z-0', 'z-1']);
    await sendTransactional(cluster, zombie, 'txc-d', 1, ['z-2']);
    const opened = Date.now();
    await cluster.killBroker(coordinator);
    const newLeader = await cluster.waitForLeader('txc-d', 0, { notBroker: coordinator, timeoutMs: 15_000 });

    const plain = kafka.producer();
    await plain.connect();
    try {
      await plain.send({ topic: 'txc-d', acks: -1, messages: [{ value: 'after-0', partition: 0 }, { value: 'after-1', partition: 1 }] });
    } finally {
      await plain.disconnect();
    }
    let lso: number[] = [];
    let hw: number[] = [];
    await until('both partitions\' leaders answer ListOffsets', async () => {
      [lso, hw] = await Promise.all([latestOffsets(cluster, 'txc-d', [0, 1], true), latestOffsets(cluster, 'txc-d', [0, 1], false)]);
      return [...lso, ...hw].every((o) => o >= 0);
    }, 5_000);
    const heldFor = Date.now() - opened;
    process.stderr.write(`(d) broker ${coordinator} killed; txc-d-0 led by ${newLeader}; ${heldFor} ms after the sends LSO ${lso} HW ${hw}\n`);
    assert.ok(heldFor < 10_000, `checked before the transaction's timeout (${heldFor} ms)`);
    assert.equal(lso, [0, 0], 'the new leader rebuilt the open transaction: the LSO stays at its first record');
    assert.equal(hw, [3, 2]);

    await waitStable(cluster, 'txc-d', [0, 1], 25_000);
    const got = (await readCommittedKcat(cluster, 'txc-d')).sort();
    assert.equal(got, ['0:after-0', '1:after-1'], 'the later records are read, the abandoned transaction never');
    const late = await endTxn(cluster, await coordinatorOf(cluster, id!), zombie, true);
    assert.ok(late === ErrorCode.PRODUCER_FENCED || late === ErrorCode.INVALID_PRODUCER_EPOCH, `the zombie's EndTxn is fenced (error ${late})`);
  }));

test.run();
