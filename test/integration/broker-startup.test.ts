// A broker process behaves like a service: one that cannot start (its Kafka port taken, NATS unreachable past
// --nats-connect-timeout-ms, a data directory it cannot write) exits 1 within seconds and its last stderr line
// says what to do, naming the flag to change; and one told to stop while its NATS server goes down at the same
// moment exits within a bounded time (it used to log "broker stopped" and hang on a reconnecting connection).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrokerProcess } from '../../src/testing/broker-process.ts';
import { freePort, NatsServer } from '../../src/testing/nats-server.ts';
import { runProcess } from '../helpers/run-process.ts';

const bin = fileURLToPath(new URL('../../bin/kastor.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kastor-broker-startup-'));
const cleanups: Array<() => Promise<unknown> | unknown> = [];

test.after(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `kastor broker` to its end; fails when it takes longer than `withinMs`. */
async function brokerFails(args: string[], withinMs: number): Promise<{ code: number | null; lastLine: string; tookMs: number; stderr: string }> {
  const started = Date.now();
  const r = await runProcess(process.execPath, [bin, 'broker', '--id', '1', ...args], { timeoutMs: withinMs + 20_000 });
  const tookMs = Date.now() - started;
  assert.ok(tookMs < withinMs, `exited after ${tookMs} ms, wanted under ${withinMs}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  return { code: r.code, lastLine: lines[lines.length - 1]!, tookMs, stderr: r.stderr };
}

test('a Kafka port in use: exit 1 at once, one line naming the address and --listen', async () => {
  const taken: Server = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
  cleanups.push(() => new Promise((r) => taken.close(r)));
  const port = (taken.address() as { port: number }).port;
  const natsPort = await freePort(); // nothing there: the port is checked before NATS is tried
  const r = await brokerFails(['--listen', `127.0.0.1:${port}`, '--data', join(dir, 'port'), '--nats', `nats://127.0.0.1:${natsPort}`], 10_000);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.lastLine, `kastor broker 1: 127.0.0.1:${port} is in use`);
  assert.match(r.lastLine, '--listen');
  assert.not.match(r.lastLine, /^\{/);
});

test('NATS unreachable past --nats-connect-timeout-ms: exit 1, one line naming the servers and --nats', async () => {
  const natsPort = await freePort();
  const r = await brokerFails(['--listen', '127.0.0.1:0', '--data', join(dir, 'nats'), '--nats', `nats://127.0.0.1:${natsPort}`, '--nats-connect-timeout-ms', '1500'], 12_000);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.lastLine, `kastor broker 1: cannot reach NATS at nats://127.0.0.1:${natsPort} after`);
  assert.match(r.lastLine, '--nats');
  assert.ok(r.tookMs >= 1_000, `it should have tried for its budget, took ${r.tookMs} ms`);
});

test('a data directory that cannot be written: exit 1, one line naming it and --data', async () => {
  // Tests may run as root, for whom permissions do not stop a write: a path under a regular file cannot be a directory for anyone.
  const file = join(dir, 'a-file');
  writeFileSync(file, 'not a directory');
  const r = await brokerFails(['--listen', '127.0.0.1:0', '--data', join(file, 'data'), '--nats', `nats://127.0.0.1:${await freePort()}`], 10_000);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.lastLine, `kastor broker 1: data directory ${join(file, 'data')} is not writable`);
  assert.match(r.lastLine, '--data');
});

test('SIGTERM while its NATS server goes down too: the broker exits within the bound', async () => {
  const nats = await NatsServer.start();
  cleanups.push(() => nats.dispose());
  const broker = await BrokerProcess.start({ id: 1, natsUrl: nats.url, dataDir: join(dir, 'stop') });
  cleanups.push(() => broker.kill());
  const started = Date.now();
  // BrokerProcess.stop SIGKILLs after its timeout: give it longer than the bound, so a hang shows as a late exit.
  const [code] = await Promise.all([broker.stop(60_000), nats.stop()]);
  const tookMs = Date.now() - started;
  assert.ok(tookMs < 25_000, `the broker took ${tookMs} ms to exit (bound: --shutdown-timeout-ms 20 s + slack):\n${broker.logs.slice(-10).join('\n')}`);
  assert.ok(code === 0 || code === 1, `exit code ${code}, not a kill`);
  assert.ok(broker.logs.some((l) => l.includes('broker stopped') || l.includes('shutdown did not finish in time')), broker.logs.slice(-10).join('\n'));
});

test.run();
