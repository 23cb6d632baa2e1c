// The SASL side of the request router on whole brokers of the memory runtime, time simulated: what a SASL
// listener's connection may send before authentication (ApiVersions and SASL only: anything else closes it),
// PLAIN and SCRAM-SHA-512 against credentials made through AlterUserScramCredentials, a wrong password answered
// with SASL_AUTHENTICATION_FAILED after a delay that grows per failure and then closing, and KIP-368's session
// lifetime: the first request after it closes the connection.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryCluster } from '../../src/runtime/memory/memory-runtime.ts';
import { drive, startBrokers } from '../helpers/memory-brokers.ts';
import { decodeResponse, encodeRequest } from '../../src/protocol/frames.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { CloseConnection, type ConnectionInfo } from '../../src/broker/request-handler.ts';
import { connectionSecurity } from '../../src/security/connection-security.ts';
import { AuthFailureThrottle } from '../../src/security/auth-failure-throttle.ts';
import { nodeSecurityCrypto } from '../../src/runtime/node/node-security-crypto.ts';
import { saltPassword, ScramClientExchange } from '../../src/security/scram.ts';
import type { Broker } from '../../actors/broker-actor.ts';
import type { MemoryCluster } from '../../src/runtime/memory/memory-runtime.ts';

const REAUTH_MS = 60_000;

function connection(protocol: 'PLAINTEXT' | 'SASL_PLAINTEXT', throttle = new AuthFailureThrottle()) {
  const conn = {
    id: 1,
    remote: '10.0.0.7:5000',
    closed: false,
    closing: null as string | null,
    security: connectionSecurity(protocol, protocol, '10.0.0.7', 'User:ANONYMOUS', nodeSecurityCrypto, { mechanisms: ['PLAIN', 'SCRAM-SHA-512'], reauthMs: REAUTH_MS, throttle }),
    closeAfterResponses(reason: string) {
      conn.closing = reason;
    },
  };
  return conn satisfies ConnectionInfo;
}

/** One request on `conn`; the simulated clock moves until it is answered (or refused: the CloseConnection). */
async function request<K extends number>(cluster: MemoryCluster, broker: Broker, conn: ConnectionInfo, apiKey: K, version: number, body: Parameters<typeof encodeRequest<K>>[4]) {
  let out: { answer: Buffer | null } | { refused: unknown } | undefined;
  Promise.resolve(broker.requestHandler!(encodeRequest(apiKey, version, 7, 'sim', body).subarray(4), conn)).then(
    (answer) => (out = { answer }),
    (refused) => (out = { refused }),
  );
  const simulatedMs = await drive(cluster, () => out !== undefined, `the answer to API key ${apiKey}`);
  if ('refused' in out!) return { refused: out.refused as Error, simulatedMs };
  return { body: decodeResponse(apiKey, version, out!.answer!.subarray(4)).body as any, simulatedMs };
}

const METADATA = { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false };

