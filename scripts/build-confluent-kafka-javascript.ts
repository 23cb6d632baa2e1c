// Builds @confluentinc/kafka-javascript for test/compat/confluent-kafka-javascript.test.ts into a cache outside
// the repository (test/helpers/confluent-kafka-javascript.ts says where and which version), downloading nothing
// but npm packages:
//   - `npm install --ignore-scripts`, so the package's install script (node-pre-gyp, which fetches a prebuilt
//     binary from GitHub before it falls back to a build) never runs;
//   - node-gyp (pinned, from npm) builds the addon with `--nodedir` set to the running Node's own headers, so it
//     does not fetch headers from nodejs.org;
//   - CKJS_LINKING=dynamic: the package's default static build configures librdkafka with `--install-deps
//     --source-deps-only`, which downloads OpenSSL, zlib, zstd and curl sources from GitHub and zlib.net. The
//     dynamic build compiles the librdkafka bundled in the npm package (deps/librdkafka) against the system's
//     libssl, libsasl2, zlib, libzstd and liblz4 (-dev packages), and the addon finds that librdkafka.so next to
//     it through its rpath ($ORIGIN/../deps), not the system's older librdkafka1 that kcat uses.
// Needs build-essential, python3, libssl-dev, zlib1g-dev, libzstd-dev, liblz4-dev, libsasl2-dev and Node's
// headers (<node prefix>/include/node, in Debian's nodejs package). Takes about 4 minutes on 2 cores.
//
// Idempotent: a build that is already there and loads is kept. The build happens in a sibling directory that is
// renamed into place at the end, so an interrupted run never leaves something the test would take for a build.
//
// Usage: npx tsx scripts/build-confluent-kafka-javascript.ts   (KASTOR_CACHE_DIR moves the cache root)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  CONFLUENT_KAFKA_JAVASCRIPT_VERSION as VERSION,
  NODE_GYP_VERSION,
  confluentAddonPath,
  confluentCacheDir,
  confluentPackageDir,
} from '../test/helpers/confluent-kafka-javascript.ts';

function fail(message: string): never {
  console.error(`build-confluent-kafka-javascript: ${message}`);
  process.exit(1);
}

/** librdkafka's version as the built addon reports it, loaded in a child so a broken build cannot crash us. */
function loadedLibrdkafkaVersion(prefix: string): string | null {
  if (!existsSync(confluentAddonPath(prefix))) return null;
  const r = spawnSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(confluentPackageDir(prefix))}).librdkafkaVersion)`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : null;
}

const dest = confluentCacheDir();
const existing = loadedLibrdkafkaVersion(dest);
if (existing) {
  console.log(`@confluentinc/kafka-javascript ${VERSION} (librdkafka ${existing}) is already built in ${dest}`);
  process.exit(0);
}

const nodeDir = process.env.KASTOR_NODEDIR ?? dirname(dirname(process.execPath));
if (!existsSync(join(nodeDir, 'include', 'node', 'common.gypi'))) {
  fail(`Node's headers are not in ${join(nodeDir, 'include', 'node')} (node-gyp would download them; set KASTOR_NODEDIR to a Node install with include/node)`);
}

const work = `${dest}.partial-${process.pid}`;
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const logPath = join(work, 'build.log');
const started = Date.now();

function step(what: string, cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): void {
  console.log(`build-confluent-kafka-javascript: ${what}`);
  const log = openSync(logPath, 'a');
  const r = spawnSync(cmd, args, { cwd, env, stdio: ['ignore', log, log] });
  closeSync(log);
  if (r.status !== 0) {
    const tail = readFileSync(logPath, 'utf8').split('\n').slice(-60).join('\n');
    fail(`${what} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`}); the end of ${logPath}:\n${tail}`);
  }
}

writeFileSync(
  join(work, 'package.json'),
  JSON.stringify({ name: 'kastor-confluent-kafka-javascript', private: true, dependencies: { '@confluentinc/kafka-javascript': VERSION, 'node-gyp': NODE_GYP_VERSION } }, null, 2) + '\n',
);
step(`npm install @confluentinc/kafka-javascript@${VERSION} node-gyp@${NODE_GYP_VERSION} --ignore-scripts`, 'npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund'], work);

const pkgDir = confluentPackageDir(work);
const bundled = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { librdkafka?: string }).librdkafka;
step(
  // No --jobs: the generated Makefile does not order librdkafka's configure action before the make action that
  // needs its config.h (a parallel top-level make fails with "No rule to make target
  // '../deps/librdkafka/config.h'"); librdkafka's own make runs with -j anyway.
  `node-gyp rebuild (librdkafka ${bundled} from the package's deps/, linked against the system's libraries; log: ${logPath})`,
  process.execPath,
  [join(work, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), 'rebuild', `--nodedir=${nodeDir}`],
  pkgDir,
  { ...process.env, CKJS_LINKING: 'dynamic', BUILD_LIBRDKAFKA: '1' },
);

rmSync(dest, { recursive: true, force: true });
mkdirSync(dirname(dest), { recursive: true });
renameSync(work, dest);
const built = loadedLibrdkafkaVersion(dest);
if (!built) fail(`the addon in ${dest} does not load; see ${join(dest, 'build.log')}`);
if (bundled && built !== bundled) fail(`the addon loaded librdkafka ${built}, not the bundled ${bundled} (is the system's librdkafka first on the library path?)`);
console.log(`@confluentinc/kafka-javascript ${VERSION} (librdkafka ${built}) built in ${dest} in ${Math.round((Date.now() - started) / 1000)} s`);
