// The peer that Kastor's benchmarks are measured against in the same run (STYLE.md point 8): NATS JetStream on
// the same machine, driven the fastest way known from Node (NATS-NOTES.md):
// - publish is pipelined: `nc.publish(subject, data, { reply: <inbox>.<seq> })` with one wildcard subscription
//   on the inbox counting JetStream's acks, at most `window` unacknowledged; publish→ack latency per record;
// - consume is an ordered consumer (the flow-controlled, ack-free reader), verifying count and order;
// - the client connects to the stream's leader (as a Kafka client talks to the partition leader), so an R3
//   publish is not routed through a second server first;
// - `noAsyncTraces` (no Error allocated per request).
// Throughput in MB/s counts payload bytes only, with MB = 10^6 bytes, as Kastor's benchmarks do.
//
// This is a library (no run()); bench/jetstream.ts runs it alone.
import { performance } from 'node:perf_hooks';
import { randomFillSync } from 'node:crypto';
import { connect, type NatsConnection, type Msg } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, StorageType, RetentionPolicy, DiscardPolicy, type JsMsg } from '@nats-io/jetstream';

export interface JetStreamPublishOptions {
  /** One URL, or every member of a cluster (the stream leader's URL is then found and used). */
  url: string | string[];
  stream: string;
  subject: string;
  replicas: 1 | 3;
  records: number;
  recordBytes: number;
  /** Most unacknowledged publishes at any time. */
  window: number;
  /** Whole-run deadline (default 300 s); the run fails when it passes. */
  timeoutMs?: number;
}

export interface JetStreamPublishResult {
  records_per_s: number;
  mb_per_s: number;
  p50_ms: number;
  p99_ms: number;
  seconds: number;
}

export interface JetStreamConsumeOptions {
  url: string | string[];
  stream: string;
  /** Records expected in the stream; the stream must hold exactly this many. */
  records: number;
  /** Messages per pull request of the ordered consumer (default 10,000). */
  maxMessages?: number;
  timeoutMs?: number;
}

export interface JetStreamConsumeResult {
  records_per_s: number;
  mb_per_s: number;
  seconds: number;
}

const connectOptions = {
  noAsyncTraces: true,
  maxReconnectAttempts: -1,
  reconnectTimeWait: 250,
  pingInterval: 5_000,
} as const;

function urlList(url: string | string[]): string[] {
  const list = Array.isArray(url) ? url : [url];
  if (list.length === 0) throw new Error('jetstream-peer: no NATS URL given');
  return list;
}

/** The URL (among `urls`) of the server named `serverName`, found by asking each server its name. */
async function urlOfServer(urls: string[], serverName: string | undefined): Promise<string> {
  if (urls.length === 1 || !serverName) return urls[0]!;
  for (const u of urls) {
    const nc = await connect({ ...connectOptions, servers: u, maxReconnectAttempts: 0, ignoreClusterUpdates: true });
    const name = nc.info?.server_name;
    await nc.close();
    if (name === serverName) return u;
  }
  throw new Error(`jetstream-peer: stream leader ${serverName} is none of ${urls.join(', ')}`);
}

/** Connects to the current leader of `stream` (or to the only URL given). */
export async function connectToLeader(urls: string[], stream: string): Promise<NatsConnection> {
  if (urls.length === 1) return connect({ ...connectOptions, servers: urls[0]! });
  const probe = await connect({ ...connectOptions, servers: urls });
  let leader: string | undefined;
  try {
    const jsm = await jetstreamManager(probe);
    leader = (await jsm.streams.info(stream)).cluster?.leader;
  } finally {
    await probe.close();
  }
  const url = await urlOfServer(urls, leader);
  process.stderr.write(`jetstream-peer: stream ${stream} leader ${leader ?? '?'} at ${url}\n`);
  return connect({ ...connectOptions, servers: url, ignoreClusterUpdates: true });
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i]!;
}

const round = (x: number, digits = 3) => Number(x.toFixed(digits));

/**
 * (Re)creates a file-storage stream `stream` on `subject` with `replicas` replicas (retrying while a cluster is
 * still placing it), then publishes `records` random payloads of `recordBytes`, pipelined up to `window`.
 */
