// The NATS authorization block (src/security/nats-authorization.ts), the credentials file format
// (src/security/nats-credentials.ts) and the connection options read from the files (nats-connection.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokerPermissions, natsAuthorizationConfig } from '../../src/security/nats-authorization.ts';
import { formatNatsCredentials, NO_NATS_SECURITY, parseNatsCredentials } from '../../src/security/nats-credentials.ts';
import { natsSecurityOptions, NatsSecurityFileError } from '../../src/runtime/node/nats-connection.ts';
import { ensureNatsNkey } from '../../src/cli/nats-config-command.ts';
import { subjectsFor } from '../../src/transport/subjects.ts';

const dir = mkdtempSync(join(tmpdir(), 'kastor-nats-auth-unit-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** NATS subject matching: `*` one token, `>` the rest. */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

test("brokers may use every subject of their cluster, and none of another cluster's", () => {
  const perms = brokerPermissions('kastor-metadata');
  const own = subjectsFor('kastor-metadata');
  for (const subject of [own.heartbeat, own.replicaFetch(3), own.alterIsr, own.txnMarkers(1), own.alive(2), '$KV.kastor-metadata.topics.orders', '$JS.API.STREAM.INFO.KV_kastor-metadata', '$JS.API.CONSUMER.CREATE.KV_kastor-metadata']) {
    assert.ok(perms.publish.some((p) => matches(p, subject)), `publish ${subject}`);
  }
  assert.ok(perms.subscribe.some((p) => matches(p, own.replicaFetch(1))));
  const other = subjectsFor('other-cluster');
  for (const subject of [other.replicaFetch(1), '$KV.other-cluster.topics.x', '$JS.API.STREAM.DELETE.KV_other-cluster', '$JS.API.STREAM.CREATE.ORDERS']) {
    assert.not.ok(perms.publish.some((p) => matches(p, subject)), `publish ${subject}`);
  }
});

test('the authorization block has every login, the brokers limited, and no no_auth_user', () => {
  const conf = natsAuthorizationConfig({ bucket: 'kastor-metadata', brokers: [{ user: 'kastor-broker', password: 'p"w' }], others: [{ user: 'app', password: 'x', publish: ['app.>'], subscribe: [] }] });
  assert.match(conf, 'user: "kastor-broker", password: "p\\"w"');
  assert.match(conf, 'publish: { allow: ["app.>"] }');
  assert.match(conf, 'subscribe: { allow: [] }');
  assert.match(conf, '"kastor.kastor-metadata.>"');
  assert.not.match(conf, /^\s*no_auth_user/m);
  assert.throws(() => natsAuthorizationConfig({ bucket: 'b', brokers: [] }), /at least one broker/);
  assert.throws(() => natsAuthorizationConfig({ bucket: 'b', brokers: [{ user: 'a b', password: 'x' }] }), /user names/);
  assert.throws(() => natsAuthorizationConfig({ bucket: 'b', brokers: [{ nkey: 'not-a-key' }] }), /nkey/);
});

test('credentials files: user and password, or a token; anything else names the file and line', () => {
  assert.equal(parseNatsCredentials(formatNatsCredentials({ user: 'u', password: 'a=b' }), 'f'), { user: 'u', password: 'a=b' });
  assert.equal(parseNatsCredentials('token=t\n', 'f'), { token: 't' });
  assert.throws(() => parseNatsCredentials('user=u\n', 'f'), /f: needs user= and password=/);
  assert.throws(() => parseNatsCredentials('user=u\npass=x\n', 'f'), /f line 2: expected user=, password= or token=/);
  assert.throws(() => parseNatsCredentials('token=t\nuser=u\n', 'f'), /either token=/);
});

test('connection options from the files; a missing file is a NatsSecurityFileError naming it', () => {
  const creds = join(dir, 'creds');
  writeFileSync(creds, 'user=kastor-broker\npassword=s3cret\n');
  assert.equal(natsSecurityOptions({ ...NO_NATS_SECURITY, credentialsFile: creds }), { user: 'kastor-broker', pass: 's3cret' });
  const seedFile = join(dir, 'seed');
  const publicKey = ensureNatsNkey(seedFile);
  assert.match(publicKey, /^U[A-Z2-7]{55}$/);
  assert.is(ensureNatsNkey(seedFile), publicKey, 'an existing seed file is kept');
  assert.type(natsSecurityOptions({ ...NO_NATS_SECURITY, nkeyFile: seedFile }).authenticator, 'function');
  const missing = join(dir, 'missing');
  try {
    natsSecurityOptions({ ...NO_NATS_SECURITY, credentialsFile: missing });
    assert.unreachable('a missing file was accepted');
  } catch (err) {
    assert.instance(err, NatsSecurityFileError);
    assert.match((err as Error).message, `cannot read the NATS credentials file ${missing}: ENOENT`);
  }
  assert.throws(() => natsSecurityOptions({ ...NO_NATS_SECURITY, nkeyFile: creds }), /holds no nkey user seed/);
  assert.throws(() => natsSecurityOptions({ ...NO_NATS_SECURITY, tls: { caFile: missing, certFile: null, keyFile: null } }), /NATS TLS CA file/);
});

test.run();
