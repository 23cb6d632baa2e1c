// The package as a user gets it: `npm pack` of a fresh copy of the sources (its `prepare` builds dist/), the
// tarball installed with KafkaJS into an empty project that has no TypeScript and no tsx, and there:
// `npx kastor dev --brokers 3` reaches `ready`, serves `kastor/client` (a plain .mjs program produces and
// consumes) and its dashboard (static files, the mermaid bundle, every machine's statechart), and stops on
// SIGINT with all its processes; a plain .mjs node:test file on `kastor/testing` kills a leader and reads every
// record back with KafkaJS; and a small TypeScript program type-checks against the shipped .d.ts
// (skipLibCheck off), with the repository's tsc run from outside that project.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { freePort } from '../../src/testing/index.ts';
import { freePortRun } from '../helpers/dev-process.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = fileURLToPath(new URL('./fixtures', import.meta.url));
/** What a fresh clone needs to build and pack (node_modules is linked, not copied). */
const SOURCES = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'nats.conf', 'bin', 'src', 'actors', 'machines', 'scripts'];

const work = mkdtempSync(join(tmpdir(), 'kastor-pack-'));
const app = join(work, 'app');
const groups = new Set<number>();

/** The environment of a user's shell: none of the npm variables of an `npm test` that may be running us. */
const userEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || /^npm_config_(cache|registry|userconfig)$/i.test(k)).filter(([k]) => k !== 'INIT_CWD' && k !== 'NODE_OPTIONS'),
);

test.after(() => {
  for (const pgid of groups) killGroup(pgid, 'SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {}
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts a command in its own process group (what a terminal does), so everything it starts can be signalled and reaped. */
function start(cmd: string, args: string[], cwd: string): ChildProcess {
  const child = spawn(cmd, args, { cwd, env: userEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  groups.add(child.pid!);
  return child;
}

/** Runs a command to completion; on its deadline its whole process group is killed and the run fails. */
function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = start(cmd, args, cwd);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      killGroup(child.pid!, 'SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')}: not done within ${timeoutMs} ms\n${out.slice(-4000)}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      killGroup(child.pid!, 'SIGKILL');
      groups.delete(child.pid!);
      resolve({ code, out });
    });
  });
}

async function mustRun(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<string> {
  const r = await run(cmd, args, cwd, timeoutMs);
  assert.is(r.code, 0, `${cmd} ${args.join(' ')} exited with ${r.code}:\n${r.out.slice(-6000)}`);
  return r.out;
}

let tarball = '';

test('npm pack builds the package from a fresh copy of the sources: compiled JavaScript, declarations, assets, no sources', async () => {
  const clone = join(work, 'clone');
  mkdirSync(clone);
  for (const entry of SOURCES) cpSync(join(root, entry), join(clone, entry), { recursive: true, verbatimSymlinks: true });
  symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'), 'dir');
  const packs = join(work, 'packs');
  mkdirSync(packs);
  // npm pack runs `prepare`, which is the build: the same as `npm ci` in a fresh clone.
  await mustRun('npm', ['pack', '--pack-destination', packs], clone, 120_000);
  const tgz = readdirSync(packs).filter((f) => f.endsWith('.tgz'));
  assert.equal(tgz.length, 1, `one tarball: ${tgz}`);
  tarball = join(packs, tgz[0]!);
  const listing = await mustRun('tar', ['-tzf', tarball], work, 30_000);
  const files = new Set(listing.split('\n').filter(Boolean));
  for (const f of [
    'package/bin/kastor.js',
    'package/nats.conf',
    'package/dist/src/index.js',
    'package/dist/src/index.d.ts',
    'package/dist/src/index.js.map',
    'package/dist/src/client/index.d.ts',
    'package/dist/src/testing/index.d.ts',
    'package/dist/src/cli/main.js',
    'package/dist/src/dashboard/static/index.html',
    'package/dist/machines/broker.js',
  ]) {
    assert.ok(files.has(f), `the package holds ${f}`);
  }
  const shipped = [...files];
  assert.equal(shipped.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), [], 'no TypeScript sources');
  assert.equal(shipped.filter((f) => /^package\/(test|bench|scripts|examples|src)\//.test(f)), [], 'no tests, benchmarks or scripts');
});

test('the tarball installs into an empty project with KafkaJS, without TypeScript or tsx', async () => {
  assert.ok(tarball, 'packed');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'kastor-user-app', version: '1.0.0', private: true, type: 'module' }, null, 2));
  const kafkajs = JSON.parse(readFileSync(join(root, 'node_modules/kafkajs/package.json'), 'utf8')).version as string;
  await mustRun('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, `kafkajs@${kafkajs}`], app, 150_000);
  for (const dep of ['kastor', 'kafkajs', 'mermaid', 'xstate']) assert.ok(existsSync(join(app, 'node_modules', dep, 'package.json')), `${dep} installed`);
  for (const dev of ['typescript', 'tsx', 'uvu', 'esbuild']) assert.not.ok(existsSync(join(app, 'node_modules', dev)), `${dev} is not installed with kastor`);
});

