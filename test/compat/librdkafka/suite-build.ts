// Builds librdkafka's test suite (tests/test-runner) from the source tarball in ../shared/third-party, once per
// tarball: unpacked into a temporary directory beside the cache, configured with --no-download (Debian's
// libssl, zlib, zstd, lz4, sasl2, rapidjson for the tests that check statistics JSON, and libcurl, required with
// --enable-curl, for sasl.oauthbearer.method=oidc in 0126; nothing fetched),
// built, and renamed into the cache only when complete, so an interrupted build is never mistaken for a
// finished one. CI runs on the same machine, so the cache (default /var/cache/kastor, or KASTOR_CACHE_DIR)
// spares later runs the few minutes of compiling.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/** Bumped whenever how the suite is built changes (configure's checks, packages), so the cache is rebuilt. */
const RECIPE = 3;

export interface SuiteBuild {
  /** The unpacked, built source tree: tests/test-runner and src/librdkafka.so.1 inside. */
  dir: string;
  version: string;
  /** Whether this call compiled it (false: taken from the cache). */
  built: boolean;
}

export class SuiteBuildError extends Error {
  constructor(
    message: string,
    readonly logTail: string,
  ) {
    super(message);
  }
}

function sha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

function run(cmd: string, args: string[], cwd: string, log: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => {
      log.push(d.toString());
      if (log.length > 400) log.splice(0, log.length - 400);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => reject(new SuiteBuildError(`cannot run ${cmd}: ${err.message}`, '')));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new SuiteBuildError(`${cmd} ${args.join(' ')} exited with ${code}`, log.join('').split('\n').slice(-30).join('\n')))));
  });
}

/** The built suite for `tarball`, compiling it when the cache has none. `say` gets progress lines. */
export async function ensureSuiteBuilt(tarball: string, cacheRoot: string, say: (line: string) => void): Promise<SuiteBuild> {
  if (!existsSync(tarball)) throw new SuiteBuildError(`librdkafka's source is not at ${tarball} (see ../shared/third-party/README.md)`, '');
  const name = basename(tarball).replace(/\.tar\.gz$/, '');
  const version = name.replace(/^librdkafka-/, '');
  const digest = (await sha256(tarball)).slice(0, 12);
  const dir = join(cacheRoot, `${name}-${digest}-r${RECIPE}`);
  if (existsSync(join(dir, '.kastor-built'))) return { dir, version, built: false };

  mkdirSync(cacheRoot, { recursive: true });
  const work = mkdtempSync(join(cacheRoot, `.build-${name}-`));
  const log: string[] = [];
  try {
    say(`building librdkafka ${version}'s test suite in ${work} (a few minutes, once; cached in ${dir})`);
    await run('tar', ['xzf', tarball, '-C', work], work, log);
    const top = readdirSync(work).find((d) => d.startsWith('librdkafka'));
    if (!top) throw new SuiteBuildError(`${tarball} holds no librdkafka directory`, '');
    const src = join(work, top);
    await run('./configure', ['--no-download', '--enable-curl'], src, log);
    await run('make', ['-j2', 'libs'], src, log);
    await run('make', ['-j2', '-C', 'tests', 'build'], src, log);
    if (!existsSync(join(src, 'tests', 'test-runner'))) throw new SuiteBuildError('the build finished without tests/test-runner', log.join('').split('\n').slice(-30).join('\n'));
    writeFileSync(join(src, '.kastor-built'), `${version} ${digest}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(src, dir);
    return { dir, version, built: true };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
