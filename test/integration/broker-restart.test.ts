// A broker that is SIGKILLed and started again recovers its logs: every acknowledged record is there, in
// order; a clean SIGTERM shutdown exits 0 and keeps everything too. Also: bad input never takes the broker
// down — random and mutated frames on some connections while a client keeps working on another.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'node:net';
import { startSingleBroker, run, type SingleBroker } from '../helpers/single-broker.ts';

let env: SingleBroker;

test.before(async () => {
  env = await startSingleBroker();
});
test.after(async () => {
  await env?.close();
});

async function consumeAll(topic: string): Promise<string[]> {
  const { stdout } = await run('kcat', ['-C', '-b', env.bootstrap, '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o %s\n']);
  return stdout.trimEnd().split('\n');
}

test('SIGKILL after acknowledged produce, restart, consume: everything acknowledged is there in order', async () => {
  const n = 20_000;
  const input = Array.from({ length: n }, (_, i) => `r${i}`).join('\n') + '\n';
  await run('kcat', ['-P', '-b', env.bootstrap, '-t', 'restart', '-p', '0', '-X', 'acks=1'], { input });
  await env.broker.kill();
  await env.broker.restart();
  const rows = await consumeAll('restart');
  assert.is(rows.length, n);
  rows.forEach((row, i) => row !== `${i} r${i}` && assert.unreachable(`row ${i} is "${row}"`));
  // The log keeps growing from where it was.
  await run('kcat', ['-P', '-b', env.bootstrap, '-t', 'restart', '-p', '0'], { input: 'after\n' });
  const more = await consumeAll('restart');
  assert.is(more[n], `${n} after`);
});

test('SIGTERM shuts down cleanly (exit 0) and a restart serves the same data', async () => {
  await run('kcat', ['-P', '-b', env.bootstrap, '-t', 'clean', '-p', '0'], { input: 'a\nb\nc\n' });
  const code = await env.broker.stop();
  assert.is(code, 0);
  await env.broker.restart();
  assert.equal(await consumeAll('clean'), ['0 a', '1 b', '2 c']);
});

function randomFrame(rand: () => number): Buffer {
  const len = Math.floor(rand() * 200);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = Math.floor(rand() * 256);
  // Half of them look like real headers of served APIs with garbage bodies.
  if (len >= 8 && rand() < 0.5) {
    body.writeInt16BE([0, 1, 2, 3, 18, 19, 20][Math.floor(rand() * 7)], 0);
    body.writeInt16BE(Math.floor(rand() * 14), 2);
  }
  const frame = Buffer.alloc(4 + len);
  frame.writeInt32BE(rand() < 0.1 ? Math.floor(rand() * 2 ** 31) : len, 0);
  body.copy(frame, 4);
  return frame;
}

test('random and mutated frames close only their own connections; the broker keeps serving', async () => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let c = 0; c < 60; c++) {
    await new Promise<void>((resolve) => {
      const s = connect(env.broker.port, '127.0.0.1');
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      s.on('connect', () => {
        for (let i = 0; i < 5; i++) s.write(randomFrame(rand));
        setTimeout(() => s.destroy(), 20);
      });
    });
  }
  const { stdout } = await run('kcat', ['-L', '-b', env.bootstrap]);
  assert.match(stdout, /1 brokers:/);
  await run('kcat', ['-P', '-b', env.bootstrap, '-t', 'after-fuzz', '-p', '0'], { input: 'still\n' });
  assert.equal(await consumeAll('after-fuzz'), ['0 still']);
  assert.ok(env.broker.running, 'the broker process is still running');
});

test.run();
