// The Kafka listener: framing, in-order responses for pipelined requests, null responses, and bad frames
// closing only their own connection.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import { FrameSplitter, FrameError } from '../../src/protocol/frame-splitter.ts';
import { KafkaListener, CloseConnection } from '../../src/runtime/node/kafka-listener.ts';
import { silentLogger } from '../../src/util/logger.ts';

function frame(apiKey: number, correlationId: number, extra = 0): Buffer {
  const b = Buffer.alloc(4 + 8 + extra);
  b.writeInt32BE(8 + extra, 0);
  b.writeInt16BE(apiKey, 4);
  b.writeInt16BE(0, 6);
  b.writeInt32BE(correlationId, 8);
  return b;
}

test('splitter reassembles frames split across reads and joins several in one read', () => {
  const s = new FrameSplitter(1024);
  const all = Buffer.concat([frame(1, 1, 10), frame(2, 2), frame(3, 3, 100)]);
  const got: Buffer[] = [];
  for (let i = 0; i < all.length; i += 3) got.push(...s.push(all.subarray(i, i + 3)));
  assert.equal(got.map((f) => f.readInt32BE(4)), [1, 2, 3]);
  assert.equal(got.map((f) => f.length), [18, 8, 108]);
  assert.is(s.pendingBytes, 0);
  const s2 = new FrameSplitter(1024);
  assert.equal(s2.push(all).length, 3);
});

test('splitter refuses oversized and undersized frames', () => {
  const big = Buffer.alloc(4);
  big.writeInt32BE(2048);
  assert.throws(() => new FrameSplitter(1024).push(big), (e: FrameError) => e.code === 'FRAME_TOO_LARGE');
  const neg = Buffer.alloc(4);
  neg.writeInt32BE(-5);
  assert.throws(() => new FrameSplitter(1024).push(neg), (e: FrameError) => e.code === 'FRAME_TOO_SMALL');
});

function client(port: number): { socket: Socket; responses: number[]; closed: Promise<void> } {
  const socket = connect(port, '127.0.0.1');
  const responses: number[] = [];
  const splitter = new FrameSplitter(1 << 20);
  socket.on('data', (d) => {
    for (const f of splitter.push(d)) responses.push(f.readInt32BE(4));
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  return { socket, responses, closed };
}

async function until(pred: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}

test('pipelined requests are answered in order even when handled out of order; null sends nothing', async () => {
  const listener = new KafkaListener({
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger,
    handler: async (f) => {
      const correlationId = f.readInt32BE(4);
      const apiKey = f.readInt16BE(0);
      // later requests finish first
      await new Promise((r) => setTimeout(r, 50 - correlationId * 5));
      if (apiKey === 99) return null;
      return frame(0, correlationId);
    },
  });
  await listener.start();
  const c = client(listener.port);
  try {
    c.socket.write(Buffer.concat([frame(1, 1), frame(1, 2), frame(99, 3), frame(1, 4), frame(1, 5)]));
    await until(() => c.responses.length === 4);
    assert.equal(c.responses, [1, 2, 4, 5]);
  } finally {
    c.socket.destroy();
    await listener.stop();
  }
});

test('an oversized frame or a CloseConnection closes only that connection', async () => {
  const listener = new KafkaListener({
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger,
    maxRequestBytes: 1000,
    handler: (f) => {
      if (f.readInt16BE(0) === 66) throw new CloseConnection('unknown api key');
      return frame(0, f.readInt32BE(4));
    },
  });
  await listener.start();
  const good = client(listener.port);
  const bad = client(listener.port);
  const bad2 = client(listener.port);
  try {
    const huge = Buffer.alloc(4);
    huge.writeInt32BE(5000);
    bad.socket.write(huge);
    bad2.socket.write(frame(66, 7));
    await bad.closed;
    await bad2.closed;
    good.socket.write(frame(1, 42));
    await until(() => good.responses.length === 1);
    assert.equal(good.responses, [42]);
    assert.equal(bad2.responses, []);
  } finally {
    good.socket.destroy();
    await listener.stop();
  }
});

test('stop() answers requests already in flight before closing', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let entered = false;
  const listener = new KafkaListener({
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger,
    handler: async (f) => {
      entered = true;
      await gate;
      return frame(0, f.readInt32BE(4));
    },
  });
  await listener.start();
  const c = client(listener.port);
  c.socket.write(frame(1, 9));
  await until(() => entered);
  const stopping = listener.stop();
  release();
  await stopping;
  await c.closed;
  assert.equal(c.responses, [9]);
});

test.run();
