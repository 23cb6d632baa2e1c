// `kastor dev` closes its own NATS: it makes a random broker password in <data>/nats-credentials (mode 0600),
// starts nats-server with an authorization block, and its brokers and its dashboard log in with it. Records
// produced through the cluster are read back, a NATS client without the login is refused, one with it gets in,
// and a second `kastor dev` on the same data directory keeps the same login and starts again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { Kafka } from '../../src/client/index.ts';
import { connectNats } from '../../src/runtime/node/nats-connection.ts';
import { NO_NATS_SECURITY } from '../../src/security/nats-credentials.ts';
import { startDevOnFreePorts, type DevProcess } from '../helpers/dev-process.ts';
import { roundTripFive } from '../helpers/client-round-trip.ts';

const data = mkdtempSync(join(tmpdir(), 'kastor-dev-nats-auth-'));
const running: DevProcess[] = [];

test.after(() => {
  for (const d of running) d.killAll();
  rmSync(data, { recursive: true, force: true });
});

/** `kastor dev` with 2 brokers on fresh ports, ready. */
async function startDev(): Promise<{ dev: DevProcess; portBase: number; natsUrl: string }> {
  const { dev, portBase, natsPort } = await startDevOnFreePorts(2, () => ['--data', data, '--http', '127.0.0.1:0', '--http-port-base', '0'], { readyTimeoutMs: 60_000, track: (d) => running.push(d) });
  return { dev, portBase, natsUrl: `nats://127.0.0.1:${natsPort}` };
}

async function stopDev(dev: DevProcess): Promise<void> {
  dev.child.kill('SIGINT');
  const { code } = await dev.exited;
  assert.is(code, 0, dev.output);
}

test('kastor dev runs its brokers on a NATS only they can log in to', async () => {
  const { dev, portBase, natsUrl } = await startDev();
  const credentials = join(data, 'nats-credentials');
  assert.match(dev.output, `brokers log in with ${credentials}`);
  assert.is(statSync(credentials).mode & 0o777, 0o600);
  const login = readFileSync(credentials, 'utf8');
  assert.match(login, /^user=kastor-broker$/m);

  const kafka = new Kafka({ bootstrap: `127.0.0.1:${portBase},127.0.0.1:${portBase + 1}`, retry: { retries: 8 } });
  await roundTripFive(kafka, 'dev-secured');

  const refused = await connect({ servers: natsUrl, timeout: 3_000, maxReconnectAttempts: 0 }).then(
    async (nc) => {
      await nc.close();
      return null;
    },
    (err: Error) => err,
  );
  assert.ok(refused, 'an anonymous NATS client got in');
  assert.match(refused!.message, /Authorization Violation/);
  const broker = await connectNats({ servers: natsUrl, name: 'dev-nats-auth-test', security: { ...NO_NATS_SECURITY, credentialsFile: credentials } });
  await broker.close();
  await stopDev(dev);

  // The same data directory: the same login, and dev starts again with it.
  const { dev: again } = await startDev();
  assert.is(readFileSync(credentials, 'utf8'), login);
  await stopDev(again);
});

test.run();
