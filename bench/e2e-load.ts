// The moving parts of bench/e2e.ts (produce-to-consume latency): a recorder of arrivals, the paced and the
// saturating sender, and one "link" per system and client — a producer and a consumer of the same fresh topic or
// stream, both in this process, so the send stamp a record carries and its arrival time come from one monotonic
// clock (performance.now()). Not a benchmark itself (no run()).
//
// A record carries its sequence number and send stamp: Kastor's client and JetStream as 4 bytes of sequence and an
// 8-byte float of ms, padded to the record size; kcat as a text line "<seq> <ms> xxx…" written to the producing
// kcat's stdin and read back from the consuming kcat's stdout (-u: unbuffered), so both stamps are taken here and
// the two pipe hops (microseconds) count in the latency.
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { headers, type NatsConnection, type Msg } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JsMsg, type ConsumerMessages } from '@nats-io/jetstream';
import { Kafka, type Producer, type Consumer } from '../src/client/index.ts';
import { connectToLeader, recreateStream } from './jetstream-peer.ts';
import { kcatErrorLines } from './kcat-load.ts';
import { percentile, round } from './cluster-kit.ts';

/** Most unacknowledged JetStream publishes of a link (bench/e2e.ts gives the Go peer the same). */
export const JETSTREAM_WINDOW = 65_536;
/**
 * A JetStream publish is taken as lost, and published again, once one sent LOST_AFTER_MS after it has its PubAck (a
 * stream answers one connection's publishes in order), or when no PubAck at all came for SILENCE_MS (the last
 * publishes of a run have nothing after them). A late PubAck is only late: an overloaded stream answers seconds
 * behind, and publishing again what is merely late would add to its load. The Go peer does the same.
 */
const LOST_AFTER_MS = 100;
const SILENCE_MS = 5000;

/** Arrivals by sequence number: the latency of each, duplicates and strays counted, not recorded twice. */
export class LatencyRecorder {
  readonly latency: Float64Array;
  /** Send to the producer's acknowledgement (NaN where the client does not report it, as kcat). */
  readonly ackLatency: Float64Array;
  private readonly arrived: Uint8Array;
  consumed = 0;
  duplicates = 0;
  strays = 0;
  private expected = Infinity;
  private waiter: (() => void) | null = null;

  constructor(readonly capacity: number) {
    this.latency = new Float64Array(capacity);
    this.arrived = new Uint8Array(capacity);
    this.ackLatency = new Float64Array(capacity).fill(NaN);
  }

  /** Records seq .. seq+n-1, sent at sentAt, were acknowledged now. */
  acked(seq: number, n: number, sentAt: number, now: number): void {
    this.ackLatency.fill(now - sentAt, seq, Math.min(seq + n, this.capacity));
  }

  arrive(seq: number, sentAt: number, now: number): void {
    if (!(seq >= 0 && seq < this.capacity)) {
      this.strays++;
      return;
    }
    if (this.arrived[seq] === 1) {
      this.duplicates++;
      return;
    }
    this.arrived[seq] = 1;
    this.latency[seq] = now - sentAt;
    if (++this.consumed >= this.expected) this.waiter?.();
  }

  /** Resolves once `expected` distinct records have arrived; rejects with the counts after timeoutMs. */
  waitFor(expected: number, timeoutMs: number, failure: () => Error | null): Promise<void> {
    this.expected = expected;
    return new Promise((resolve, reject) => {
      const check = () => {
        const err = failure();
        if (err) return finish(err);
        if (this.consumed >= expected) return finish(null);
        if (performance.now() > deadline) finish(new Error(`${this.consumed}/${expected} records consumed within ${timeoutMs} ms of the last send`));
      };
      const finish = (err: Error | null) => {
        clearInterval(timer);
        this.waiter = null;
        if (err) reject(err);
        else resolve();
      };
      const deadline = performance.now() + timeoutMs;
      const timer = setInterval(check, 50);
      this.waiter = check;
      check();
    });
  }

