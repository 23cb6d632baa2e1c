// The README's example of a user's test (examples/kill-leader.node-test.ts) runs under node:test against a real
// cluster from `kastor/testing`: the test runner's own verdict must be a pass.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('examples/kill-leader.node-test.ts passes under node --test', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', 'examples/kill-leader.node-test.ts'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  const out = `${r.stdout}\n${r.stderr}`;
  assert.is(r.status, 0, out.slice(-4000));
  assert.match(out, /the consumer sees every record although the leader dies mid-stream/);
  assert.match(out, /pass 1/);
  assert.match(out, /fail 0/);
});

test.run();
