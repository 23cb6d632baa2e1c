// Kafka's listener configuration (src/security/listeners.ts) and SCRAM's arithmetic (src/security/scram.ts):
// the RFC 7677 exchange reproduced byte for byte by the client side, a server that accepts the right password
// and refuses a wrong one, PLAIN checked against the stored SCRAM keys, and the failure throttle's growing delay.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { endpointFor, resolveListeners } from '../../src/security/listeners.ts';
import { credentialFromSaltedPassword, parseClientFirst, passwordMatches, saltPassword, ScramClientExchange, ScramServerExchange } from '../../src/security/scram.ts';
import { nodeSecurityCrypto } from '../../src/runtime/node/node-security-crypto.ts';
import { AuthFailureThrottle, MAX_DELAY_MS } from '../../src/security/auth-failure-throttle.ts';
import type { BrokerInfo } from '../../src/metadata/types.ts';

test('listeners, advertised.listeners and the protocol map resolve to named listeners', () => {
  const ls = resolveListeners('INTERNAL://127.0.0.1:9092,EXTERNAL://:9093', 'EXTERNAL://kafka.example:443', 'INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL');
  assert.equal(ls, [
    { name: 'INTERNAL', securityProtocol: 'PLAINTEXT', host: '127.0.0.1', port: 9092, advertisedHost: '127.0.0.1', advertisedPort: 9092 },
    { name: 'EXTERNAL', securityProtocol: 'SASL_SSL', host: '0.0.0.0', port: 9093, advertisedHost: 'kafka.example', advertisedPort: 443 },
  ]);
  // A listener named after a protocol needs no map entry.
  assert.is(resolveListeners('SSL://127.0.0.1:1', undefined, undefined)[0]!.securityProtocol, 'SSL');
  assert.throws(() => resolveListeners('CLIENT://127.0.0.1:1', undefined, undefined), /no security protocol for listener CLIENT/);
  assert.throws(() => resolveListeners('PLAINTEXT://127.0.0.1:1', 'OTHER://a:1', undefined), /OTHER is not one of the listeners/);
  assert.throws(() => resolveListeners('PLAINTEXT://127.0.0.1:1,PLAINTEXT://127.0.0.1:2', undefined, undefined), /given twice/);
  assert.throws(() => resolveListeners('A://h:1', undefined, 'A:TLS'), /expected NAME:PROTOCOL/);
});

test('endpointFor answers the address of the listener asked for; old registrations have PLAINTEXT only', () => {
  const b: BrokerInfo = { id: 1, host: '10.0.0.1', port: 9092, rack: null, incarnation: 'x', registeredAt: 0, endpoints: [
    { listener: 'INTERNAL', securityProtocol: 'PLAINTEXT', host: '10.0.0.1', port: 9092 },
    { listener: 'EXTERNAL', securityProtocol: 'SASL_SSL', host: 'kafka.example', port: 443 },
  ] };
  assert.equal(endpointFor(b, 'EXTERNAL'), { host: 'kafka.example', port: 443 });
  assert.equal(endpointFor(b, 'INTERNAL'), { host: '10.0.0.1', port: 9092 });
  assert.is(endpointFor(b, 'PLAINTEXT'), null);
  const old: BrokerInfo = { ...b, endpoints: undefined };
  assert.equal(endpointFor(old, undefined), { host: '10.0.0.1', port: 9092 });
  assert.is(endpointFor(old, 'EXTERNAL'), null);
});

test('SCRAM-SHA-256: the client side reproduces RFC 7677 section 3 exactly', async () => {
  const nonce = Buffer.from('rOprNGfwEbeRWgbNEkqO', 'base64url');
  const crypto = { ...nodeSecurityCrypto, freshBytes: () => nonce };
  const client = new ScramClientExchange(crypto, 'SCRAM-SHA-256', 'user', 'pencil');
  assert.is(client.clientFirstMessage(), 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
  const serverFirst = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
  assert.is(await client.clientFinalMessage(serverFirst), 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
  assert.ok(client.verifyServerFinal('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='));
  assert.not.ok(client.verifyServerFinal('v=AAAA'));
});

for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
  test(`${mechanism}: the server accepts the password its stored keys came from, refuses another, and PLAIN checks against the same keys`, async () => {
    const c = nodeSecurityCrypto;
    const salt = c.freshBytes(16);
    const credential = credentialFromSaltedPassword(c, mechanism, salt, 4096, await saltPassword(c, mechanism, 'secret', salt, 4096));
    const login = async (password: string) => {
      const client = new ScramClientExchange(c, mechanism, 'al,ice=', password);
      const first = parseClientFirst(client.clientFirstMessage());
      assert.is(first.user, 'al,ice=');
      const server = new ScramServerExchange(c, mechanism, first, credential);
      const final = await client.clientFinalMessage(server.serverFirstMessage());
      return client.verifyServerFinal(server.finish(final));
    };
    assert.ok(await login('secret'));
    try {
      await login('guess');
      assert.unreachable('a wrong password was accepted');
    } catch (err) {
      assert.match((err as Error).message, /invalid credentials/);
    }
    assert.ok(await passwordMatches(c, mechanism, credential, 'secret'));
    assert.not.ok(await passwordMatches(c, mechanism, credential, 'Secret'));
    // The stored keys are not the salted password (what a client proves it can compute).
    assert.not.ok(credential.storedKey.equals(await saltPassword(c, mechanism, 'secret', salt, 4096)));
  });
}

test('failed logins from one address wait longer each time, up to a bound; a success forgets them', () => {
  const t = new AuthFailureThrottle();
  const delays = Array.from({ length: 12 }, (_, i) => t.failed('10.0.0.9', i));
  assert.equal(delays.slice(0, 4), [100, 200, 400, 800]);
  assert.is(delays.at(-1), MAX_DELAY_MS);
  assert.is(t.failed('10.0.0.8', 20), 100);
  t.succeeded('10.0.0.9');
  assert.is(t.failed('10.0.0.9', 30), 100);
});

test.run();