  /** Percentiles (ms) of the records [from, to). */
  stats(from: number, to: number) {
    const sorted = Array.from(this.latency.subarray(from, to)).sort((a, b) => a - b);
    const acks = Array.from(this.ackLatency.subarray(from, to)).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
    return {
      p50_ms: round(percentile(sorted, 0.5), 3),
      p99_ms: round(percentile(sorted, 0.99), 3),
      p999_ms: round(percentile(sorted, 0.999), 3),
      max_ms: round(sorted[sorted.length - 1] ?? NaN, 3),
      // Where the time goes: the part before the producer's acknowledgement (the replicated write) and after.
      produce_ack_p50_ms: acks.length ? round(percentile(acks, 0.5), 3) : null,
      produce_ack_p99_ms: acks.length ? round(percentile(acks, 0.99), 3) : null,
    };
  }
}

/** Kastor's two clients in this bench: its own client, or kcat (librdkafka). */
export type KafkaLinkKind = 'kastor' | 'kcat';

/** One system and client: a producer and a consumer of one fresh topic or stream. */
export interface E2eLink {
  /** Connects the producer and starts the consumer at the start of the (empty) topic or stream. */
  open(rec: LatencyRecorder, expected: number): Promise<void>;
  /** Sends records seq .. seq+n-1 now, without waiting. */
  send(seq: number, n: number): void;
  /** Records sent and not yet acknowledged (0 when the client does not say, as kcat). */
  unacked(): number;
  /** Resolves when unacked() may have fallen. */
  ackedSome(): Promise<void>;
  /** Waits until every record sent is acknowledged; fails on any delivery error. */
  flush(timeoutMs: number): Promise<void>;
  /** Records the system stores (high watermarks, stream messages). */
  stored(): Promise<number>;
  failure(): Error | null;
  close(): Promise<void>;
}

function binaryValue(seq: number, bytes: number, sentAt = performance.now()): Buffer {
  const b = Buffer.alloc(bytes, 0x61);
  b.writeUInt32BE(seq, 0);
  b.writeDoubleBE(sentAt, 4);
  return b;
}

function arriveBinary(rec: LatencyRecorder, v: Uint8Array, now: number): void {
  const view = new DataView(v.buffer, v.byteOffset, v.byteLength);
  rec.arrive(view.getUint32(0), view.getFloat64(4), now);
}

/** Counts sent/acked records and wakes a sender waiting for acknowledgements. */
class AckCounter {
  sent = 0;
  acked = 0;
  error: Error | null = null;
  private waiters: Array<() => void> = [];

  ack(n: number): void {
    this.acked += n;
    this.wakeAll();
  }

  fail(err: Error): void {
    this.error ??= err;
    this.wakeAll();
  }

  next(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }

