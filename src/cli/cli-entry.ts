// How Kastor starts another `kastor` process (a broker for `kastor dev`, `kastor/testing` and the benches): in
// the same form as the code that asks. Compiled (the installed package's dist/), that is node on the compiled
// main.js beside this file; from the TypeScript sources (a checkout, under tsx), node with tsx's loader on
// main.ts, so a test run from source never starts a stale build. Either way with BROKER_NODE_FLAGS, which the
// `kastor` command gets from its shebang instead (bin/kastor.js).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BROKER_NODE_FLAGS } from './node-flags.ts';

const self = fileURLToPath(import.meta.url);
const fromSource = self.endsWith('.ts');

/** The root of the kastor package (where package.json, bin/ and nats.conf are): dist/src/cli/ is one level deeper than src/cli/. */
export const PACKAGE_ROOT = resolve(dirname(self), fromSource ? '../..' : '../../..');

/** Node's arguments that run the `kastor` command; the command's own arguments follow them. */
export function kastorNodeArgs(): string[] {
  if (!fromSource) return [...BROKER_NODE_FLAGS, join(dirname(self), 'main.js')];
  return [...BROKER_NODE_FLAGS, '--import', import.meta.resolve('tsx'), join(dirname(self), 'main.ts')];
}
