// `npm run bench -- single --tls` / `--sasl`: the same kcat produce (acks=1) and consume as the plaintext case,
// on the same broker in the same round, over an SSL listener (--tls) and a SASL_SSL listener with SCRAM-SHA-512
// (--sasl), so the ratio to plaintext holds on a shared machine. Certificates are made for the run with openssl
// (test/helpers/test-certs.ts) and removed after; the SCRAM user is created through Kastor's client. One JSON line
// per case and protocol: records/s and `vs_plaintext` (the target: at least 0.7).
import { makeTestCerts, type TestCerts } from '../test/helpers/test-certs.ts';
import { freePort } from '../src/testing/nats-server.ts';
import { Kafka } from '../src/client/index.ts';
import { upsertScramUser } from '../src/client/scram-users.ts';
import { kcatConsume, kcatProduce, type KcatResult } from './kcat-load.ts';

export type SecureProtocol = 'SSL' | 'SASL_SSL';
const USER = 'bench';
const PASSWORD = 'bench-password';
export const SECURE_TARGET = 0.7;

export interface SecureSetup {
  certs: TestCerts;
  ports: Partial<Record<SecureProtocol, number>>;
  /** Broker flags adding the listeners beside the PLAINTEXT one on `plainPort`. */
  brokerArgs: string[];
}

export async function secureSetup(protocols: SecureProtocol[], plainPort: number): Promise<SecureSetup> {
  const certs = await makeTestCerts();
  const ports: SecureSetup['ports'] = {};
  const listeners = [`PLAINTEXT://127.0.0.1:${plainPort}`];
  for (const p of protocols) {
    ports[p] = await freePort();
    listeners.push(`${p}://127.0.0.1:${ports[p]}`);
  }
  return { certs, ports, brokerArgs: ['--listeners', listeners.join(','), '--ssl-cert', certs.serverCert, '--ssl-key', certs.serverKey] };
}

/** Creates the SCRAM user the SASL_SSL case logs in as (through the PLAINTEXT listener). */
export async function createBenchUser(plainBootstrap: string): Promise<void> {
  const admin = new Kafka({ bootstrap: plainBootstrap }).admin();
  try {
    await upsertScramUser(admin.cluster, USER, 'SCRAM-SHA-512', PASSWORD);
  } finally {
    await admin.close();
  }
}

function kcatArgs(setup: SecureSetup, protocol: SecureProtocol): string[] {
  const args = ['-X', `security.protocol=${protocol}`, '-X', `ssl.ca.location=${setup.certs.ca}`];
  if (protocol === 'SASL_SSL') args.push('-X', 'sasl.mechanisms=SCRAM-SHA-512', '-X', `sasl.username=${USER}`, '-X', `sasl.password=${PASSWORD}`);
  return args;
}

/** kcat produce then consume of `records` records on a fresh 1-partition topic, over `protocol`. */
export async function measureSecure(
  setup: SecureSetup,
  protocol: SecureProtocol,
  opts: { topic: string; records: number; recordBytes: number; timeoutMs: number; createTopic: (topic: string) => Promise<void> },
): Promise<{ produce: KcatResult; consume: KcatResult }> {
  await opts.createTopic(opts.topic);
  const brokers = `127.0.0.1:${setup.ports[protocol]}`;
  const extra = kcatArgs(setup, protocol);
  const produce = await kcatProduce({ brokers, topic: opts.topic, records: opts.records, recordBytes: opts.recordBytes + 1, acks: 1, partitions: 1, extra, timeoutMs: opts.timeoutMs });
  const consume = await kcatConsume({ brokers, topic: opts.topic, partition: 0, records: opts.records, valueBytes: opts.recordBytes, extra, timeoutMs: opts.timeoutMs });
  return { produce, consume };
}
