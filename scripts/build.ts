// `npm run build` (and `prepare`, which `npm ci` and `npm pack` run): the package's compiled form in dist/.
// tsc (tsconfig.build.json) writes JavaScript, declarations and source maps (with the sources inlined, as the
// package ships no .ts) for everything the package's entry points and `kastor` reach, and every machine (the
// dashboard draws each file in machines/); then the dashboard's static files go beside the compiled
// dashboard server, which serves them from its own directory. dist/ is emptied first so that a deleted
// source never lingers in a package.
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');

rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
if (tsc.status !== 0) {
  console.error(`build: tsc failed (${tsc.signal ?? `exit code ${tsc.status}`})`);
  process.exit(1);
}
cpSync(join(root, 'src/dashboard/static'), join(dist, 'src/dashboard/static'), { recursive: true });
console.log(`build: ${dist}`);