  async all(timeoutMs: number, what: string): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.acked < this.sent && !this.error) {
      if (performance.now() > deadline) throw new Error(`${what}: ${this.acked}/${this.sent} acknowledged within ${timeoutMs} ms`);
      await Promise.race([this.next(), new Promise((r) => setTimeout(r, 100))]);
    }
    if (this.error) throw this.error;
  }

  private wakeAll(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** Kastor's client on both ends: producer acks=all, consumer (manual assignment) from the earliest offset. */
export class KastorClientLink implements E2eLink {
  private readonly kafka: Kafka;
  private producer: Producer | null = null;
  private consumer: Consumer | null = null;
  private readonly acks = new AckCounter();
  private reading: Promise<void> | null = null;
  private rec: LatencyRecorder | null = null;

  constructor(
    bootstrap: string,
    private readonly topic: string,
    private readonly partitions: number,
    private readonly recordBytes: number,
    private readonly lingerMs: number,
    private readonly consumerMaxWaitMs: number,
  ) {
    this.kafka = new Kafka({ bootstrap, clientId: 'bench-e2e' });
  }

  async open(rec: LatencyRecorder): Promise<void> {
    this.rec = rec;
    this.producer = this.kafka.producer({ acks: 'all', lingerMs: this.lingerMs });
    await this.producer.connect();
    const consumer = (this.consumer = this.kafka.consumer({ maxWaitMs: this.consumerMaxWaitMs, minBytes: 1 }));
    consumer.assign(Array.from({ length: this.partitions }, (_, partition) => ({ topic: this.topic, partition, offset: 'earliest' as const })));
    this.reading = (async () => {
      for await (const batch of consumer) {
        const now = performance.now();
        for (const r of batch.records) arriveBinary(rec, r.value!, now);
      }
    })().catch((err: Error) => this.acks.fail(err));
  }

  send(seq: number, n: number): void {
    const messages = Array.from({ length: n }, (_, i) => ({ value: binaryValue(seq + i, this.recordBytes) }));
    this.acks.sent += n;
    const at = performance.now();
    this.producer!.send({ topic: this.topic, messages }).then(
      () => {
        this.rec!.acked(seq, n, at, performance.now());
        this.acks.ack(n);
      },
      (err: Error) => this.acks.fail(err),
    );
  }

  unacked(): number {
    return this.acks.sent - this.acks.acked;
  }

  ackedSome(): Promise<void> {
    return this.acks.next();
  }

  flush(timeoutMs: number): Promise<void> {
    return this.acks.all(timeoutMs, 'kastor producer');
  }

  async stored(): Promise<number> {
    const admin = this.kafka.admin();
    try {
      return (await admin.fetchOffsets(this.topic)).reduce((s, o) => s + Number(o.latest - o.earliest), 0);
    } finally {
      await admin.close();
    }
  }

  failure(): Error | null {
    return this.acks.error;
  }

  async close(): Promise<void> {
    await this.producer?.close().catch(() => {});
    await this.consumer?.close().catch(() => {});
    await this.reading;
  }
}

/** kcat's input for records seq .. seq+n-1 sent at `stamp` ms: "<seq> <ms> xxx…\n", recordBytes with the newline. */
export function kcatLines(seq: number, n: number, stamp: number, recordBytes: number): string {
  let text = '';
  const at = stamp.toFixed(4);
  for (let i = 0; i < n; i++) {
    const head = `${seq + i} ${at} `;
    text += head.padEnd(recordBytes - 1, 'x') + '\n';
  }
  return text;
}

/** The sequence number and send stamp of a value kcatLines made (as kcat -C prints it, without the newline). */
export function parseKcatLine(line: string): { seq: number; sentAt: number } {
  const sp = line.indexOf(' ');
  return { seq: Number(line.slice(0, sp)), sentAt: Number(line.slice(sp + 1, line.indexOf(' ', sp + 1))) };
}

/** Splits a byte stream into lines, handing each complete one (without '\n') to `onLine`. */
export function lineReader(onLine: (line: string, now: number) => void): (chunk: Buffer) => void {
  let rest = '';
  return (chunk) => {
    const now = performance.now();
    const text = rest + chunk.toString('latin1');
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      onLine(text.slice(start, nl), now);
      start = nl + 1;
    }
    rest = text.slice(start);
  };
}

/**
 * kcat (librdkafka) on both ends: `kcat -P` reading lines from a pipe (acks=all, linger L) and `kcat -C -u`
 * printing each value as it arrives. librdkafka's producer reports only failed deliveries, so unacked() is 0
 * and flush() is kcat's clean exit after its queue drained (stdin closed).
 */
export class KcatLink implements E2eLink {
  private producer: ChildProcess | null = null;
  private consumer: ChildProcess | null = null;
  private producerExit: Promise<{ code: number | null; stderr: string }> | null = null;
  private error: Error | null = null;

  constructor(
    private readonly bootstrap: string,
    private readonly topic: string,
    private readonly partitions: number,
    private readonly recordBytes: number,
    private readonly lingerMs: number,
    private readonly binary = process.env.KASTOR_KCAT ?? 'kcat',
  ) {}

