// The transaction coordinator's timers against a real broker process, with the broker's
// `transactional.id.expiration.ms` and `transaction.max.timeout.ms` set low: an idle transactional id is
// removed (DescribeTransactions answers TRANSACTIONAL_ID_NOT_FOUND, ListTransactions drops it, and after a
// restart its next producer starts over with a new producer id), an id with an open transaction is kept past the
// expiration and expires once it is committed and idle, and a producer asking for a timeout above
// the maximum is refused with INVALID_TRANSACTION_TIMEOUT.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Kafka } from '../../src/client/index.ts';
import type { Admin } from '../../src/client/admin.ts';
import type { Producer } from '../../src/client/producer.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { startSingleBroker, type SingleBroker } from '../helpers/single-broker.ts';
import { until } from '../helpers/until.ts';

const TOPIC = 'txexp';
const EXPIRATION_MS = 1500;

let env: SingleBroker;
let kafka: Kafka;
let admin: Admin;
const producers: Producer[] = [];

test.before(async () => {
  env = await startSingleBroker(['--transactional-id-expiration-ms', String(EXPIRATION_MS), '--transaction-max-timeout-ms', '20000']);
  kafka = new Kafka({ bootstrap: [env.bootstrap], clientId: 'txexp', retry: { retries: 20, maxBackoffMs: 500 } });
  admin = kafka.admin();
  await admin.createTopics([{ topic: TOPIC, numPartitions: 1, replicationFactor: 1 }], { waitForLeaders: true });
});
test.after(async () => {
  for (const p of producers) await p.close().catch(() => {});
  await admin?.close();
  await env?.close();
});

function producer(transactionalId: string, transactionTimeoutMs = 10_000): Producer {
  const p = kafka.producer({ transactionalId, transactionTimeoutMs });
  producers.push(p);
  return p;
}

/** The id's description, or the Kafka error code its coordinator answers. */
async function describe(id: string): Promise<{ state: string; producerId: bigint } | number> {
  try {
    const [d] = await admin.describeTransactions([id]);
    return d!;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    throw err;
  }
}

test('a producer asking for more than transaction.max.timeout.ms is refused with INVALID_TRANSACTION_TIMEOUT', async () => {
  const p = producer('txexp-too-long', 30_000);
  const err = await p.initTransactions().then(
    () => null,
    (e: Error & { code?: number }) => e,
  );
  assert.ok(err, 'initTransactions succeeded');
  assert.is(err!.code, ErrorCode.INVALID_TRANSACTION_TIMEOUT, String(err));
});

test('an idle transactional id expires; an open transaction keeps its id until it ends; the id starts over after a restart', async () => {
  const idle = producer('txexp-idle');
  await idle.initTransactions();
  idle.beginTransaction();
  await idle.send({ topic: TOPIC, messages: [{ value: 'one' }] });
  await idle.commitTransaction();
  const before = await describe('txexp-idle');
  assert.ok(typeof before !== 'number' && before.state === 'CompleteCommit', `described ${JSON.stringify(before, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`);

  const open = producer('txexp-open');
  await open.initTransactions();
  open.beginTransaction();
  await open.send({ topic: TOPIC, messages: [{ value: 'pending' }] });

  await until('the idle id expired', async () => (await describe('txexp-idle')) === ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, 15_000);
  const listed = await admin.listTransactions();
  assert.not.ok(listed.some((t) => t.transactionalId === 'txexp-idle'), 'ListTransactions still lists the expired id');
  // Well past the expiration, the id with an open transaction is still there and still Ongoing.
  const stillOpen = await describe('txexp-open');
  assert.ok(typeof stillOpen !== 'number' && stillOpen.state === 'Ongoing', `open id: ${String(typeof stillOpen === 'number' ? stillOpen : stillOpen.state)}`);
  await open.commitTransaction();

  await until('the committed id expired too', async () => (await describe('txexp-open')) === ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, 15_000);

  // After a restart (the coordinator reloads __transaction_state, tombstones included) the id starts over: a new
  // producer id, so nothing of the old one's sequence state at the partitions is inherited.
  await env.broker.restart();
  const again = producer('txexp-idle');
  await again.initTransactions();
  const after = await describe('txexp-idle');
  assert.ok(typeof after !== 'number' && typeof before !== 'number' && after.producerId !== before.producerId, 'a new producer id after expiration');
});

test.run();
