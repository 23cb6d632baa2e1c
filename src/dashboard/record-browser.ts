// The dashboard's record browser: pages of one partition's records, read with Kastor's own client (a
// Consumer per page, assigned the one partition; ListOffsets for the log's start and end and for a
// timestamp), and, in `kastor dev`, producing a record from the page. Bounded: at most MAX_LIMIT records and
// MAX_BYTES fetched per page, a long poll of at most MAX_WAIT_MS, and each key, value or header shown up to
// SHOWN_BYTES. Keys, values and headers are shown as text, as pretty-printed JSON when they parse as a JSON
// object or array, or as hex when they are not UTF-8.
import { Consumer, type ConsumerRecord } from '../client/consumer.ts';
import { Producer } from '../client/producer.ts';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, lookupOffsets } from '../client/offset-lookup.ts';

export const MAX_LIMIT = 200;
export const MAX_BYTES = 1024 * 1024;
export const MAX_WAIT_MS = 5000;
export const SHOWN_BYTES = 16 * 1024;

export interface ShownBytes {
  kind: 'null' | 'text' | 'json' | 'hex';
  text: string;
  /** The whole field's size in bytes; `text` shows at most SHOWN_BYTES of it. */
  size: number;
  truncated: boolean;
}

export interface ShownRecord {
  offset: string;
  timestamp: number;
  key: ShownBytes;
  value: ShownBytes;
  headers: Array<{ key: string; value: ShownBytes }>;
}

export interface RecordPageQuery {
  topic: string;
  partition: number;
  /** Where the page starts: an offset, the first record at or after a time, the log start, or the last `limit` records. */
  from: { offset: bigint } | { timestamp: number } | 'start' | 'end';
  limit: number;
  /** How long to wait for records when there are none yet at the start (follow mode), 0: answer at once. */
  waitMs: number;
}

