// A broker in this process with its dashboard on a free port, on a real nats-server: /metrics values move
// when records are produced and fetched (parsed with parse-prometheus-text-format), /api/cluster shows the
// partition's offsets from the broker's published status, an open actor event stream attaches exactly one
// inspection observer and closing it detaches it (1 → 0). Then a broker process with `--inspect` pointing
// at a closed port still serves Kafka clients and its dashboard.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { NatsServer, freePort } from '../../src/testing/nats-server.ts';
import { BrokerProcess } from '../../src/testing/broker-process.ts';
import type { Broker } from '../../actors/broker-actor.ts';
import { startNodeBroker } from '../../src/runtime/node/node-broker.ts';
import { defaultBrokerConfig } from '../../src/broker/broker-config.ts';
import { createNodeLogger } from '../../src/runtime/node/node-logger.ts';
import { startBrokerObservability, type BrokerObservability } from '../../src/dashboard/observability.ts';
import { BrokerConnection } from '../../src/client/broker-connection.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch-builder.ts';
import type { ClusterView } from '../../src/dashboard/cluster-view.ts';
import { Kafka, logLevel } from 'kafkajs';

interface PromFamily {
  name: string;
  metrics: Array<{ value?: string; labels?: Record<string, string> }>;
}
const parseProm = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => PromFamily[];

let dir: string;
let nats: NatsServer;
let broker: Broker;
let obs: BrokerObservability;
let conn: BrokerConnection;
let base: string;

async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = parseProm(text)
    .find((f) => f.name === name)
    ?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return m?.value === undefined ? undefined : Number(m.value);
}

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kastor-dash-'));
  nats = await NatsServer.start({ dir: join(dir, 'nats') });
  broker = await startNodeBroker(defaultBrokerConfig({ brokerId: 1, port: 0, dataDir: join(dir, 'b1'), natsServers: [nats.url] }), { logger: createNodeLogger({ level: 'error' }) });
  obs = await startBrokerObservability(broker, { http: { host: '127.0.0.1', port: 0 }, logger: createNodeLogger({ level: 'error' }), statusIntervalMs: 200 });
  base = `http://127.0.0.1:${obs.http!.port}`;
  conn = await BrokerConnection.connect({ host: '127.0.0.1', port: broker.port });
  const created = await conn.request(ApiKey.CreateTopics, 4, {
    topics: [{ name: 'm', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  assert.is(created.topics[0]!.errorCode, ErrorCode.NONE);
});

test.after(async () => {
  conn?.close();
  await obs?.stop();
  await broker?.stop();
  await nats?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test('/metrics counts produced and fetched records and bytes, and requests per API', async () => {
  const batches = [buildRecordBatch({ records: ['a', 'b', 'c'].map((value) => ({ value })), timestamp: Date.now() }), buildRecordBatch({ records: [{ value: 'd' }, { value: 'e' }], timestamp: Date.now() })];
  const before = (await metric('kastor_requests_total', { api: 'Produce' })) ?? 0;
  for (const records of batches) {
    const r = await conn.request(ApiKey.Produce, 7, { transactionalId: null, acks: 1, timeoutMs: 5_000, topicData: [{ name: 'm', partitionData: [{ index: 0, records }] }] });
    assert.is(r.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
  }
  assert.is(await metric('kastor_records_in_total', { topic: 'm', broker: '1' }), 5);
  assert.is(await metric('kastor_bytes_in_total', { topic: 'm' }), batches[0]!.length + batches[1]!.length);
  assert.is(await metric('kastor_requests_total', { api: 'Produce' }), before + 2);
  assert.is(await metric('kastor_leader_partitions'), 1);
  assert.is(await metric('kastor_active_controller'), 1);
  assert.is(await metric('kastor_partition_log_end_offset', { topic: 'm', partition: '0' }), 5);

  const fetched = await conn.request(ApiKey.Fetch, 11, {
    replicaId: -1,
    maxWaitMs: 100,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic: 'm', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
  const got = fetched.responses[0]!.partitions[0]!.records!;
  assert.ok(got.length > 0);
  assert.is(await metric('kastor_records_out_total', { topic: 'm' }), 5);
  assert.is(await metric('kastor_bytes_out_total', { topic: 'm' }), got.length);
});

test('/api/cluster shows the broker up and the partition with its offsets', async () => {
  const view = await until('the status with offsets', async () => {
    const v = (await (await fetch(`${base}/api/cluster`)).json()) as ClusterView;
    return v.topics.find((t) => t.name === 'm')?.partitions[0]?.highWatermark === 5 ? v : undefined;
  });
  assert.equal(view.brokers.map((b) => [b.id, b.state, b.controller, b.http]), [[1, 'up', true, `127.0.0.1:${obs.http!.port}`]]);
  const p = view.topics.find((t) => t.name === 'm')!.partitions[0]!;
  assert.equal([p.leader, p.replicas, p.isr, p.logEndOffset, p.underReplicated], [1, [1], [1], 5, false]);
  const page = await (await fetch(`${base}/`)).text();
  assert.match(page, /src="\/vendor\/mermaid\.min\.js"/);
  const mermaid = await fetch(`${base}/vendor/mermaid.min.js`);
  assert.is(mermaid.status, 200);
  assert.ok((await mermaid.arrayBuffer()).byteLength > 1_000_000, 'mermaid is served from node_modules');
});

test('an actor event stream attaches one observer while open and none after (1 → 0)', async () => {
  const id = 'partition-m-0@broker-1';
  assert.is(obs.hub.attachedObservers, 0);
  const actors = (await (await fetch(`${base}/api/actors`)).json()) as Array<{ systemId: string; state: unknown }>;
  assert.is(actors.find((a) => a.systemId === id)?.state, 'leader');
  let body = '';
  let res: IncomingMessage | null = null;
  const req = httpGet(`${base}/api/actors/${encodeURIComponent(id)}/events`, (r) => {
    res = r;
    r.setEncoding('utf8');
    r.on('data', (d) => (body += d));
  });
  req.on('error', () => {});
  try {
    await until('the snapshot event', () => body.includes('event: snapshot'));
    assert.is(obs.hub.attachedObservers, 1);
    assert.is(((await (await fetch(`${base}/api/inspection`)).json()) as { attachedObservers: number }).attachedObservers, 1);
    // A produce moves the high watermark: the partition actor processes HIGH_WATERMARK, seen on the stream.
    await conn.request(ApiKey.Produce, 7, { transactionalId: null, acks: 1, timeoutMs: 5_000, topicData: [{ name: 'm', partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value: 'f' }], timestamp: Date.now() }) }] }] });
    await until('a transition event', () => body.includes('event: transition'), 5_000);
    assert.match(body, /"event":"HIGH_WATERMARK"/);
  } finally {
    req.destroy();
    (res as IncomingMessage | null)?.destroy();
  }
  await until('the observer to be detached', () => obs.hub.attachedObservers === 0);
  assert.is(obs.hub.viewers, 0);
});

test('a consumer group shows with its coordinator, state and lag; its actor is listed', async () => {
  const kafka = new Kafka({ clientId: 'dash', brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 500 } });
  const consumer = kafka.consumer({ groupId: 'dash-g', sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
  let seen = 0;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: ['m'], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
        seen++;
      },
    });
    await until('the consumer to read the 6 records', () => seen >= 6, 20_000);
    const stable = await until('the group in the cluster view', async () => {
      const v = (await (await fetch(`${base}/api/cluster`)).json()) as ClusterView;
      const g = v.groups.find((x) => x.groupId === 'dash-g');
      return g && g.state === 'Stable' && g.partitions.some((p) => p.committed === 6) ? g : undefined;
    });
    assert.equal([stable.coordinator, stable.members, stable.lag], [1, 1, 0]);
    assert.ok(((await metric('kastor_group_rebalances_total')) ?? 0) >= 1, 'the rebalance that formed the group is counted');
    const actors = (await (await fetch(`${base}/api/actors`)).json()) as Array<{ systemId: string; machineId: string; state: unknown }>;
    assert.is(actors.filter((a) => a.systemId === 'group-dash-g@broker-1').length, 1, 'listed once');
    const actor = actors.find((a) => a.systemId === 'group-dash-g@broker-1');
    assert.equal([actor?.machineId, actor?.state], ['group', 'Stable']);
  } finally {
    await consumer.disconnect();
  }
  // Records nobody consumes: the group's lag grows by as many.
  await conn.request(ApiKey.Produce, 7, { transactionalId: null, acks: 1, timeoutMs: 5_000, topicData: [{ name: 'm', partitionData: [{ index: 0, records: buildRecordBatch({ records: ['g', 'h', 'i', 'j'].map((value) => ({ value })), timestamp: Date.now() }) }] }] });
  const lagging = await until('the lag to show', async () => {
    const v = (await (await fetch(`${base}/api/cluster`)).json()) as ClusterView;
    const g = v.groups.find((x) => x.groupId === 'dash-g');
    return g && g.lag === 4 ? g : undefined;
  });
  assert.equal([lagging.state, lagging.members], ['Empty', 0]);
});

