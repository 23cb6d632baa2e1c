// The bytes inside JoinGroup metadata and SyncGroup assignments when protocol type is "consumer" (Kafka's
// ConsumerProtocolSubscription and ConsumerProtocolAssignment, non-flexible): the broker reads them only to
// answer OffsetDelete (GROUP_SUBSCRIBED_TO_TOPIC) and for `kastor groups describe`; the clients own them.
export interface Subscription {
  version: number;
  topics: string[];
}

export interface Assignment {
  version: number;
  partitions: Array<{ topic: string; partitions: number[] }>;
}

class Cursor {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  int16(): number {
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  string(): string {
    const len = this.int16();
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }
}

/** Null when the bytes are not a consumer subscription (another protocol type, or garbage). */
export function decodeSubscription(buf: Buffer): Subscription | null {
  try {
    const c = new Cursor(buf);
    const version = c.int16();
    const n = c.int32();
    const topics: string[] = [];
    for (let i = 0; i < n; i++) topics.push(c.string());
    return { version, topics };
  } catch {
    return null;
  }
}

export function decodeAssignment(buf: Buffer): Assignment | null {
  if (buf.length === 0) return { version: 0, partitions: [] };
  try {
    const c = new Cursor(buf);
    const version = c.int16();
    const n = c.int32();
    const partitions: Assignment['partitions'] = [];
    for (let i = 0; i < n; i++) {
      const topic = c.string();
      const count = c.int32();
      const ps: number[] = [];
      for (let j = 0; j < count; j++) ps.push(c.int32());
      partitions.push({ topic, partitions: ps });
    }
    return { version, partitions };
  } catch {
    return null;
  }
}
