// The V8 flags a broker runs with (src/cli/node-flags.ts) are the ones `kastor`'s shebang passes, and the
// shebang works when the file is run as a program (as npm's bin link runs it).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BROKER_NODE_FLAGS } from '../../src/cli/node-flags.ts';

const bin = fileURLToPath(new URL('../../bin/kastor.js', import.meta.url));

test('bin/kastor.js passes BROKER_NODE_FLAGS in its shebang', () => {
  const first = readFileSync(bin, 'utf8').split('\n')[0];
  assert.is(first, `#!/usr/bin/env -S node ${BROKER_NODE_FLAGS.join(' ')}`);
});

test('bin/kastor.js runs as a program through that shebang', () => {
  assert.ok((statSync(bin).mode & 0o111) !== 0, 'executable');
  const out = execFileSync(bin, ['--help'], { encoding: 'utf8', timeout: 30_000 });
  assert.match(out, /Usage: kastor <command>/);
});

test.run();
