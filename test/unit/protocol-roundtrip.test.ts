// Round-trip property test of every generated codec: for every served API, both directions and every
// version, random messages built from the Kafka spec (not from the generated code) must encode, decode to
// an equal value, and re-encode to identical bytes. Seeded; PROTOCOL_SEED=<n> replays a failing run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { isDeepStrictEqual, inspect } from 'node:util';
import { fileURLToPath } from 'node:url';
import { SERVED } from '../../scripts/generate-protocol.ts';
import { arrayElement, fieldName, inRange, intersect, loadMessages, type FieldSpec, type MessageSpec, type VersionRange } from '../../scripts/protocol-gen/spec.ts';
import { CODECS, ApiKey } from '../../src/protocol/generated/index.ts';
import { decodeRequest, encodeRequest, decodeResponse, encodeResponse } from '../../src/protocol/frames.ts';
import { ProtocolError } from '../../src/protocol/protocol-error.ts';
import { Reader } from '../../src/protocol/reader.ts';
import { Writer } from '../../src/protocol/writer.ts';
import { mulberry32 } from '../helpers/seeded-random.ts';

const protocolDir = fileURLToPath(new URL('../../../shared/kafka-protocol', import.meta.url));
const SEED = Number(process.env.PROTOCOL_SEED ?? 20240611);
const ITERATIONS = 25;

const rng = mulberry32;

class Gen {
  constructor(
    private readonly rand: () => number,
    private readonly spec: MessageSpec,
  ) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rand() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.rand() < p;
  }
  string(): string {
    const alphabet = ['a', 'b', 'z', '0', '-', '.', '_', ' ', 'é', '✓', '😀', 'Ω'];
    let s = '';
    for (let i = this.int(0, 10); i > 0; i--) s += alphabet[this.int(0, alphabet.length - 1)];
    return s;
  }
  bytes(): Buffer {
    const b = Buffer.alloc(this.chance(0.05) ? this.int(1024, 3000) : this.int(0, 40));
    for (let i = 0; i < b.length; i++) b[i] = this.int(0, 255);
    return b;
  }
  primitive(type: string): unknown {
    switch (type) {
      case 'bool': return this.chance(0.5);
      case 'int8': return this.int(-128, 127);
      case 'int16': return this.int(-32768, 32767);
      case 'uint16': return this.int(0, 65535);
      case 'int32': return this.int(-2147483648, 2147483647);
      case 'uint32': return this.int(0, 4294967295);
      case 'int64': return BigInt.asIntN(64, (BigInt(this.int(0, 2 ** 32 - 1)) << 32n) | BigInt(this.int(0, 2 ** 32 - 1)));
      case 'float64': return (this.rand() - 0.5) * 1e12;
      case 'string': return this.string();
      case 'uuid': return Array.from({ length: 32 }, () => '0123456789abcdef'[this.int(0, 15)]).join('');
      case 'bytes': case 'records': return this.bytes();
    }
    throw new Error(`no generator for ${type}`);
  }
  /** The value a decoder fills in when version v lacks the field (the spec's default). */
  defaultOf(f: FieldSpec, ctx: VersionRange): unknown {
    const d = f.default;
    if (arrayElement(f.type)) return d === 'null' ? null : [];
    switch (f.type) {
      case 'bool': return d === 'true';
      case 'int64': return BigInt(d ?? 0);
      case 'string': return d === 'null' ? null : (d ?? '');
      case 'uuid': return '0'.repeat(32);
      case 'bytes': return d === 'null' ? null : Buffer.alloc(0);
      case 'records': return f.nullableVersions ? null : Buffer.alloc(0);
      case 'int8': case 'int16': case 'uint16': case 'int32': case 'uint32': case 'float64': return Number(d ?? 0);
    }
    return this.struct(this.structFields(f), intersect(f.versions, ctx)!, null);
  }
  structFields(f: FieldSpec): FieldSpec[] {
    const elem = arrayElement(f.type) ?? f.type;
    return f.fields ?? this.spec.commonStructs.find((s) => s.name === elem)!.fields;
  }
  /** A random struct at version v (null v = all defaults). */
  struct(fields: FieldSpec[], ctx: VersionRange, v: number | null): Record<string, unknown> {
    const m: Record<string, unknown> = {};
    for (const f of fields) {
      const present = intersect(f.versions, ctx);
      if (!present) continue; // not in the type at all
      m[fieldName(f.name)] = v !== null && inRange(present, v) ? this.value(f, present, v) : this.defaultOf(f, ctx);
    }
    if (v !== null && inRange(this.spec.flexibleVersions, v) && this.chance(0.15)) {
      const maxTag = Math.max(-1, ...fields.map((f) => f.tag ?? -1));
      const tags = [...new Set([maxTag + 1 + this.int(0, 3), maxTag + 5 + this.int(0, 200)])].sort((a, b) => a - b);
      m._unknownTaggedFields = tags.map((tag) => ({ tag, data: this.bytes() }));
    }
    return m;
  }
  value(f: FieldSpec, present: VersionRange, v: number): unknown {
    if (inRange(f.nullableVersions, v) && this.chance(0.2)) return null;
    const elem = arrayElement(f.type);
    if (elem) {
      const n = this.int(0, 3);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(this.element(f, elem, present, v));
      return out;
    }
    return this.element(f, f.type, present, v);
  }
  element(f: FieldSpec, type: string, present: VersionRange, v: number): unknown {
    if (type in PRIMS) return this.primitive(type);
    return this.struct(this.structFields(f), present, v);
  }
}
const PRIMS: Record<string, true> = { bool: true, int8: true, int16: true, uint16: true, int32: true, uint32: true, int64: true, float64: true, string: true, uuid: true, bytes: true, records: true };

