// Hostile and broken input: decodeRequest throws ProtocolError and nothing else, carries the header facts
// the broker needs to answer, and never allocates more than the frame it was given. The fuzz test mutates the
// captured client frames 100,000 times per run (about 1-2 s; PROTOCOL_FUZZ_FRAMES and PROTOCOL_SEED change or
// replay a run).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeRequest, peekRequestHeader } from '../../src/protocol/frames.ts';
import { ProtocolError } from '../../src/protocol/protocol-error.ts';
import { Reader } from '../../src/protocol/reader.ts';
import { mulberry32 } from '../helpers/seeded-random.ts';

const dir = fileURLToPath(new URL('../fixtures/frames/', import.meta.url));
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.bin')).sort().map((f) => readFileSync(dir + f));
const SEED = Number(process.env.PROTOCOL_SEED ?? 7);
/** Mutated frames per run (PROTOCOL_FUZZ_FRAMES); 100,000 take a few seconds. */
const FUZZ_FRAMES = Number(process.env.PROTOCOL_FUZZ_FRAMES ?? 100_000);

const rng = mulberry32;

function expectProtocolError(frame: Buffer, what: string): ProtocolError {
  try {
    decodeRequest(frame);
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw new Error(`${what}: threw ${String(err)} instead of a ProtocolError`, { cause: err });
    return err;
  }
  throw new Error(`${what}: decoded without error`);
}

test('every truncation of every golden frame is MALFORMED_FRAME', () => {
  assert.ok(fixtures.length > 5);
  for (const frame of fixtures) {
    for (let n = 0; n < frame.length; n++) {
      const err = expectProtocolError(frame.subarray(0, n), `prefix ${n}/${frame.length}`);
      assert.is(err.code, 'MALFORMED_FRAME');
      if (n >= 8) assert.is(err.correlationId, frame.readInt32BE(4), 'correlation id kept for the answer');
    }
  }
});

test('bytes after a request body are ignored and counted, as Kafka ignores them', () => {
  for (const frame of fixtures) {
    const plain = decodeRequest(frame);
    assert.is(plain.trailingBytes, 0);
    const padded = decodeRequest(Buffer.concat([frame, Buffer.from([0, 0xff, 7])]));
    assert.is(padded.trailingBytes, 3);
    assert.equal(padded.body, plain.body);
  }
});

test("librdkafka 2.15's all-topics Metadata v12 request, with the 3 bytes it leaves after the body, decodes", () => {
  const frame = readFileSync(fileURLToPath(new URL('../fixtures/frames-lenient/librdkafka-2.15-metadata-v12-all-topics.bin', import.meta.url)));
  const req = decodeRequest(frame);
  assert.is(req.apiKey, 3);
  assert.is(req.header.apiVersion, 12);
  assert.is(req.header.clientId, 'rdkafka');
  assert.is(req.trailingBytes, 3);
  if (req.apiKey !== 3) return;
  assert.is(req.body.topics, null, 'null topics: every topic');
});

test('huge and negative lengths fail at their position', () => {
  // Metadata v0: header (clientId "c"), then an int32 topic count.
  const header = Buffer.from([0, 3, 0, 0, 0, 0, 0, 9, 0, 1, 0x63]);
  const huge = Buffer.concat([header, Buffer.from([0x7f, 0xff, 0xff, 0xff])]);
  let err = expectProtocolError(huge, 'huge array count');
  assert.is(err.code, 'MALFORMED_FRAME');
  assert.is(err.position, 11);
  assert.is(err.correlationId, 9);
  const negative = Buffer.concat([header, Buffer.from([0, 0, 0, 1, 0xff, 0xfb])]);
  err = expectProtocolError(negative, 'negative string length');
  assert.is(err.position, 15);
  const overlong = Buffer.concat([Buffer.from([0, 18, 0, 3, 0, 0, 0, 1, 0, 0, 0]), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])]);
  assert.is(expectProtocolError(overlong, 'uvarint over 32 bits').code, 'MALFORMED_FRAME');
});

