// The binary codec of replica fetches (Kafka's follower Fetch, reduced to what a Kastor follower sends and
// a Kastor leader answers). One request carries every partition a follower broker follows on one leader;
// one response carries each partition's state and its raw RecordBatch bytes, copied once into the message
// and sliced out (never re-encoded, never walked record by record) on the other side.
//
// Layout: a version byte, then big-endian fixed-width fields; strings are u16 length + UTF-8; int64 values
// are two int32 halves (offsets are safe integers and -1 sentinels survive); records are u32 length + bytes.
// Pure: no I/O, safe on any input (a malformed message throws ReplicationCodecError, never a RangeError).

export const REPLICATION_CODEC_VERSION = 3;
const TWO_32 = 2 ** 32;

export interface ReplicaFetchPartition {
  topic: string;
  partition: number;
  /** The topic's id (a re-created topic under the same name is another topic). */
  topicId: string;
  /** The follower's log end offset: where it wants records from. */
  fetchOffset: number;
  /** Epoch of the follower's last batch (its leader-epoch cache), -1 for none (KIP-595 divergence check). */
  lastFetchedEpoch: number;
  /** The leader epoch the follower believes in (KIP-320 fencing). */
  currentLeaderEpoch: number;
  /** The follower's high watermark: the leader leaves a partition out of its answer when it has nothing newer
   *  (no records, no error, no divergence, the same high watermark), as Kafka's incremental fetch (KIP-227). */
  highWatermark: number;
  /** The follower's log start offset: the leader's DeleteRecords waits for the ISR's (Kafka's follower Fetch
   *  carries it for DelayedDeleteRecords), and answers a follower whose start is behind its own. */
  logStartOffset: number;
}

export interface ReplicaFetchRequest {
  replicaId: number;
  /** The follower broker's incarnation: tells the leader a restarted follower from its previous life. */
  incarnation: string;
  maxWaitMs: number;
  maxBytes: number;
  partitions: ReplicaFetchPartition[];
}

export interface DivergingEpoch {
  epoch: number;
  endOffset: number;
}

export interface ReplicaFetchPartitionResponse {
  topic: string;
  partition: number;
  errorCode: number;
  highWatermark: number;
  logStartOffset: number;
  /** The leader's current epoch for this partition (-1 when it does not lead it). */
  leaderEpoch: number;
  divergingEpoch?: DivergingEpoch;
  /** Whole RecordBatch v2 batches starting at fetchOffset; empty when none. */
  records: Buffer;
}

export interface ReplicaFetchResponse {
  partitions: ReplicaFetchPartitionResponse[];
}

export class ReplicationCodecError extends Error {
  readonly code = 'REPLICATION_MESSAGE_MALFORMED';
  constructor(
    readonly reason: string,
    readonly position: number,
  ) {
    super(`malformed replication message at byte ${position}: ${reason}`);
    this.name = 'ReplicationCodecError';
  }
}