test('npx kastor dev --brokers 3 reaches ready, serves kastor/client and its dashboard, and stops on SIGINT', async () => {
  assert.ok(existsSync(join(app, 'node_modules/kastor')), 'installed');
  const portBase = await freePortRun(3);
  const natsPort = await freePort();
  const dev = start('npx', ['--no', 'kastor', 'dev', '--brokers', '3', '--port-base', String(portBase), '--nats-port', String(natsPort), '--http', '127.0.0.1:0', '--data', join(work, 'dev-data')], app);
  let out = '';
  dev.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => dev.on('exit', (code) => resolve(code)));
  const dashboard = await new Promise<string>((resolve, reject) => {
    let at = '';
    const timer = setTimeout(() => reject(new Error(`kastor dev not ready within 60 s:\n${out.slice(-4000)}`)), 60_000);
    createInterface({ input: dev.stdout! }).on('line', (line) => {
      out += line + '\n';
      at = /^dashboard: (\S+)/.exec(line)?.[1] ?? at;
      if (line === 'ready') {
        clearTimeout(timer);
        resolve(at);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`kastor dev exited with ${code} before ready:\n${out.slice(-4000)}`));
    });
  });
  assert.match(out, `bootstrap servers: 127.0.0.1:${portBase},127.0.0.1:${portBase + 1},127.0.0.1:${portBase + 2}`);

  // Copied into the project: run from test/package/fixtures, `kastor/client` would resolve to this checkout
  // (a package's self-reference), not to the installed tarball.
  cpSync(join(fixtures, 'client.mjs'), join(app, 'client.mjs'));
  const client = JSON.parse(
    (await mustRun(process.execPath, ['client.mjs', `127.0.0.1:${portBase}`, 'pack-client'], app, 60_000)).trim().split('\n').at(-1)!,
  ) as { lastOffset: string; values: string[]; partitionForKey: string; buildRecordBatch: string; unknownTopic: number };
  assert.is(client.lastOffset, '99');
  assert.equal(client.values, Array.from({ length: 100 }, (_, i) => `v${i}`));
  assert.is(client.partitionForKey, 'function');
  assert.is(client.buildRecordBatch, 'function');
  assert.is(client.unknownTopic, 3);

  assert.ok(dashboard, `kastor dev printed its dashboard address:\n${out}`);
  for (const [path, says] of [
    ['/', /<html/i],
    ['/app.js', /\S/],
    ['/style.css', /\S/],
    ['/vendor/mermaid.min.js', /mermaid/],
  ] as const) {
    const res = await fetch(new URL(path, dashboard), { signal: AbortSignal.timeout(10_000) });
    assert.is(res.status, 200, `dashboard ${path}`);
    assert.match(await res.text(), says, `dashboard ${path}`);
  }
  const machines = (await (await fetch(new URL('/api/machines', dashboard), { signal: AbortSignal.timeout(10_000) })).json()) as Array<{ id: string }>;
  // Found by reading dist/machines/ at run time: the compiled files, not the sources.
  const ids = machines.map((m) => m.id);
  for (const id of ['broker', 'controller', 'group', 'partitionReplica', 'transaction']) assert.ok(ids.includes(id), `statechart of ${id}: ${ids}`);

  // Ctrl-C: SIGINT to the whole process group, as a terminal sends it.
  killGroup(dev.pid!, 'SIGINT');
  const code = await Promise.race([exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 30_000).unref())]);
  assert.is.not(code, 'late', `kastor dev did not exit within 30 s of SIGINT:\n${out.slice(-4000)}`);
  const deadline = Date.now() + 15_000;
  while (groupAlive(dev.pid!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.not.ok(groupAlive(dev.pid!), 'no broker or nats-server is left running after SIGINT');
  groups.delete(dev.pid!);
});