test('a broker process with --inspect at an unreachable inspector still serves, with its V8 flags', async () => {
  const http = await freePort();
  const closed = await freePort();
  const b = await BrokerProcess.start({ id: 2, natsUrl: nats.url, dataDir: join(dir, 'b2'), extraArgs: ['--http', `127.0.0.1:${http}`, '--inspect', `ws://127.0.0.1:${closed}`] });
  try {
    const c = await BrokerConnection.connect({ host: '127.0.0.1', port: b.port });
    try {
      const r = await c.request(ApiKey.Metadata, 9, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
      assert.ok(r.brokers.some((x: { nodeId: number }) => x.nodeId === 2));
    } finally {
      c.close();
    }
    const text = await until('the dashboard', async () => {
      const res = await fetch(`http://127.0.0.1:${http}/metrics`);
      return res.status === 200 ? res.text() : undefined;
    });
    assert.match(text, /kastor_partitions\{broker="2"\} \d/);
    // BROKER_NODE_FLAGS reached V8: a 16 MiB semi-space floor makes a young generation of at least 32 MiB
    // (V8's own default starts at 1 MiB semi-spaces and shrinks back there when the broker idles).
    const young = Number(/kastor_nodejs_heap_space_size_total_bytes\{[^}]*space="new"[^}]*\} (\d+)/.exec(text)?.[1] ?? NaN);
    assert.ok(young >= 32 * 1024 * 1024, `young generation ${young} bytes`);
    assert.ok(b.running, 'the broker is still running');
  } finally {
    await b.kill();
  }
});

test.run();
