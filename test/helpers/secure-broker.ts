// A broker process with every kind of listener, for the security suites: PLAINTEXT on loopback (the one
// BrokerProcess itself waits on), SASL_SSL, SASL_PLAINTEXT and SSL, each on its own free port; certificates
// made for the run (test-certs.ts); users made through `kastor users create` (the password on stdin).
import { retryWhilePortTaken } from './port-retry.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsServer, freePort } from '../../src/testing/nats-server.ts';
import { BrokerProcess } from '../../src/testing/broker-process.ts';
import { kastorNodeArgs } from '../../src/cli/cli-entry.ts';
import { makeTestCerts, type TestCerts } from './test-certs.ts';
import { run } from './single-broker.ts';

export interface SecureBroker {
  nats: NatsServer;
  broker: BrokerProcess;
  certs: TestCerts;
  ports: SecurePorts;
  /** `kastor users create NAME --mechanism M` with the password on stdin, through the PLAINTEXT listener. */
  createUser(name: string, password: string, mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512'): Promise<string>;
  close(): Promise<void>;
}

export interface SecurePorts {
  plaintext: number;
  saslSsl: number;
  saslPlaintext: number;
  ssl: number;
}

/** Four distinct loopback ports, free when picked. */
async function pickPorts(): Promise<SecurePorts> {
  const picked = new Set<number>();
  while (picked.size < 4) picked.add(await freePort());
  const [plaintext, saslSsl, saslPlaintext, ssl] = [...picked] as [number, number, number, number];
  return { plaintext, saslSsl, saslPlaintext, ssl };
}

/**
 * The broker on fresh ports. They are free when picked, but another test may take one before the broker binds it:
 * a start that fails with "is in use" is tried again on other ports (three times at most).
 */
async function startOnFreePorts(dir: string, natsUrl: string, certs: TestCerts, extraArgs: string[], onLog?: (line: string) => void): Promise<{ broker: BrokerProcess; ports: SecurePorts }> {
  return retryWhilePortTaken(async () => {
    const ports = await pickPorts();
    const broker = await BrokerProcess.start({
      id: 1,
      natsUrl,
      dataDir: join(dir, 'broker-1'),
      port: ports.plaintext,
      onLog,
      extraArgs: [
        '--listeners',
        `PLAINTEXT://127.0.0.1:${ports.plaintext},SASL_SSL://127.0.0.1:${ports.saslSsl},SASL_PLAINTEXT://127.0.0.1:${ports.saslPlaintext},SSL://127.0.0.1:${ports.ssl}`,
        '--ssl-cert', certs.serverCert,
        '--ssl-key', certs.serverKey,
        '--ssl-ca', certs.ca,
        '--ssl-client-auth', 'requested',
        ...extraArgs,
      ],
    });
    return { broker, ports };
  }, (err) => String((err as Error).message));
}

/** `onLog` sees every log line (BrokerProcess.logs keeps the last 2,000 only). */
export async function startSecureBroker(extraArgs: string[] = [], onLog?: (line: string) => void): Promise<SecureBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'kastor-secure-'));
  const certs = await makeTestCerts();
  const nats = await NatsServer.start({ dir: join(dir, 'nats') });
  let started: { broker: BrokerProcess; ports: SecurePorts };
  try {
    started = await startOnFreePorts(dir, nats.url, certs, extraArgs, onLog);
  } catch (err) {
    await nats.dispose();
    certs.remove();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const { broker, ports } = started;
  return {
    nats,
    broker,
    certs,
    ports,
    async createUser(name, password, mechanism) {
      const { stdout } = await run(process.execPath, [...kastorNodeArgs(), 'users', 'create', name, '--mechanism', mechanism, '--bootstrap', `127.0.0.1:${ports.plaintext}`], { input: `${password}\n` });
      return stdout;
    },
    async close() {
      await broker.kill();
      await nats.dispose();
      certs.remove();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** kcat's flags for the SASL_SSL listener as `user`. */
export function kcatSaslSsl(env: SecureBroker, user: string, password: string, mechanism = 'SCRAM-SHA-512'): string[] {
  return [
    '-b', `127.0.0.1:${env.ports.saslSsl}`,
    '-X', 'security.protocol=SASL_SSL', '-X', `sasl.mechanisms=${mechanism}`, '-X', `sasl.username=${user}`, '-X', `sasl.password=${password}`,
    '-X', `ssl.ca.location=${env.certs.ca}`,
  ];
}

/** The error text of `p`, which must reject. */
export async function failureOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return String((err as Error).message);
  }
  throw new Error('expected a failure, and it succeeded');
}

/** Throws unless the PLAINTEXT listener still answers Metadata. */
export async function assertStillServing(env: SecureBroker): Promise<void> {
  const { stdout } = await run('kcat', ['-L', '-b', `127.0.0.1:${env.ports.plaintext}`, '-m', '5']);
  if (!/broker 1 at 127\.0\.0\.1:/.test(stdout)) throw new Error(`the broker no longer answers Metadata:\n${stdout}`);
}