export interface RecordPage {
  topic: string;
  partition: number;
  logStartOffset: string;
  highWatermark: string;
  /** The offset the page starts at (after clamping to the log). */
  startOffset: string;
  /** Where the next page starts. */
  nextOffset: string;
  records: ShownRecord[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function showBytes(b: Buffer | null): ShownBytes {
  if (b === null) return { kind: 'null', text: '', size: 0, truncated: false };
  const truncated = b.length > SHOWN_BYTES;
  const shown = truncated ? b.subarray(0, SHOWN_BYTES) : b;
  let text: string;
  try {
    text = utf8.decode(shown);
  } catch {
    // A cut through a multi-byte character is still text: only the whole field decides.
    if (!truncated || !isUtf8Prefix(shown)) return { kind: 'hex', text: hex(shown), size: b.length, truncated };
    text = new TextDecoder('utf-8').decode(shown).replace(/\uFFFD+$/, '');
  }
  if (!truncated && /^\s*[[{]/.test(text)) {
    try {
      return { kind: 'json', text: JSON.stringify(JSON.parse(text), null, 2), size: b.length, truncated };
    } catch {
      // text that only looks like JSON
    }
  }
  return { kind: 'text', text, size: b.length, truncated };
}

function isUtf8Prefix(b: Buffer): boolean {
  for (let cut = 1; cut <= 3 && cut < b.length; cut++) {
    try {
      utf8.decode(b.subarray(0, b.length - cut));
      return true;
    } catch {
      // try a shorter prefix
    }
  }
  return false;
}

function hex(b: Buffer): string {
  return (b.toString('hex').match(/.{1,2}/g) ?? []).join(' ');
}

function show(r: ConsumerRecord): ShownRecord {
  return { offset: r.offset.toString(), timestamp: r.timestamp, key: showBytes(r.key), value: showBytes(r.value), headers: r.headers.map((h) => ({ key: h.key, value: showBytes(h.value) })) };
}

export interface ProduceInput {
  topic: string;
  partition?: number;
  key: string | null;
  value: string | null;
  headers: Array<{ key: string; value: string }>;
}

export class RecordBrowser {
  private producer: Producer | null = null;

  /** `bootstrap` names the brokers to reach now (the dashboard takes them from the cluster metadata). */
  constructor(private readonly bootstrap: () => string[]) {}

  async page(q: RecordPageQuery): Promise<RecordPage> {
    const limit = Math.max(1, Math.min(MAX_LIMIT, Math.floor(q.limit)));
    const waitMs = Math.max(0, Math.min(MAX_WAIT_MS, q.waitMs));
    const consumer = new Consumer(
      { bootstrap: this.addresses(), clientId: 'kastor-dashboard', requestTimeoutMs: 10_000, retry: { retries: 3, initialBackoffMs: 100, maxBackoffMs: 500 } },
      { maxWaitMs: Math.min(1000, Math.max(100, waitMs)), maxBytes: MAX_BYTES, maxPartitionBytes: MAX_BYTES, autoOffsetReset: 'none' },
    );
    try {
      const tp = { topic: q.topic, partition: q.partition };
      // One query per call: lookupOffsets answers a partition once per request.
      const offsetAt = async (timestamp: bigint) => (await lookupOffsets(consumer.cluster, [{ ...tp, timestamp }]))[0]!.offset;
      const logStart = await offsetAt(EARLIEST_TIMESTAMP);
      const end = await offsetAt(LATEST_TIMESTAMP);
      let start: bigint;
      if (q.from === 'start') start = logStart;
      else if (q.from === 'end') start = end - BigInt(limit);
      else if ('offset' in q.from) start = q.from.offset;
      else {
        const at = await offsetAt(BigInt(q.from.timestamp));
        start = at < 0n ? end : at;
      }
      if (start < logStart) start = logStart;
      if (start > end) start = end;
      const page = { topic: q.topic, partition: q.partition, logStartOffset: logStart.toString(), highWatermark: end.toString(), startOffset: start.toString() };
      if (start >= end && waitMs === 0) return { ...page, nextOffset: start.toString(), records: [] };
      consumer.assign([{ ...tp, offset: start }]);
      const records: ShownRecord[] = [];
      let next = start;
      let highWatermark = end;
      const deadline = Date.now() + (start >= end ? waitMs : Math.max(waitMs, 5000));
      while (records.length < limit) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        let timer: NodeJS.Timeout | undefined;
        const batch = await Promise.race([consumer.next(), new Promise<null>((r) => (timer = setTimeout(() => r(null), left)))]);
        clearTimeout(timer);
        if (batch === null || batch.done) break;
        highWatermark = batch.value.highWatermark > highWatermark ? batch.value.highWatermark : highWatermark;
        for (const r of batch.value.records) {
          if (records.length >= limit) break;
          records.push(show(r));
          next = r.offset + 1n;
        }
        if (next >= highWatermark) break;
      }
      return { ...page, highWatermark: highWatermark.toString(), nextOffset: next.toString(), records };
    } finally {
      await consumer.close();
    }
  }

  /** Produces one record with acks=all; resolves with where it landed. */
  async produce(input: ProduceInput): Promise<{ topic: string; partition: number; offset: string }> {
    this.producer ??= new Producer(
      { bootstrap: this.addresses(), clientId: 'kastor-dashboard', retry: { retries: 5, initialBackoffMs: 100, maxBackoffMs: 1000 } },
      { acks: 'all', allowAutoTopicCreation: false, deliveryTimeoutMs: 15_000, timeoutMs: 10_000 },
    );
    const [meta] = await this.producer.send({ topic: input.topic, messages: [{ key: input.key, value: input.value, headers: input.headers, partition: input.partition }] });
    return { topic: meta!.topic, partition: meta!.partition, offset: meta!.offset.toString() };
  }

  async close(): Promise<void> {
    const p = this.producer;
    this.producer = null;
    await p?.close().catch(() => {});
  }

  private addresses(): string[] {
    const list = this.bootstrap();
    if (list.length === 0) throw new Error('no broker is registered: nothing to read from');
    return list;
  }
}