test('SASL on the router: gate, PLAIN, SCRAM, failures slowed down, session expiry', async () => {
  const cluster = memoryCluster({ seed: 19 });
  const { brokers, stop } = await startBrokers(cluster);
  const b = brokers[0]!;
  try {
    // A credential for alice through AlterUserScramCredentials on a PLAINTEXT connection (no SASL gate there).
    const salt = Buffer.from('0123456789abcdef');
    const saltedPassword = await saltPassword(nodeSecurityCrypto, 'SCRAM-SHA-512', 'secret', salt, 4096);
    const alter = await request(cluster, b, connection('PLAINTEXT'), ApiKey.AlterUserScramCredentials, 0, { deletions: [], upsertions: [{ name: 'alice', mechanism: 2, iterations: 4096, salt, saltedPassword }] });
    assert.equal(alter.body.results, [{ user: 'alice', errorCode: 0, errorMessage: null }]);
    const tooFew = await request(cluster, b, connection('PLAINTEXT'), ApiKey.AlterUserScramCredentials, 0, { deletions: [], upsertions: [{ name: 'bob', mechanism: 1, iterations: 1000, salt, saltedPassword }] });
    assert.is(tooFew.body.results[0].errorCode, ErrorCode.UNACCEPTABLE_CREDENTIAL);
    const described = await request(cluster, b, connection('PLAINTEXT'), ApiKey.DescribeUserScramCredentials, 0, { users: null });
    assert.equal(described.body.results.map((r: any) => [r.user, r.credentialInfos.map((c: any) => [c.mechanism, c.iterations])]), [['alice', [[2, 4096]]]]);

    // Before authentication: ApiVersions yes, Metadata closes the connection.
    const throttle = new AuthFailureThrottle();
    const conn = connection('SASL_PLAINTEXT', throttle);
    assert.is((await request(cluster, b, conn, ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' })).body.errorCode, 0);
    const early = await request(cluster, b, conn, ApiKey.Metadata, 12, METADATA);
    assert.ok(early.refused instanceof CloseConnection);
    assert.match(early.refused.message, /before SASL authentication completed/);

    // Wrong PLAIN passwords: SASL_AUTHENTICATION_FAILED, answered later each time, then the connection closes.
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const bad = connection('SASL_PLAINTEXT', throttle);
      assert.is((await request(cluster, b, bad, ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' })).body.errorCode, 0);
      const r = await request(cluster, b, bad, ApiKey.SaslAuthenticate, 2, { authBytes: Buffer.from('\0alice\0guess') });
      assert.is(r.body.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
      assert.match(r.body.errorMessage, /invalid credentials with SASL mechanism PLAIN/);
      assert.ok(bad.closing);
      delays.push(r.simulatedMs);
    }
    assert.ok(delays[0]! >= 100 && delays[1]! >= 200 && delays[2]! >= 400, `delays ${delays}`);
    const unknownMechanism = connection('SASL_PLAINTEXT', throttle);
    const hs = await request(cluster, b, unknownMechanism, ApiKey.SaslHandshake, 1, { mechanism: 'GSSAPI' });
    assert.is(hs.body.errorCode, ErrorCode.UNSUPPORTED_SASL_MECHANISM);
    assert.equal(hs.body.mechanisms, ['PLAIN', 'SCRAM-SHA-512']);

    // SCRAM-SHA-512: two rounds, the server proves itself, the principal is the user, a session of REAUTH_MS.
    assert.is((await request(cluster, b, conn, ApiKey.SaslHandshake, 1, { mechanism: 'SCRAM-SHA-512' })).body.errorCode, 0);
    const scram = new ScramClientExchange(nodeSecurityCrypto, 'SCRAM-SHA-512', 'alice', 'secret');
    const first = await request(cluster, b, conn, ApiKey.SaslAuthenticate, 2, { authBytes: Buffer.from(scram.clientFirstMessage()) });
    const final = await request(cluster, b, conn, ApiKey.SaslAuthenticate, 2, { authBytes: Buffer.from(await scram.clientFinalMessage(first.body.authBytes.toString())) });
    assert.is(final.body.errorCode, 0);
    assert.ok(scram.verifyServerFinal(final.body.authBytes.toString()));
    assert.is(final.body.sessionLifetimeMs, BigInt(REAUTH_MS));
    assert.is(conn.security.principal, 'User:alice');
    assert.is((await request(cluster, b, conn, ApiKey.Metadata, 12, METADATA)).body.clusterId, b.services!.metadata.snapshot().clusterId);

    // After the session: the next request closes the connection.
    cluster.clock.advance(REAUTH_MS);
    const late = await request(cluster, b, conn, ApiKey.Metadata, 12, METADATA);
    assert.ok(late.refused instanceof CloseConnection);
    assert.match(late.refused.message, /SASL session expired/);
  } finally {
    await stop();
  }
});

test.run();