function encode(fn: (w: Writer, v: number, m: any) => void, v: number, m: unknown): Buffer {
  const w = new Writer(16); // small, so growth and chunking are exercised
  fn(w, v, m);
  return Buffer.from(w.finish());
}

test('the Kafka specs are where CI expects them', () => {
  assert.ok(existsSync(protocolDir), `Kafka protocol specs not found at ${protocolDir} (expected ../shared/kafka-protocol relative to the repo root)`);
});

test('every served API and version round-trips random messages byte-identically', () => {
  const specs = loadMessages(protocolDir);
  const rand = rng(SEED);
  let checked = 0;
  for (const [name, min, max] of SERVED) {
    const apiKey = ApiKey[name as keyof typeof ApiKey];
    const codecs = CODECS[apiKey]!;
    assert.ok(codecs, `no codec for ${name}`);
    for (const kind of ['request', 'response'] as const) {
      const spec = specs.get(`${name}${kind === 'request' ? 'Request' : 'Response'}`)!;
      const range = intersect(spec.validVersions, { min, max })!;
      const gen = new Gen(rand, spec);
      for (let v = min; v <= max; v++) {
        for (let i = 0; i < ITERATIONS; i++) {
          const msg = gen.struct(spec.fields, range, v);
          const where = `${spec.name} v${v} iteration ${i} (PROTOCOL_SEED=${SEED})`;
          let bytes: Buffer;
          let decoded: unknown;
          try {
            bytes = encode(codecs[kind].encode, v, msg);
            const r = new Reader(bytes);
            decoded = codecs[kind].decode(r, v);
            assert.is(r.remaining, 0, `${where}: bytes left after decoding`);
          } catch (err) {
            throw new Error(`${where}: ${(err as Error).message}\n${inspect(msg, { depth: 10 })}`, { cause: err });
          }
          if (!isDeepStrictEqual(decoded, msg)) {
            assert.unreachable(`${where}: decoded value differs\nsent ${inspect(msg, { depth: 10 })}\ngot  ${inspect(decoded, { depth: 10 })}`);
          }
          assert.ok(encode(codecs[kind].encode, v, decoded).equals(bytes), `${where}: re-encoding is not byte-identical`);
          checked++;
        }
      }
    }
  }
  assert.ok(checked > 5000, `only ${checked} messages checked`);
});

test('frames: encodeRequest/decodeRequest and encodeResponse/decodeResponse round-trip with headers', () => {
  const specs = loadMessages(protocolDir);
  const rand = rng(SEED + 1);
  for (const [name, min, max] of SERVED) {
    const apiKey = ApiKey[name as keyof typeof ApiKey];
    const req = specs.get(`${name}Request`)!;
    const res = specs.get(`${name}Response`)!;
    for (let v = min; v <= max; v++) {
      const body = new Gen(rand, req).struct(req.fields, intersect(req.validVersions, { min, max })!, v);
      const frame = encodeRequest(apiKey as number, v, 7 + v, v % 2 ? 'kastor-test' : null, body);
      assert.is(frame.readInt32BE(0), frame.length - 4);
      const d = decodeRequest(frame.subarray(4));
      assert.equal(d.header, { apiKey, apiVersion: v, correlationId: 7 + v, clientId: v % 2 ? 'kastor-test' : null });
      assert.ok(isDeepStrictEqual(d.body, body), `${name} v${v} request body (PROTOCOL_SEED=${SEED})`);

      const rbody = new Gen(rand, res).struct(res.fields, intersect(res.validVersions, { min, max })!, v);
      const rframe = encodeResponse(apiKey as number, v, 99, rbody);
      assert.is(rframe.readInt32BE(0), rframe.length - 4);
      const back = decodeResponse(apiKey as number, v, rframe.subarray(4));
      assert.is(back.correlationId, 99);
      assert.ok(isDeepStrictEqual(back.body, rbody), `${name} v${v} response body (PROTOCOL_SEED=${SEED})`);
    }
  }
});

test('encoding refuses to drop a non-ignorable field the version cannot carry, as Kafka does', () => {
  const w = new Writer();
  const msg = { topics: [], timeoutMs: 1000, validateOnly: true };
  try {
    CODECS[ApiKey.CreateTopics]!.request.encode(w, 0, msg);
    assert.unreachable('validateOnly=true must not be dropped silently at v0');
  } catch (err) {
    assert.instance(err, ProtocolError);
    assert.is((err as ProtocolError).code, 'UNREPRESENTABLE_VALUE');
  }
  // An ignorable field (ThrottleTimeMs, absent in Produce v0) is dropped.
  const produce = encode(CODECS[ApiKey.Produce]!.response.encode, 0, { responses: [], throttleTimeMs: 5 });
  assert.equal([...produce], [0, 0, 0, 0]);
});

test('decoding a version that lacks a field fills the spec default', () => {
  // Fetch v4 has no LogStartOffset (5+, default -1) and no PreferredReadReplica (11+, default -1).
  const w = new Writer();
  w.int32(0); // throttle
  w.int32(1); // one topic
  w.string('t', false);
  w.int32(1); // one partition
  w.int32(0); w.int16(0); w.int64(10n); w.int64(10n);
  w.int32(-1); // aborted transactions: null
  w.nullableBytes(null, false);
  const m = CODECS[ApiKey.Fetch]!.response.decode(new Reader(w.finish()), 4) as any;
  const p = m.responses[0].partitions[0];
  assert.is(p.logStartOffset, -1n);
  assert.is(p.preferredReadReplica, -1);
  assert.is(m.sessionId, 0);
  assert.is(m.responses[0].topicId, '00000000000000000000000000000000');
});

test.run();
