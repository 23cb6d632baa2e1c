// The seeded SASL fuzzer (test/helpers/sasl-fuzz.ts) against a whole broker of the memory runtime, time
// simulated: every session's bytes go through a ClientConnection (frame splitting, in-order answers, closing)
// of a SASL_PLAINTEXT listener into the broker's request router, as the TCP listener hands them over. Checked:
// no frame makes the router fail other than by closing the connection (no handler failure, no "SASL
// authentication broke"); no connection authenticates; before authentication nothing but ApiVersions and the
// SASL APIs is ever answered and an intact forbidden first request closes the connection without an answer
// (Kafka's SaslServerAuthenticator); no request of another API reaches a handler (kastor_requests_total counts
// none) and nothing changed (no topic, group, ACL, user or record); and afterwards a client logging in with
// SCRAM-SHA-512 produces and reads back a record.
//
// KASTOR_SASL_FUZZ_FRAMES (default 100,000: about 4 s) and KASTOR_SASL_FUZZ_SEED (default 19) replay a run or
// change its length: KASTOR_SASL_FUZZ_SEED=7 npx tsx scripts/run-tests.ts test/unit/sasl-fuzz
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryCluster, type MemoryCluster } from '../../src/runtime/memory/memory-runtime.ts';
import { createBroker, type Broker } from '../../actors/broker-actor.ts';
import { defaultBrokerConfig } from '../../src/broker/broker-config.ts';
import { ClientConnection } from '../../src/broker/client-connection.ts';
import { CloseConnection, type ConnectionInfo, type RequestHandler } from '../../src/broker/request-handler.ts';
import { connectionSecurity } from '../../src/security/connection-security.ts';
import { AuthFailureThrottle } from '../../src/security/auth-failure-throttle.ts';
import { nodeSecurityCrypto } from '../../src/runtime/node/node-security-crypto.ts';
import { saltPassword, ScramClientExchange } from '../../src/security/scram.ts';
import { decodeResponse, encodeRequest } from '../../src/protocol/frames.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch-builder.ts';
import { createLogger } from '../../src/util/logger.ts';
import { drive } from '../helpers/memory-brokers.ts';
import { fuzzSessions, SASL_KEYS, type FuzzSession } from '../helpers/sasl-fuzz.ts';

const FRAMES = Number(process.env.KASTOR_SASL_FUZZ_FRAMES ?? 100_000);
const SEED = Number(process.env.KASTOR_SASL_FUZZ_SEED ?? 19);
const TOPIC = 'fuzz-target';
/** Sessions fed at once before the clock is driven until all have settled. */
const BATCH = 64;