test('a plain .mjs node:test file on kastor/testing kills a leader and reads every record back with KafkaJS', async () => {
  cpSync(join(fixtures, 'kill-leader.test.mjs'), join(app, 'kill-leader.test.mjs'));
  const r = await run(process.execPath, ['--test', '--test-reporter=spec', 'kill-leader.test.mjs'], app, 120_000);
  assert.is(r.code, 0, r.out.slice(-6000));
  assert.match(r.out, /every acknowledged record is read back after the leader is killed/);
  assert.match(r.out, /pass 1/);
  assert.match(r.out, /fail 0/);
});

test('a TypeScript program type-checks against the shipped declarations', async () => {
  const ts = join(work, 'typed');
  mkdirSync(ts);
  symlinkSync(join(app, 'node_modules'), join(ts, 'node_modules'), 'dir');
  writeFileSync(join(ts, 'package.json'), JSON.stringify({ name: 'typed', private: true, type: 'module' }));
  writeFileSync(
    join(ts, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        // Node's types are the user's, as in any Node project; the repository's copy stands in for them.
        typeRoots: [join(root, 'node_modules/@types')],
        types: ['node'],
      },
      files: ['main.ts'],
    }),
  );
  writeFileSync(
    join(ts, 'main.ts'),
    [
      "import { startTestCluster, type TestCluster, type TestClusterOptions } from 'kastor/testing';",
      "import { Kafka, type ConsumerRecord, type RecordMetadata } from 'kastor/client';",
      "import { createBroker, defaultBrokerConfig, ErrorCode, type BrokerConfig } from 'kastor';",
      '',
      "const options: TestClusterOptions = { brokers: 3, topics: [{ name: 't', partitions: 1, replicationFactor: 3 }] };",
      'export async function produce(): Promise<bigint> {',
      '  const cluster: TestCluster = await startTestCluster(options);',
      '  const kafka = new Kafka({ bootstrap: cluster.bootstrapServers });',
      '  const sent: RecordMetadata[] = await kafka.producer().send({ topic: "t", messages: [{ value: "v" }] });',
      '  const leader: number = await cluster.killLeader("t", 0);',
      '  await cluster.close();',
      '  return sent[0]!.offset + BigInt(leader);',
      '}',
      'export const size = (r: ConsumerRecord): number => r.value?.length ?? 0;',
      "export const config: BrokerConfig = defaultBrokerConfig({ brokerId: 1, dataDir: '/tmp/k', natsServers: ['nats://127.0.0.1:4222'] });",
      'export const make: typeof createBroker = createBroker;',
      'export const unknown: number = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;',
      '// The declarations are really there: a wrong type is an error, not an any.',
      "// @ts-expect-error brokers is a number",
      "startTestCluster({ brokers: 'three' });",
      '',
    ].join('\n'),
  );
  const r = await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(ts, 'tsconfig.json')], ts, 90_000);
  assert.is(r.code, 0, `tsc:\n${r.out.slice(-6000)}`);
  assert.not.ok(existsSync(join(app, 'node_modules/typescript')), 'the project itself has no TypeScript');
});

test.run();