class Writer {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  u8(v: number): void {
    this.buf.writeUInt8(v, this.pos);
    this.pos += 1;
  }
  i16(v: number): void {
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }
  i32(v: number): void {
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }
  u32(v: number): void {
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }
  i64(v: number): void {
    const hi = Math.floor(v / TWO_32);
    this.buf.writeInt32BE(hi, this.pos);
    this.buf.writeUInt32BE(v - hi * TWO_32, this.pos + 4);
    this.pos += 8;
  }
  str(s: string): void {
    const n = this.buf.write(s, this.pos + 2, 'utf8');
    this.buf.writeUInt16BE(n, this.pos);
    this.pos += 2 + n;
  }
  bytes(b: Buffer): void {
    this.u32(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw new ReplicationCodecError(`${what} needs ${n} bytes, ${this.buf.length - this.pos} left`, this.pos);
  }
  u8(): number {
    this.need(1, 'u8');
    return this.buf.readUInt8(this.pos++);
  }
  i16(): number {
    this.need(2, 'int16');
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  i32(): number {
    this.need(4, 'int32');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u32(): number {
    this.need(4, 'uint32');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  i64(): number {
    this.need(8, 'int64');
    const v = this.buf.readInt32BE(this.pos) * TWO_32 + this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return v;
  }
  str(): string {
    this.need(2, 'string length');
    const n = this.buf.readUInt16BE(this.pos);
    this.need(2 + n, 'string');
    const s = this.buf.toString('utf8', this.pos + 2, this.pos + 2 + n);
    this.pos += 2 + n;
    return s;
  }
  bytes(): Buffer {
    const n = this.u32();
    this.need(n, 'records');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  count(minEntryBytes: number): number {
    const n = this.u32();
    // A count that cannot fit in what is left is garbage: refuse it before allocating anything for it.
    if (n * minEntryBytes > this.buf.length - this.pos) throw new ReplicationCodecError(`count ${n} exceeds the message`, this.pos - 4);
    return n;
  }
  version(): void {
    const v = this.u8();
    if (v !== REPLICATION_CODEC_VERSION) throw new ReplicationCodecError(`unknown version ${v}`, 0);
  }
  end(): void {
    if (this.pos !== this.buf.length) throw new ReplicationCodecError(`${this.buf.length - this.pos} trailing bytes`, this.pos);
  }
}

const strSize = (s: string) => 2 + Buffer.byteLength(s, 'utf8');

export function encodeFetchRequest(req: ReplicaFetchRequest): Buffer {
  let size = 1 + 4 + strSize(req.incarnation) + 4 + 4 + 4;
  for (const p of req.partitions) size += strSize(p.topic) + 4 + strSize(p.topicId) + 8 + 4 + 4 + 8 + 8;
  const w = new Writer(Buffer.allocUnsafe(size));
  w.u8(REPLICATION_CODEC_VERSION);
  w.i32(req.replicaId);
  w.str(req.incarnation);
  w.i32(req.maxWaitMs);
  w.i32(req.maxBytes);
  w.u32(req.partitions.length);
  for (const p of req.partitions) {
    w.str(p.topic);
    w.i32(p.partition);
    w.str(p.topicId);
    w.i64(p.fetchOffset);
    w.i32(p.lastFetchedEpoch);
    w.i32(p.currentLeaderEpoch);
    w.i64(p.highWatermark);
    w.i64(p.logStartOffset);
  }
  return w.buf;
}

export function decodeFetchRequest(buf: Buffer): ReplicaFetchRequest {
  const r = new Reader(buf);
  r.version();
  const replicaId = r.i32();
  const incarnation = r.str();
  const maxWaitMs = r.i32();
  const maxBytes = r.i32();
  const n = r.count(40);
  const partitions: ReplicaFetchPartition[] = new Array(n);
  for (let i = 0; i < n; i++) {
    partitions[i] = { topic: r.str(), partition: r.i32(), topicId: r.str(), fetchOffset: r.i64(), lastFetchedEpoch: r.i32(), currentLeaderEpoch: r.i32(), highWatermark: r.i64(), logStartOffset: r.i64() };
  }
  r.end();
  return { replicaId, incarnation, maxWaitMs, maxBytes, partitions };
}

export function encodeFetchResponse(res: ReplicaFetchResponse): Buffer {
  let size = 1 + 4;
  for (const p of res.partitions) size += strSize(p.topic) + 4 + 2 + 8 + 8 + 4 + 1 + (p.divergingEpoch ? 12 : 0) + 4 + p.records.length;
  const w = new Writer(Buffer.allocUnsafe(size));
  w.u8(REPLICATION_CODEC_VERSION);
  w.u32(res.partitions.length);
  for (const p of res.partitions) {
    w.str(p.topic);
    w.i32(p.partition);
    w.i16(p.errorCode);
    w.i64(p.highWatermark);
    w.i64(p.logStartOffset);
    w.i32(p.leaderEpoch);
    if (p.divergingEpoch) {
      w.u8(1);
      w.i32(p.divergingEpoch.epoch);
      w.i64(p.divergingEpoch.endOffset);
    } else w.u8(0);
    w.bytes(p.records);
  }
  return w.buf;
}

/** Decodes a response; each partition's `records` is a view into `buf` (no copy). */
export function decodeFetchResponse(buf: Buffer): ReplicaFetchResponse {
  const r = new Reader(buf);
  r.version();
  const n = r.count(33);
  const partitions: ReplicaFetchPartitionResponse[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const topic = r.str();
    const partition = r.i32();
    const errorCode = r.i16();
    const highWatermark = r.i64();
    const logStartOffset = r.i64();
    const leaderEpoch = r.i32();
    const flag = r.u8();
    if (flag > 1) throw new ReplicationCodecError(`bad diverging-epoch flag ${flag}`, r.pos - 1);
    const divergingEpoch = flag === 1 ? { epoch: r.i32(), endOffset: r.i64() } : undefined;
    const records = r.bytes();
    partitions[i] = divergingEpoch
      ? { topic, partition, errorCode, highWatermark, logStartOffset, leaderEpoch, divergingEpoch, records }
      : { topic, partition, errorCode, highWatermark, logStartOffset, leaderEpoch, records };
  }
  r.end();
  return { partitions };
}
