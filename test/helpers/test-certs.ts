// Certificates made at test time with the openssl CLI into a temporary directory (never committed keys): a CA,
// a server certificate for 127.0.0.1/localhost signed by it, a client certificate signed by it (mTLS), and a
// client certificate from another CA the broker must refuse.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './single-broker.ts';

export interface TestCerts {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Signed by a CA the broker does not trust. */
  strangerCert: string;
  strangerKey: string;
  /** Another server certificate (CN=reloaded.localhost) from the same CA, to replace the first with. */
  nextServerCert: string;
  nextServerKey: string;
  /** The client certificate's subject as Kafka's principal builder names it. */
  clientPrincipal: string;
  remove(): void;
}

export async function makeTestCerts(): Promise<TestCerts> {
  const dir = mkdtempSync(join(tmpdir(), 'kastor-certs-'));
  const p = (f: string) => join(dir, f);
  const ssl = (...args: string[]) => run('openssl', args, { timeoutMs: 30_000 });
  const ca = async (name: string) => {
    await ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', p(`${name}.key`), '-out', p(`${name}.pem`));
  };
  const signed = async (name: string, subject: string, caName: string, ext: string) => {
    await ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`));
    await run('sh', ['-c', `printf '%s\\n' '${ext}' > ${p(`${name}.ext`)}`]);
    await ssl('x509', '-req', '-in', p(`${name}.csr`), '-CA', p(`${caName}.pem`), '-CAkey', p(`${caName}.key`), '-CAcreateserial', '-days', '2', '-extfile', p(`${name}.ext`), '-out', p(`${name}.pem`));
  };
  await ca('test-ca');
  await ca('stranger-ca');
  await signed('server', '/CN=localhost', 'test-ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost');
  await signed('client', '/C=NO/O=Kastor Tests/OU=eng/CN=alice', 'test-ca', 'extendedKeyUsage=clientAuth');
  await signed('next-server', '/CN=reloaded.localhost', 'test-ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost');
  await signed('stranger', '/CN=mallory', 'stranger-ca', 'extendedKeyUsage=clientAuth');
  return {
    dir,
    ca: p('test-ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
    strangerCert: p('stranger.pem'),
    strangerKey: p('stranger.key'),
    nextServerCert: p('next-server.pem'),
    nextServerKey: p('next-server.key'),
    clientPrincipal: 'User:CN=alice,OU=eng,O=Kastor Tests,C=NO',
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