/** A SASL_PLAINTEXT (or PLAINTEXT) connection's security state, as the Node listener makes it. */
function security(protocol: 'SASL_PLAINTEXT' | 'PLAINTEXT', throttle: AuthFailureThrottle) {
  return connectionSecurity(protocol, protocol, '10.0.0.66', 'User:ANONYMOUS', nodeSecurityCrypto, { mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'], reauthMs: 0, throttle });
}

/** One request on a bare ConnectionInfo, the clock driven until it is answered. */
async function request<K extends number>(cluster: MemoryCluster, broker: Broker, conn: ConnectionInfo, apiKey: K, version: number, body: Parameters<typeof encodeRequest<K>>[4]) {
  let out: Buffer | null | undefined;
  void Promise.resolve(broker.requestHandler!(encodeRequest(apiKey, version, 7, 'fuzz-check', body).subarray(4), conn)).then((r) => (out = r));
  await drive(cluster, () => out !== undefined, `the answer to API key ${apiKey}`);
  return decodeResponse(apiKey, version, out!.subarray(4)).body as any;
}

test(`SASL fuzz on the request router: ${FRAMES} frames, seed ${SEED}`, async () => {
  const cluster = memoryCluster({ seed: SEED });
  const lines: string[] = [];
  const logger = createLogger({ now: () => cluster.clock.wall(), sink: (l) => void lines.push(l), level: 'warn' });
  const runtime = cluster.runtimeFor(1);
  const broker = createBroker(runtime, defaultBrokerConfig({ brokerId: 1, dataDir: '/data/b1', natsServers: [], port: 9091, defaultReplicationFactor: 1 }), { logger });
  let up = false;
  void broker.start().then(() => (up = true));
  await drive(cluster, () => up, 'the broker to start');
  await drive(cluster, () => broker.services!.metadata.snapshot().controller !== null, 'a controller');
  const started = Date.now();
  try {
    // Setup on a PLAINTEXT connection: the topic and alice's SCRAM-SHA-512 credential.
    const plain: ConnectionInfo = { id: 0, remote: '10.0.0.1:1', closed: false, security: security('PLAINTEXT', new AuthFailureThrottle()) };
    const created = await request(cluster, broker, plain, ApiKey.CreateTopics, 4, { topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
    assert.is(created.topics[0].errorCode, ErrorCode.NONE);
    const salt = Buffer.from('fuzz-salt-123456');
    const saltedPassword = await saltPassword(nodeSecurityCrypto, 'SCRAM-SHA-512', 'alice-secret', salt, 4096);
    const altered = await request(cluster, broker, plain, ApiKey.AlterUserScramCredentials, 0, { deletions: [], upsertions: [{ name: 'alice', mechanism: 2, iterations: 4096, salt, saltedPassword }] });
    assert.is(altered.results[0].errorCode, ErrorCode.NONE);
    await drive(cluster, () => broker.services!.registry.get(TOPIC, 0)?.role === 'leader', 'the topic to be led');
    const before = broker.services!.metadata.snapshot();
    const requestsBefore = await requestCounts(broker);

    // The router, watched: what went in on which connection state, and how it came out.
    const router = broker.requestHandler!;
    const violations: string[] = [];
    let answered = 0;
    let refused = 0;
    let settled = 0;
    let dispatched = 0;
    const watched: RequestHandler = (frame, conn) => {
      dispatched++;
      const sasl = conn.security!.sasl!;
      const rawToken = sasl.rawTokens;
      const key = frame.readInt16BE(0);
      return Promise.resolve(router(frame, conn)).then(
        (response) => {
          settled++;
          if (sasl.authenticated) violations.push(`connection ${conn.id} authenticated`);
          if (!rawToken && !SASL_KEYS.has(key) && response !== null) violations.push(`API key ${key} answered before authentication on connection ${conn.id}`);
          answered++;
          return response;
        },
        (err) => {
          settled++;
          if (err instanceof CloseConnection) refused++;
          else violations.push(`connection ${conn.id}: the router failed: ${(err as Error)?.stack ?? err}`);
          throw err;
        },
      );
    };

    // Every failure answered at once: the growing delay is sasl-gate.test.ts's; here it would only cost time.
    const noDelay = { failed: () => 0, succeeded: () => {} } as unknown as AuthFailureThrottle;
    let sessions = 0;
    let frames = 0;
    let silentChecked = 0;
    const run = async (batch: FuzzSession[]) => {
      const open = batch.map((s, i) => {
        const written: Buffer[] = [];
        let destroyed = false;
        const conn = new ClientConnection(
          ++sessions,
          { remote: `10.0.0.66:${10_000 + i}`, write: (r) => void written.push(r), pause: () => {}, resume: () => {}, destroy: () => void (destroyed = true) },
          { handler: watched, logger, maxRequestBytes: 100 * 1024 * 1024, maxInFlight: 128, security: security('SASL_PLAINTEXT', noDelay) },
        );
        for (const chunk of s.chunks) conn.receive(chunk);
        return { s, conn, written, destroyed: () => destroyed };
      });
      // Settled: every frame handed over was answered or refused (a size prefix promising more bytes than were sent
      // leaves its connection waiting for them, as a socket would).
      await drive(cluster, () => settled === dispatched, `a batch of fuzz sessions to settle (session ${sessions}; ${dispatched - settled} frames pending)`);
      for (const o of open) {
        frames += o.s.frames;
        if (o.s.mustCloseSilently) {
          silentChecked++;
          if (!o.destroyed() || o.written.length > 0) violations.push(`session ${o.conn.id} (${o.s.template}): a forbidden first request got ${o.written.length} answers, closed: ${o.destroyed()}`);
        }
        o.conn.peerClosed();
      }
    };
    let batch: FuzzSession[] = [];
    for (const s of fuzzSessions(SEED, FRAMES, { user: 'alice', topic: TOPIC })) {
      batch.push(s);
      if (batch.length === BATCH) await run(batch.splice(0));
      if (violations.length > 0) break;
    }
    if (batch.length > 0 && violations.length === 0) await run(batch);
    assert.equal(violations.slice(0, 5), [], `seed ${SEED}: ${violations.length} violations`);
    assert.is(frames, FRAMES);
    assert.ok(refused > FRAMES / 10 && answered > FRAMES / 10, `refused ${refused}, answered ${answered}`);
    assert.ok(silentChecked > sessions / 10, `${silentChecked} silent closes checked of ${sessions} sessions`);

    const problems = lines.filter((l) => /request handler failed|SASL authentication broke|"level":"error"/.test(l));
    assert.equal(problems.slice(0, 3), [], 'no handler failure, nothing broken');
    assert.is(broker.actor.getSnapshot().status, 'active', 'the broker runs');
    // No request of another API reached a handler, and nothing changed.
    const requestsAfter = await requestCounts(broker);
    const reached = Object.keys(requestsAfter).filter((api) => !['ApiVersions', 'SaslHandshake', 'SaslAuthenticate'].includes(api) && requestsAfter[api] !== requestsBefore[api]);
    assert.equal(reached, [], 'only ApiVersions and the SASL APIs were handled');
    const after = broker.services!.metadata.snapshot();
    assert.equal(Object.keys(after.topics).sort(), Object.keys(before.topics).sort(), 'no topic created or deleted');
    assert.equal(after.acls, before.acls, 'no ACL');
    const users = await request(cluster, broker, plain, ApiKey.DescribeUserScramCredentials, 0, { users: null });
    assert.equal(users.results.map((r: any) => r.user), ['alice'], 'no user added or removed');
    const groups = await request(cluster, broker, plain, ApiKey.ListGroups, 4, { statesFilter: [] });
    assert.equal(groups.groups, [], 'no group');
    const offsets = await request(cluster, broker, plain, ApiKey.ListOffsets, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] });
    assert.is(offsets.topics[0].partitions[0].offset, 0n, 'nothing was produced');

    // An honest client still gets in: SCRAM-SHA-512, then a Produce and a Fetch of its record.
    const conn: ConnectionInfo = { id: 0, remote: '10.0.0.66:9999', closed: false, security: security('SASL_PLAINTEXT', new AuthFailureThrottle()) };
    assert.is((await request(cluster, broker, conn, ApiKey.SaslHandshake, 1, { mechanism: 'SCRAM-SHA-512' })).errorCode, 0);
    const scram = new ScramClientExchange(nodeSecurityCrypto, 'SCRAM-SHA-512', 'alice', 'alice-secret');
    const first = await request(cluster, broker, conn, ApiKey.SaslAuthenticate, 2, { authBytes: Buffer.from(scram.clientFirstMessage()) });
    const final = await request(cluster, broker, conn, ApiKey.SaslAuthenticate, 2, { authBytes: Buffer.from(await scram.clientFinalMessage(first.authBytes.toString())) });
    assert.is(final.errorCode, ErrorCode.NONE);
    const produced = await request(cluster, broker, conn, ApiKey.Produce, 7, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value: 'after the fuzz' }] }) }] }] });
    assert.is(produced.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    const fetched = await request(cluster, broker, conn, ApiKey.Fetch, 4, { replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }] });
    assert.ok(fetched.responses[0].partitions[0].records?.includes(Buffer.from('after the fuzz')), 'the record is read back');
    console.log(`sasl fuzz: ${frames} frames in ${sessions} sessions (seed ${SEED}): ${refused} closed the connection, ${answered} answered, ${silentChecked} silent closes checked, ${Date.now() - started} ms`);
  } finally {
    let down = false;
    void broker.stop().then(() => (down = true));
    await drive(cluster, () => down, 'the broker to stop', 50);
  }
});

/** kastor_requests_total per API. */
async function requestCounts(broker: Broker): Promise<Record<string, number>> {
  const metric = await broker.services!.metrics.requests.get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels.api), v.value]));
}

test.run();
