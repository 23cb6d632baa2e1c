// `kastor dev` end to end: a one-broker dev cluster on free ports whose broker gets the flags after `--`
// (an auto-created topic has the 4 partitions `-- --num-partitions 4` asks for), stopped cleanly by SIGTERM;
// a flag the dev command sets itself, or one `kastor broker` does not know, is refused after `--` with one
// line and exit 2 before anything starts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { fetchMetadata, freePort } from '../../src/testing/index.ts';

const bin = fileURLToPath(new URL('../../bin/kastor.js', import.meta.url));
const dirs: string[] = [];
const children: ChildProcess[] = [];

test.after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function until<T>(what: string, ms: number, start: (done: (v: T) => void, fail: (e: Error) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    start(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

test('flags after -- reach every broker: an auto-created topic gets --num-partitions 4', async () => {
  const data = mkdtempSync(join(tmpdir(), 'kastor-dev-test-'));
  dirs.push(data);
  const port = await freePort();
  const natsPort = await freePort();
  const dev = spawn(process.execPath, [bin, 'dev', '--brokers', '1', '--data', data, '--port-base', String(port), '--nats-port', String(natsPort), '--http', 'off', '--http-port-base', '0', '--', '--num-partitions', '4'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(dev);
  let stderr = '';
  dev.stderr!.on('data', (d) => (stderr += d));
  await until<void>('kastor dev ready', 60_000, (done, fail) => {
    createInterface({ input: dev.stdout! }).on('line', (line) => line === 'ready' && done());
    dev.on('exit', (code) => fail(new Error(`kastor dev exited with ${code}: ${stderr}`)));
  });
  const produced = spawnSync('kcat', ['-P', '-b', `127.0.0.1:${port}`, '-t', 'dev-auto'], { input: 'one\n', timeout: 30_000 });
  assert.is(produced.status, 0, `kcat: ${produced.stderr}`);
  const meta = await fetchMetadata({ host: '127.0.0.1', port }, ['dev-auto']);
  assert.is(meta.topics[0]!.errorCode, 0);
  assert.is(meta.topics[0]!.partitions.length, 4);
  const code = await until<number | null>('kastor dev stops on SIGTERM', 30_000, (done) => {
    dev.on('exit', (c) => done(c));
    dev.kill('SIGTERM');
  });
  assert.is(code, 0);
});

test('a flag kastor dev sets itself, or an unknown broker flag, is refused after -- with exit 2', () => {
  for (const [args, says] of [
    [['--', '--id', '7'], /--id is set by kastor dev/],
    [['--', '--no-such-flag', '1'], /unknown option --no-such-flag for "broker"/],
    [['--', '--num-partitions'], /--num-partitions needs a value/],
  ] as const) {
    const r = spawnSync(process.execPath, [bin, 'dev', '--http', 'off', ...args], { encoding: 'utf8', timeout: 30_000 });
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, says);
    assert.is(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  }
});

test.run();
