// Splits a TCP byte stream into Kafka request frames (int32 size prefix, then `size` bytes).
//
// Chunks are kept in a list and joined only when a frame is complete, so a large Produce request that
// arrives in many small reads costs one copy, not one per read. A size below the smallest valid request
// header or above the configured maximum (Kafka's socket.request.max.bytes) is a protocol violation:
// the caller closes the connection, as Kafka does.

export class FrameError extends Error {
  constructor(
    readonly code: 'FRAME_TOO_LARGE' | 'FRAME_TOO_SMALL',
    readonly size: number,
    message: string,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

/** The smallest request: int16 apiKey, int16 apiVersion, int32 correlationId. */
const MIN_REQUEST_SIZE = 8;

export class FrameSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = -1; // size of the frame being collected, -1 while the size prefix is incomplete

  /** minFrameBytes: a request needs its 8-byte header; a client reading responses passes 4 (the correlation id). */
  constructor(
    private readonly maxFrameBytes: number,
    private readonly minFrameBytes = MIN_REQUEST_SIZE,
  ) {}

  /** Feeds bytes; returns the complete frames (without their size prefix) in arrival order. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < 4) break;
        const size = this.peekInt32();
        if (size > this.maxFrameBytes) {
          throw new FrameError('FRAME_TOO_LARGE', size, `request of ${size} bytes exceeds the maximum of ${this.maxFrameBytes}`);
        }
        if (size < this.minFrameBytes) {
          throw new FrameError('FRAME_TOO_SMALL', size, `frame size ${size} is smaller than the ${this.minFrameBytes}-byte header`);
        }
        this.consume(4);
        this.need = size;
      }
      if (this.buffered < this.need) break;
      frames.push(this.consume(this.need));
      this.need = -1;
    }
    return frames;
  }

  /** Bytes held for an incomplete frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  private peekInt32(): number {
    const first = this.chunks[0];
    if (first.length >= 4) return first.readInt32BE(0);
    const head = Buffer.concat(this.chunks, Math.min(this.buffered, 4));
    return head.readInt32BE(0);
  }

  /** Removes and returns the next n buffered bytes (a slice when they sit in one chunk, else one copy). */
  private consume(n: number): Buffer {
    const first = this.chunks[0];
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[0];
        const take = Math.min(c.length, n - filled);
        c.copy(out, filled, 0, take);
        filled += take;
        if (take === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(take);
      }
    }
    this.buffered -= n;
    return out;
  }
}