test('unknown API keys and versions carry apiKey, apiVersion and correlationId', () => {
  let err = expectProtocolError(Buffer.from([0x03, 0xe7, 0, 0, 0, 0, 0, 42, 0xff, 0xff]), 'unknown key');
  assert.is(err.code, 'UNSUPPORTED_API_KEY');
  assert.equal([err.apiKey, err.apiVersion, err.correlationId], [999, 0, 42]);
  err = expectProtocolError(Buffer.from([0, 18, 0, 9, 0, 0, 1, 0, 0xff, 0xff, 0]), 'ApiVersions v9');
  assert.is(err.code, 'UNSUPPORTED_VERSION');
  assert.equal([err.apiKey, err.apiVersion, err.correlationId], [18, 9, 256]);
  assert.equal(peekRequestHeader(Buffer.from([0, 1, 0, 3, 0, 0, 0, 5])), { apiKey: 1, apiVersion: 3, correlationId: 5 });
  assert.is(expectProtocolError(Buffer.from([0, 1, 0]), 'short').code, 'MALFORMED_FRAME');
});

test(`fuzz: ${FUZZ_FRAMES} mutated and random frames throw only ProtocolError and allocate no more than the frame`, () => {
  const rand = rng(SEED);
  const int = (n: number) => Math.floor(rand() * n);
  // Record the largest buffer allocation the decoder asks for.
  let largest = 0;
  const originals = { alloc: Buffer.alloc, allocUnsafe: Buffer.allocUnsafe, from: Buffer.from };
  const track = <F extends (...a: any[]) => Buffer>(f: F): F =>
    ((...a: any[]) => {
      const b = f.apply(Buffer, a);
      largest = Math.max(largest, b.length);
      return b;
    }) as F;
  let decoded = 0;
  let refused = 0;
  const started = Date.now();
  try {
    for (let i = 0; i < FUZZ_FRAMES; i++) {
      const base = fixtures[int(fixtures.length)]!;
      let frame = Buffer.from(base);
      const kind = int(6);
      if (kind === 0) for (let k = 1 + int(4); k > 0; k--) frame[int(frame.length)] = int(256);
      else if (kind === 1) frame.writeInt32BE([0x7fffffff, -2, 0x10000000, 65535][int(4)]!, 8 + int(frame.length - 12));
      else if (kind === 2) for (let p = 8; p < frame.length; p++) frame[p] = int(256);
      else if (kind === 3) frame[8 + int(frame.length - 8)] = 0xff;
      // The body read as another version of its API (flexible or not, other fields): every field after the
      // first difference is misread.
      else if (kind === 4) frame.writeInt16BE(int(18), 2);
      // A byte inserted or dropped: every later field shifted.
      else {
        const at = 8 + int(frame.length - 8);
        frame = rand() < 0.5 ? Buffer.concat([frame.subarray(0, at), Buffer.from([int(256)]), frame.subarray(at)]) : Buffer.concat([frame.subarray(0, at), frame.subarray(at + 1)]);
      }
      Buffer.alloc = track(originals.alloc);
      Buffer.allocUnsafe = track(originals.allocUnsafe);
      try {
        decodeRequest(frame);
        decoded++;
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw new Error(`iteration ${i} (PROTOCOL_SEED=${SEED}): ${String(err)}`, { cause: err });
        refused++;
      } finally {
        Buffer.alloc = originals.alloc;
        Buffer.allocUnsafe = originals.allocUnsafe;
      }
      assert.ok(largest <= frame.length, `iteration ${i}: allocated ${largest} bytes for a ${frame.length}-byte frame`);
      largest = 0;
    }
  } finally {
    Object.assign(Buffer, originals);
  }
  assert.ok(refused > FUZZ_FRAMES / 4, `only ${refused} of the mutated frames were refused`);
  assert.ok(decoded + refused === FUZZ_FRAMES);
  console.log(`decoder fuzz: ${FUZZ_FRAMES} frames (PROTOCOL_SEED=${SEED}), ${refused} refused, ${decoded} decoded, ${Date.now() - started} ms`);
});


test('tagged fields are read as leniently as Kafka reads them: any order, unread bytes of a known field skipped', () => {
  // Two tagged fields, tag 5 (unknown) before tag 1 (known, 3 bytes of which the reader takes 1), then a marker.
  const bytes = Buffer.from([2, 5, 1, 0xaa, 1, 3, 7, 8, 9, 0x42]);
  const r = new Reader(bytes);
  let known = -1;
  const unknown = r.taggedFields((tag, field) => {
    if (tag !== 1) return false;
    known = field.int8();
    return true;
  });
  assert.is(known, 7);
  assert.equal(unknown, [{ tag: 5, data: Buffer.from([0xaa]) }]);
  assert.is(r.int8(), 0x42, 'the next field is read after the whole tagged section');
});

test.run();
