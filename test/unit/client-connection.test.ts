// A client connection without a socket (src/broker/client-connection.ts): the bytes a client sends, split at
// any point, reach the handler as frames; responses leave in request order whatever order the handler
// finishes in, a null response sends nothing, reading pauses at the in-flight limit and resumes at half of it,
// and a bad frame or a CloseConnection drops only this connection. What a simulator relies on to drive a broker
// with the bytes real clients send.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ClientConnection, type ConnectionSink } from '../../src/broker/client-connection.ts';
import { CloseConnection } from '../../src/broker/request-handler.ts';
import { silentLogger } from '../../src/util/logger.ts';

/** A request frame with its size prefix: apiKey, apiVersion 0, correlationId. */
function frame(apiKey: number, correlationId: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeInt32BE(8, 0);
  b.writeInt16BE(apiKey, 4);
  b.writeInt16BE(0, 6);
  b.writeInt32BE(correlationId, 8);
  return b;
}

function sink(): ConnectionSink & { written: number[]; events: string[] } {
  const s = {
    remote: 'sim:1',
    written: [] as number[],
    events: [] as string[],
    write: (r: Buffer) => void s.written.push(r.readInt32BE(8)), // the correlation id after size, key and version
    pause: () => void s.events.push('pause'),
    resume: () => void s.events.push('resume'),
    destroy: () => void s.events.push('destroy'),
  };
  return s;
}

const settle = () => new Promise((r) => setImmediate(r));

test('frames split anywhere; answers in request order; null sends nothing; back-pressure at the in-flight limit', async () => {
  const out = sink();
  const waiting = new Map<number, (r: Buffer | null) => void>();
  const conn = new ClientConnection(1, out, {
    logger: silentLogger,
    maxRequestBytes: 1024,
    maxInFlight: 4,
    handler: (f, info) => {
      assert.is(info.remote, 'sim:1');
      const id = f.readInt32BE(4);
      return new Promise<Buffer | null>((resolve) => waiting.set(id, resolve));
    },
  });
  const bytes = Buffer.concat([1, 2, 3, 4].map((id) => frame(1, id)));
  conn.receive(bytes.subarray(0, 5));
  conn.receive(bytes.subarray(5, 30));
  conn.receive(bytes.subarray(30));
  assert.equal([...waiting.keys()], [1, 2, 3, 4]);
  assert.equal(out.events, ['pause'], 'four in flight: reading pauses');
  const answer = (id: number, r: Buffer | null) => waiting.get(id)!(r);
  answer(4, frame(0, 4));
  answer(2, null); // acks=0
  await settle();
  assert.equal(out.written, [], 'nothing before the first request is answered');
  answer(1, frame(0, 1));
  await settle();
  assert.equal(out.written, [1], '2 sent nothing, 3 holds 4 back');
  assert.equal(out.events, ['pause'], 'still 2 in flight: not below half the limit');
  answer(3, frame(0, 3));
  await settle();
  assert.equal(out.written, [1, 3, 4]);
  assert.equal(out.events, ['pause', 'resume']);
  assert.ok(conn.idle);
});

test('a bad frame or a CloseConnection drops the connection; a peer that left marks it closed', async () => {
  const tooBig = sink();
  const a = new ClientConnection(1, tooBig, { logger: silentLogger, maxRequestBytes: 4, maxInFlight: 8, handler: () => null });
  a.receive(frame(1, 1));
  assert.equal(tooBig.events, ['destroy']);
  assert.ok(a.closed);

  const refused = sink();
  const b = new ClientConnection(2, refused, {
    logger: silentLogger,
    maxRequestBytes: 1024,
    maxInFlight: 8,
    handler: () => {
      throw new CloseConnection('unknown api key');
    },
  });
  b.receive(frame(66, 1));
  assert.equal(refused.events, ['destroy']);
  b.receive(frame(1, 2)); // after the close: ignored
  assert.equal(refused.written, []);

  const left = sink();
  const c = new ClientConnection(3, left, { logger: silentLogger, maxRequestBytes: 1024, maxInFlight: 8, handler: async () => frame(0, 1) });
  c.peerClosed();
  assert.ok(c.closed, 'a long-polling Fetch sees the client gone');
});

test.run();
