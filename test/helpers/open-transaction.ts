// A broker process with its dashboard (--http) and a transaction left open on it, for the dashboard's
// transaction view tests: Kastor's transactional producer `openId` has begun a transaction and sent records
// to partitions 0 (two) and 1 (one) of `topic` without committing, so both partitions' last stable offsets
// stay at 0 while their high watermarks move on; `idleId` is initialised only (Empty, nothing open).
// `close()` closes the clients and stops the broker and its nats-server.
import { Kafka, type Admin, type Producer } from '../../src/client/index.ts';
import { freePort } from '../../src/testing/nats-server.ts';
import { startSingleBroker, type SingleBroker } from './single-broker.ts';

export interface OpenTransaction {
  env: SingleBroker;
  /** The dashboard's base URL. */
  base: string;
  open: Producer;
  idle: Producer;
  close(): Promise<void>;
}

export interface OpenTransactionOptions {
  topic: string;
  openId: string;
  idleId: string;
  transactionTimeoutMs: number;
}

export async function startOpenTransaction(o: OpenTransactionOptions): Promise<OpenTransaction> {
  const httpPort = await freePort();
  const env = await startSingleBroker(['--http', `127.0.0.1:${httpPort}`]);
  const kafka = new Kafka({ bootstrap: [env.bootstrap], clientId: 'open-txn', retry: { retries: 20, initialBackoffMs: 50, maxBackoffMs: 500 } });
  const clients: Array<Admin | Producer> = [];
  const close = async () => {
    for (const c of clients) await c.close().catch(() => {});
    await env.close();
  };
  try {
    const admin = kafka.admin();
    clients.push(admin);
    await admin.createTopics([{ topic: o.topic, numPartitions: 2, replicationFactor: 1 }], { waitForLeaders: true });
    const open = kafka.producer({ transactionalId: o.openId, transactionTimeoutMs: o.transactionTimeoutMs });
    const idle = kafka.producer({ transactionalId: o.idleId, transactionTimeoutMs: o.transactionTimeoutMs });
    clients.push(open, idle);
    await Promise.all([open.initTransactions(), idle.initTransactions()]);
    open.beginTransaction();
    await open.send({ topic: o.topic, messages: [{ value: 'a', partition: 0 }, { value: 'b', partition: 0 }, { value: 'c', partition: 1 }] });
    return { env, base: `http://127.0.0.1:${httpPort}`, open, idle, close };
  } catch (err) {
    await close();
    throw err;
  }
}
