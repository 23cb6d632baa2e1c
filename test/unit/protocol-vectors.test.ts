// Hand-checked byte vectors, written out from the Kafka protocol guide rather than produced by the codecs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeRequest, encodeRequest, encodeResponse, decodeResponse, requestHeaderVersion, responseHeaderVersion } from '../../src/protocol/frames.ts';
import { ApiKey, ErrorCode, ERRORS, SUPPORTED_VERSIONS, FLEXIBLE_FROM } from '../../src/protocol/generated/index.ts';
import { Reader } from '../../src/protocol/reader.ts';
import { Writer } from '../../src/protocol/writer.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('ApiVersions v3 request as librdkafka sends it (request header v2, compact body)', () => {
  const frame = hex(
    '0012 0003 00000001' + // apiKey 18, version 3, correlationId 1
      '0007 72646b61666b61' + // clientId "rdkafka": header v2 keeps a classic int16-length string
      '00' + // header tagged fields
      '0b 6c696272646b61666b61' + // compact string "librdkafka" (length + 1 = 11)
      '06 322e302e32' + // compact string "2.0.2"
      '00', // body tagged fields
  );
  const req = decodeRequest(frame);
  assert.equal(req.header, { apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'rdkafka' });
  assert.equal(req.body, { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' });
  const again = encodeRequest(ApiKey.ApiVersions, 3, 1, 'rdkafka', { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' });
  assert.ok(again.subarray(4).equals(frame));
});

test('Metadata v0 request for topic "t"', () => {
  const frame = hex('0003 0000 00000007 0001 63 00000001 0001 74');
  const req = decodeRequest(frame);
  assert.equal(req.header, { apiKey: 3, apiVersion: 0, correlationId: 7, clientId: 'c' });
  assert.is(req.apiKey, ApiKey.Metadata);
  if (req.apiKey === ApiKey.Metadata) assert.equal(req.body.topics?.map((t) => t.name), ['t']);
  const out = encodeRequest(ApiKey.Metadata, 0, 7, 'c', { topics: [{ name: 't' }] });
  assert.ok(out.equals(Buffer.concat([hex('00000012'), frame])));
});

test('ApiVersions v3 response uses response header v0; flexible responses use v1', () => {
  assert.is(responseHeaderVersion(ApiKey.ApiVersions, 3), 0);
  assert.is(responseHeaderVersion(ApiKey.Metadata, 9), 1);
  assert.is(responseHeaderVersion(ApiKey.Metadata, 8), 0);
  assert.is(requestHeaderVersion(ApiKey.ApiVersions, 3), 2);
  assert.is(requestHeaderVersion(ApiKey.Produce, 8), 1);
  assert.is(requestHeaderVersion(ApiKey.ControlledShutdown, 0), 0);
  const out = encodeResponse(ApiKey.ApiVersions, 3, 5, { errorCode: 0, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }], throttleTimeMs: 0 });
  // size 19 | correlationId 5 (no header tag buffer) | errorCode 0 | compact array of 1 | 18 0 3 + tags | throttle 0 | tags
  assert.is(out.toString('hex'), '00000013' + '00000005' + '0000' + '02' + '0012' + '0000' + '0003' + '00' + '00000000' + '00');
  assert.is(decodeResponse(ApiKey.ApiVersions, 3, out.subarray(4)).body.apiKeys[0]!.maxVersion, 3);
});

