// One nats-server and one broker process, each on free ports with their own directories, for the
// compatibility and integration suites; `close()` kills both and removes the directories.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { NatsServer } from '../../src/testing/nats-server.ts';
import { BrokerProcess } from '../../src/testing/broker-process.ts';

export interface SingleBroker {
  nats: NatsServer;
  broker: BrokerProcess;
  dir: string;
  bootstrap: string;
  close(): Promise<void>;
}

export async function startSingleBroker(extraArgs: string[] = []): Promise<SingleBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'kastor-test-'));
  const nats = await NatsServer.start({ dir: join(dir, 'nats') });
  let broker: BrokerProcess;
  try {
    broker = await BrokerProcess.start({ id: 1, natsUrl: nats.url, dataDir: join(dir, 'broker-1'), extraArgs });
  } catch (err) {
    await nats.dispose();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    nats,
    broker,
    dir,
    get bootstrap() {
      return broker.bootstrap;
    },
    async close() {
      await broker.kill();
      await nats.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs a command to completion with optional stdin; rejects on a non-zero exit with its stderr. */
export function run(cmd: string, args: string[], opts: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} could not run: ${err.message} (is it installed? .ci/run installs it)`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code ?? signal}:\n${stderr.slice(-4000)}`));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}