  async open(rec: LatencyRecorder, expected: number): Promise<void> {
    const consumer = (this.consumer = spawn(
      this.binary,
      ['-C', '-b', this.bootstrap, '-t', this.topic, '-o', 'beginning', '-c', String(expected), '-u', '-q', '-f', '%s\\n'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ));
    let consumerErr = '';
    consumer.stderr!.setEncoding('utf8').on('data', (d: string) => (consumerErr = (consumerErr + d).slice(-4000)));
    consumer.once('error', (err) => (this.error ??= err));
    consumer.once('close', (code) => {
      if (code !== 0 && code !== null) this.error ??= new Error(`kcat consumer exited ${code}: ${consumerErr.trim()}`);
    });
    consumer.stdout!.on(
      'data',
      lineReader((line, now) => {
        const { seq, sentAt } = parseKcatLine(line);
        rec.arrive(seq, sentAt, now);
      }),
    );
    const producer = (this.producer = spawn(
      this.binary,
      [
        '-P', '-b', this.bootstrap, '-t', this.topic,
        ...(this.partitions === 1 ? ['-p', '0'] : []),
        '-X', 'acks=all', '-X', `linger.ms=${this.lingerMs}`, '-X', 'message.timeout.ms=60000',
      ],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    ));
    let stderr = '';
    producer.stderr!.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 1 << 16) stderr += d;
      if (kcatErrorLines(d).length) this.error ??= new Error(`kcat producer: ${kcatErrorLines(d).slice(0, 3).join(' | ')}`);
    });
    producer.stdin!.on('error', (err) => (this.error ??= err));
    this.producerExit = new Promise((resolve, reject) => {
      producer.once('error', reject);
      producer.once('close', (code) => resolve({ code, stderr }));
    });
  }

  send(seq: number, n: number): void {
    this.producer!.stdin!.write(kcatLines(seq, n, performance.now(), this.recordBytes));
  }

  unacked(): number {
    return 0;
  }

  ackedSome(): Promise<void> {
    return new Promise((r) => setTimeout(r, 1));
  }

  async flush(timeoutMs: number): Promise<void> {
    this.producer!.stdin!.end();
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      this.producerExit!,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`kcat producer did not exit within ${timeoutMs} ms`)), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
    const errors = kcatErrorLines(exit.stderr);
    if (exit.code !== 0 || errors.length) throw new Error(`kcat producer exited ${exit.code}: ${(errors.length ? errors.slice(0, 5).join('\n') : exit.stderr).trim()}`);
  }

  async stored(): Promise<number> {
    const admin = new Kafka({ bootstrap: this.bootstrap }).admin();
    try {
      return (await admin.fetchOffsets(this.topic)).reduce((s, o) => s + Number(o.latest - o.earliest), 0);
    } finally {
      await admin.close();
    }
  }

  failure(): Error | null {
    return this.error;
  }

  async close(): Promise<void> {
    for (const child of [this.producer, this.consumer]) {
      if (child && child.exitCode === null && child.signalCode === null) {
        const closed = new Promise((r) => child.once('close', r));
        child.kill('SIGKILL');
        await closed;
      }
    }
  }
}

/**
 * JetStream R3 from the Node client: publishes pipelined with a reply inbox per record (as bench/jetstream-peer.ts),
 * at most WINDOW unacknowledged, and an ordered consumer on a second connection; both connections go to the
 * stream's leader. A record sent while the window is full waits here and goes out as acknowledgements come, still
 * stamped with the time it was sent to the link (the wait counts in its latency). Without the window, an offered
 * rate several times JetStream's maximum put close to a million publishes on the wire at once, and nats-server
 * answered only some of them (886,949 of 915,608 within 80 s in one run).
 */
export class JetStreamLink implements E2eLink {
  private pub: NatsConnection | null = null;
  private sub: NatsConnection | null = null;
  private messages: ConsumerMessages | null = null;
  private readonly acks = new AckCounter();
  private readonly inbox: string;
  private sentAt = new Float64Array(0);
  /** Runs of records sent to the link and not yet published (the window was full). */
  private readonly waiting: Array<{ seq: number; n: number }> = [];
  private published = 0;
  private lastSend = new Float64Array(0);
  private ackedSeq = new Uint8Array(0);
  private lowestUnacked = 0;
  /** The latest send time of a publish with its PubAck, and when the last PubAck came. */
  private answeredSent = -Infinity;
  private lastAckAt = 0;
  private resendTimer: ReturnType<typeof setInterval> | undefined;
  /** Publishes sent again, JetStream having skipped them. */
  republished = 0;

  constructor(
    private readonly urls: string[],
    private readonly stream: string,
    private readonly subject: string,
    private readonly recordBytes: number,
  ) {
    this.inbox = `_INBOX_e2e.${stream}.${process.pid}.`;
  }