test('Fetch v12 request: a known tagged field (ClusterId, tag 0) and compact encodings', () => {
  const msg = {
    clusterId: 'c1', replicaId: -1, maxWaitMs: 500, minBytes: 1, maxBytes: 1024, isolationLevel: 1, sessionId: 0, sessionEpoch: -1,
    topics: [], forgottenTopicsData: [], rackId: '',
  };
  const frame = encodeRequest(ApiKey.Fetch, 12, 1, null, msg).subarray(4);
  const expected = hex(
    '0001 000c 00000001 ffff 00' + // header v2: Fetch v12, correlationId 1, null clientId, no tags
      'ffffffff 000001f4 00000001 00000400 01 00000000 ffffffff' + // replicaId .. sessionEpoch
      '01 01 01' + // empty compact topics, forgotten topics; rackId ""
      '01 00 03 03 6331', // one tagged field: tag 0, 3 bytes, compact string "c1"
  );
  assert.is(frame.toString('hex'), expected.toString('hex'));
  const req = decodeRequest(frame);
  assert.is(req.apiKey, ApiKey.Fetch);
  if (req.apiKey === ApiKey.Fetch) assert.is(req.body.clusterId, 'c1');
  // The default (null) is not sent: the tag section is empty.
  const bare = encodeRequest(ApiKey.Fetch, 12, 1, null, { ...msg, clusterId: null }).subarray(4);
  assert.is(bare[bare.length - 1], 0);
  // An unknown tag is kept and written back in tag order.
  const withUnknown = Buffer.concat([frame.subarray(0, frame.length - 6), hex('02 00 03 03 6331 05 01 ff')]);
  const kept = decodeRequest(withUnknown);
  assert.equal((kept.body as { _unknownTaggedFields?: unknown })._unknownTaggedFields, [{ tag: 5, data: hex('ff') }]);
  assert.ok(encodeRequest(ApiKey.Fetch, 12, 1, null, kept.body as typeof msg).subarray(4).equals(withUnknown));
});

test('error table and version table', () => {
  assert.is(ErrorCode.NONE, 0);
  assert.is(ErrorCode.UNKNOWN_SERVER_ERROR, -1);
  assert.is(ErrorCode.CORRUPT_MESSAGE, 2);
  assert.is(ErrorCode.UNSUPPORTED_VERSION, 35);
  assert.equal(ERRORS[-1]!.name, 'UNKNOWN_SERVER_ERROR');
  assert.is(ERRORS[ErrorCode.NOT_LEADER_OR_FOLLOWER]!.retriable, true);
  assert.is(ERRORS[ErrorCode.MESSAGE_TOO_LARGE]!.retriable, false);
  assert.equal(SUPPORTED_VERSIONS[ApiKey.Produce], { min: 0, max: 9 });
  assert.equal(SUPPORTED_VERSIONS[ApiKey.Fetch], { min: 0, max: 13 }); // v0-v3 down-converted to message formats v0/v1
  assert.equal(SUPPORTED_VERSIONS[ApiKey.OffsetDelete], { min: 0, max: 0 });
  assert.equal(SUPPORTED_VERSIONS[ApiKey.CreatePartitions], { min: 0, max: 3 });
  // Generated: 44 APIs (issue 18's admin APIs, issue 19's SASL, SCRAM and ACL ones and issue 17's transactional
  // ones among them; ApiVersions advertises only those with a handler).
  assert.is(Object.keys(SUPPORTED_VERSIONS).length, 44);
  assert.equal(SUPPORTED_VERSIONS[ApiKey.CreateAcls], { min: 0, max: 3 });
  assert.equal(SUPPORTED_VERSIONS[ApiKey.EndTxn], { min: 0, max: 3 }); // clients' versions: v4 adds TRANSACTION_ABORTABLE
  assert.equal(SUPPORTED_VERSIONS[ApiKey.SaslAuthenticate], { min: 0, max: 2 });
  assert.equal(SUPPORTED_VERSIONS[ApiKey.OffsetForLeaderEpoch], { min: 0, max: 4 });
  assert.is(FLEXIBLE_FROM[ApiKey.Produce], 9);
  assert.is(FLEXIBLE_FROM[ApiKey.OffsetDelete], null);
});

test('Reader/Writer primitives: varints, uuid, large buffers referenced once', () => {
  const w = new Writer(8);
  w.uvarint(0);
  w.uvarint(300);
  w.uvarint(0xffffffff);
  w.uuid('0123456789abcdef0123456789abcdef');
  const big = Buffer.alloc(5000, 7);
  w.bytes(big, true);
  w.int64(-2n);
  const out = w.finish();
  assert.is(out.subarray(0, 8).toString('hex'), '00ac02ffffffff0f');
  const r = new Reader(out);
  assert.is(r.uvarint(), 0);
  assert.is(r.uvarint(), 300);
  assert.is(r.uvarint(), 0xffffffff);
  assert.is(r.uuid(), '0123456789abcdef0123456789abcdef');
  assert.ok(r.bytes(true).equals(big));
  assert.is(r.int64(), -2n);
  assert.is(r.remaining, 0);
});

test.run();