export async function jetstreamPublish(opts: JetStreamPublishOptions): Promise<JetStreamPublishResult> {
  const { stream, subject, replicas, records, recordBytes, window } = opts;
  if (!(records > 0 && recordBytes > 0 && window > 0)) throw new Error('jetstreamPublish: records, recordBytes and window must be positive');
  const urls = urlList(opts.url);
  const deadline = Date.now() + (opts.timeoutMs ?? 300_000);

  await recreateStream(urls, stream, subject, replicas, deadline);
  const nc = await connectToLeader(urls, stream);
  try {
    const payload = randomFillSync(new Uint8Array(recordBytes));
    const inbox = `_INBOX_bench.${stream}.${process.pid}.`;
    const sentAt = new Float64Array(records);
    const latency = new Float64Array(records);
    const acked = new Uint8Array(records);
    let ackCount = 0;
    let sent = 0;
    let failure: Error | null = null;
    let wake: (() => void) | null = null;
    const wakeUp = () => {
      const w = wake;
      wake = null;
      w?.();
    };

    nc.subscribe(`${inbox}*`, {
      callback: (err: Error | null, msg: Msg) => {
        if (err) {
          failure ??= err;
          return wakeUp();
        }
        const data = msg.data;
        // A PubAck is {"stream":...,"seq":...}; an error is {"error":...}; "no responders" is an empty status message.
        if (data.length < 3 || data[2] !== 0x73 /* s */) {
          failure ??= new Error(`JetStream refused a publish: ${data.length ? new TextDecoder().decode(data) : `status ${msg.headers?.code ?? '?'} ${msg.headers?.description ?? ''}`}`);
          return wakeUp();
        }
        const seq = Number(msg.subject.slice(inbox.length));
        if (acked[seq] === 1) return;
        acked[seq] = 1;
        latency[seq] = performance.now() - sentAt[seq]!;
        ackCount++;
        if (wake !== null && (sent - ackCount < window || ackCount === records)) wakeUp();
      },
    });
    await nc.flush();

    const timer = setInterval(() => {
      if (Date.now() > deadline) {
        failure ??= new Error(`jetstreamPublish: deadline passed with ${ackCount}/${records} acked`);
        wakeUp();
      }
    }, 250);
    const t0 = performance.now();
    try {
      while (ackCount < records) {
        while (sent < records && sent - ackCount < window) {
          sentAt[sent] = performance.now();
          nc.publish(subject, payload, { reply: inbox + sent });
          sent++;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        if (failure) throw failure;
      }
    } finally {
      clearInterval(timer);
    }
    const seconds = (performance.now() - t0) / 1000;
    latency.sort();
    return {
      records_per_s: Math.round(records / seconds),
      mb_per_s: round((records * recordBytes) / seconds / 1e6, 2),
      p50_ms: round(percentile(latency, 0.5)),
      p99_ms: round(percentile(latency, 0.99)),
      seconds: round(seconds),
    };
  } finally {
    await nc.close();
  }
}

export async function recreateStream(urls: string[], stream: string, subject: string, replicas: number, deadline: number): Promise<void> {
  const nc = await connect({ ...connectOptions, servers: urls });
  try {
    const jsm = await jetstreamManager(nc);
    let lastError: unknown;
    while (Date.now() < deadline) {
      try {
        await jsm.streams.delete(stream).catch(() => false);
        await jsm.streams.add({
          name: stream,
          subjects: [subject],
          storage: StorageType.File,
          num_replicas: replicas,
          retention: RetentionPolicy.Limits,
          discard: DiscardPolicy.Old,
        });
        return;
      } catch (err) {
        // A new cluster may still be electing or placing: retry until the deadline.
        lastError = err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    throw new Error(`jetstream-peer: could not create stream ${stream} (R${replicas}): ${String(lastError)}`, { cause: lastError });
  } finally {
    await nc.close();
  }
}

/** Reads the whole stream back with an ordered consumer, checking it holds `records` records in sequence order. */
export async function jetstreamConsume(opts: JetStreamConsumeOptions): Promise<JetStreamConsumeResult> {
  const { stream, records } = opts;
  const urls = urlList(opts.url);
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const nc = await connectToLeader(urls, stream);
  try {
    const jsm = await jetstreamManager(nc);
    const state = (await jsm.streams.info(stream)).state;
    if (state.messages !== records) throw new Error(`jetstreamConsume: stream ${stream} holds ${state.messages} records, expected ${records}`);
    const js = jetstream(nc);

    const t0 = performance.now();
    const consumer = await js.consumers.get(stream);
    let count = 0;
    let bytes = 0;
    let expectedSeq = state.first_seq;
    let failure: Error | null = null;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const messages = await consumer.consume({
      max_messages: opts.maxMessages ?? 10_000,
      callback: (m: JsMsg) => {
        if (count >= records) return;
        if (m.seq !== expectedSeq) {
          failure ??= new Error(`jetstreamConsume: got stream sequence ${m.seq}, expected ${expectedSeq}`);
          return finish();
        }
        expectedSeq++;
        count++;
        bytes += m.data.length;
        if (count === records) finish();
      },
    });
    const timer = setTimeout(() => {
      failure ??= new Error(`jetstreamConsume: ${count}/${records} records within ${timeoutMs} ms`);
      finish();
    }, timeoutMs);
    try {
      await finished;
    } finally {
      clearTimeout(timer);
    }
    const seconds = (performance.now() - t0) / 1000;
    await messages.close();
    if (failure) throw failure;
    return {
      records_per_s: Math.round(records / seconds),
      mb_per_s: round(bytes / seconds / 1e6, 2),
      seconds: round(seconds),
    };
  } finally {
    await nc.close();
  }
}

/** Deletes a stream (after a benchmark, to give its disk back); a missing stream is not an error. */
export async function jetstreamDeleteStream(url: string | string[], stream: string): Promise<void> {
  const nc = await connect({ ...connectOptions, servers: urlList(url) });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(stream).catch(() => false);
  } finally {
    await nc.close();
  }
}