  async open(rec: LatencyRecorder): Promise<void> {
    this.sentAt = new Float64Array(rec.capacity);
    this.lastSend = new Float64Array(rec.capacity);
    this.ackedSeq = new Uint8Array(rec.capacity);
    this.lastAckAt = performance.now();
    this.resendTimer = setInterval(() => this.resendSkipped(), LOST_AFTER_MS);
    await recreateStream(this.urls, this.stream, this.subject, 3, Date.now() + 60_000);
    this.pub = await connectToLeader(this.urls, this.stream);
    this.sub = await connectToLeader(this.urls, this.stream);
    this.pub.subscribe(`${this.inbox}*`, {
      callback: (err: Error | null, msg: Msg) => {
        if (err) return this.acks.fail(err);
        // A PubAck is {"stream":...}; anything else is a refusal.
        if (msg.data.length < 3 || msg.data[2] !== 0x73 /* s */) {
          return this.acks.fail(new Error(`JetStream refused a publish: ${new TextDecoder().decode(msg.data) || `status ${msg.headers?.code ?? '?'}`}`));
        }
        const seq = Number(msg.subject.slice(this.inbox.length));
        // A second PubAck comes for a record published again whose first one was only late.
        if (this.ackedSeq[seq] === 1) return;
        this.ackedSeq[seq] = 1;
        this.answeredSent = Math.max(this.answeredSent, this.lastSend[seq]!);
        this.lastAckAt = performance.now();
        rec.acked(seq, 1, this.sentAt[seq]!, performance.now());
        this.acks.ack(1);
        this.pump();
      },
    });
    await this.pub.flush();
    const consumer = await jetstream(this.sub).consumers.get(this.stream);
    this.messages = await consumer.consume({
      max_messages: 10_000,
      callback: (m: JsMsg) => arriveBinary(rec, m.data, performance.now()),
    });
  }

  send(seq: number, n: number): void {
    const at = performance.now();
    this.sentAt.fill(at, seq, seq + n);
    this.waiting.push({ seq, n });
    this.acks.sent += n;
    this.pump();
  }

  /** Publishes waiting records while fewer than WINDOW are unacknowledged. */
  private pump(): void {
    while (this.waiting.length > 0 && this.published - this.acks.acked < JETSTREAM_WINDOW) {
      const run = this.waiting[0]!;
      const take = Math.min(run.n, JETSTREAM_WINDOW - (this.published - this.acks.acked));
      const now = performance.now();
      for (let i = run.seq; i < run.seq + take; i++) this.publish(i, now);
      this.published += take;
      run.seq += take;
      run.n -= take;
      if (run.n === 0) this.waiting.shift();
    }
  }

  private publish(seq: number, now: number): void {
    const h = headers();
    h.set('Nats-Msg-Id', String(seq));
    this.lastSend[seq] = now;
    this.pub!.publish(this.subject, binaryValue(seq, this.recordBytes, this.sentAt[seq]), { reply: this.inbox + seq, headers: h });
  }

  /**
   * Publishes again, with the same Nats-Msg-Id (JetStream keeps it once) and the same stamp, what JetStream skipped
   * (LOST_AFTER_MS): an overloaded R3 stream drops publishes (a leader change mid-run answers none of those in
   * flight), and without this the run waited for PubAcks that never came.
   */
  private resendSkipped(): void {
    if (!this.pub) return;
    while (this.lowestUnacked < this.published && this.ackedSeq[this.lowestUnacked] === 1) this.lowestUnacked++;
    const now = performance.now();
    const silent = now - this.lastAckAt >= SILENCE_MS;
    if (silent) this.lastAckAt = now; // once per silence
    for (let seq = this.lowestUnacked; seq < this.published; seq++) {
      const lastSend = this.lastSend[seq]!;
      if (this.ackedSeq[seq] === 0 && (this.answeredSent - lastSend >= LOST_AFTER_MS || (silent && now - lastSend >= SILENCE_MS))) {
        this.republished++;
        this.publish(seq, now);
      }
    }
  }

  unacked(): number {
    return this.acks.sent - this.acks.acked;
  }

  ackedSome(): Promise<void> {
    return this.acks.next();
  }

  flush(timeoutMs: number): Promise<void> {
    return this.acks.all(timeoutMs, 'jetstream publish');
  }

  async stored(): Promise<number> {
    const jsm = await jetstreamManager(this.pub!);
    return (await jsm.streams.info(this.stream)).state.messages;
  }

  failure(): Error | null {
    return this.acks.error;
  }

  async close(): Promise<void> {
    clearInterval(this.resendTimer);
    await this.messages?.close().catch(() => {});
    if (this.pub) {
      const jsm = await jetstreamManager(this.pub);
      await jsm.streams.delete(this.stream).catch(() => false);
    }
    await this.sub?.close().catch(() => {});
    await this.pub?.close().catch(() => {});
  }
}
