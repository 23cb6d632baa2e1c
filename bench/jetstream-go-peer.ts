// The JetStream peer measured from Go (bench/jetstream-go/*.go), next to the Node peer (bench/jetstream-peer.ts):
// the Node client is slower than NATS's own Go client, so a ratio against it alone flatters Kastor. The Go
// program is built at bench time from Debian's golang-go and golang-github-nats-io-go-nats-dev (nats.go 1.22) in
// GOPATH mode, with nothing downloaded (GO111MODULE=off, GOPROXY=off), and cached by the hash of its source and
// toolchain under /var/cache/kastor (or the OS temp dir when that is not writable). Nothing is installed here:
// without `go` or the nats.go sources, goPeer() says so in one line and the benchmarks run the Node peer alone.
//
// This is a library (no run()); bench/single.ts, bench/cluster.ts, bench/e2e.ts and bench/jetstream.ts use it.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JetStreamConsumeResult, JetStreamPublishOptions, JetStreamPublishResult } from './jetstream-peer.ts';

export const GO_INSTALL_HINT = 'apt-get install -y golang-go golang-github-nats-io-go-nats-dev';
const SOURCE_DIR = fileURLToPath(new URL('./jetstream-go/', import.meta.url));
const NATS_GO = join('src', 'github.com', 'nats-io', 'nats.go');
const DEBIAN_GOPATH = '/usr/share/gocode';

export type GoPeerMode = 'publish' | 'consume' | 'sync' | 'e2e';

/** As for the Node peer; the program itself finds the stream leader among the URLs. */
export interface GoPeerRunOptions extends Omit<JetStreamPublishOptions, 'window'> {
  /** Most unacknowledged publishes (publish mode; default 1000). */
  window?: number;
  /** Unmeasured publishes before the probe (sync mode). */
  warmup?: number;
  /** e2e mode: records/s offered, measured seconds, and unmeasured seconds sent first. */
  rate?: number;
  seconds?: number;
  warmupSeconds?: number;
}

/** A produce-to-consume run of the Go peer (e2e mode), in bench/e2e.ts's RunResult shape. */
export interface GoE2eResult {
  records: number;
  offered_records_per_s: number;
  achieved_records_per_s: number;
  p50_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
  produce_ack_p50_ms: number;
  produce_ack_p99_ms: number;
  /** Publishes sent again because JetStream skipped them (answered later ones first); kept once by their Nats-Msg-Id. */
  republished: number;
}

/** The built Go peer, or why there is none (the benchmarks then carry null Go figures). */
export type GoPeer = { available: true; binary: string } | { available: false; reason: string };

export interface GoToolchainEnv {
  /** PATH to look for `go` in (default process.env.PATH). */
  path?: string;
  /** GOPATH entries to look for nats.go in (default: $GOPATH's entries and /usr/share/gocode). */
  gopath?: string[];
  /** Where built binaries are cached (default /var/cache/kastor, else <tmpdir>/kastor-cache). */
  cacheDir?: string;
}

/** `go` on `path`, or null. */
function findGo(path: string): string | null {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'go');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

function defaultGopath(): string[] {
  return [...(process.env.GOPATH ?? '').split(delimiter).filter(Boolean), DEBIAN_GOPATH];
}

function writableDir(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function defaultCacheDir(): string {
  return writableDir('/var/cache/kastor') ? '/var/cache/kastor' : join(tmpdir(), 'kastor-cache');
}

/**
 * Finds the toolchain and nats.go, and builds the Go peer unless a binary of the same source and toolchain is
 * cached. Never throws: a missing toolchain, missing sources or a failed build come back as `available: false`
 * with a one-line reason that says how to install them.
 */
export function prepareGoPeer(env: GoToolchainEnv = {}): GoPeer {
  const go = findGo(env.path ?? process.env.PATH ?? '');
  if (!go) return { available: false, reason: `Go peer skipped: \`go\` is not on PATH (install: ${GO_INSTALL_HINT})` };
  const gopath = env.gopath ?? defaultGopath();
  const natsGo = gopath.map((d) => join(d, NATS_GO)).find((d) => existsSync(join(d, 'js.go')));
  if (!natsGo) {
    return { available: false, reason: `Go peer skipped: nats.go sources not found in GOPATH ${gopath.join(delimiter)} (install: ${GO_INSTALL_HINT})` };
  }
  const version = spawnSync(go, ['version'], { encoding: 'utf8', timeout: 30_000 });
  if (version.status !== 0) return { available: false, reason: `Go peer skipped: \`${go} version\` failed: ${(version.stderr || String(version.error)).trim()}` };

  const sources = readdirSync(SOURCE_DIR)
    .filter((f) => f.endsWith('.go'))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(SOURCE_DIR, name)) }));
  const hashed = createHash('sha256');
  for (const s of sources) hashed.update(s.name).update(s.text);
  const hash = hashed
    .update(version.stdout)
    .update(readFileSync(join(natsGo, 'nats.go')))
    .update(readFileSync(join(natsGo, 'js.go')))
    .digest('hex')
    .slice(0, 16);
  const cacheDir = env.cacheDir ?? defaultCacheDir();
  const binary = join(cacheDir, `jetstream-go-${hash}`);
  if (existsSync(binary)) return { available: true, binary };

  mkdirSync(cacheDir, { recursive: true });
  const buildDir = mkdtempSync(join(cacheDir, 'jetstream-go-build-'));
  try {
    for (const s of sources) writeFileSync(join(buildDir, s.name), s.text);
    const built = spawnSync(go, ['build', '-o', join(buildDir, 'jetstream-go'), ...sources.map((s) => s.name)], {
      cwd: buildDir,
      encoding: 'utf8',
      timeout: 300_000,
      env: {
        ...process.env,
        GO111MODULE: 'off',
        GOPATH: [join(buildDir, 'gopath'), ...gopath].join(delimiter),
        GOPROXY: 'off',
        GOFLAGS: '',
        GOTOOLCHAIN: 'local',
        GOCACHE: join(cacheDir, 'go-build'),
        CGO_ENABLED: '0',
      },
    });
    if (built.status !== 0) {
      const why = (built.stderr || String(built.error ?? `exit ${built.status}`)).trim().split('\n').slice(0, 3).join(' | ');
      return { available: false, reason: `Go peer skipped: building bench/jetstream-go failed: ${why}` };
    }
    // A rename is atomic: a concurrent bench sees either no binary or a whole one.
    renameSync(join(buildDir, 'jetstream-go'), binary);
    return { available: true, binary };
  } finally {
    rmSync(buildDir, { recursive: true, force: true });
  }
}

let prepared: GoPeer | null = null;

/** prepareGoPeer once per process, logging its outcome on stderr (the one line that says Go is missing). */
export function goPeer(): GoPeer {
  if (!prepared) {
    const t0 = Date.now();
    prepared = prepareGoPeer();
    process.stderr.write(prepared.available ? `jetstream-go: ${prepared.binary} (ready in ${Date.now() - t0} ms)\n` : `jetstream-go: ${prepared.reason}\n`);
  }
  return prepared;
}

export function goPeerArgs(mode: GoPeerMode, o: GoPeerRunOptions): string[] {
  const urls = Array.isArray(o.url) ? o.url : [o.url];
  return [
    '-mode', mode,
    '-urls', urls.join(','),
    '-stream', o.stream,
    '-subject', o.subject,
    '-replicas', String(o.replicas),
    '-records', String(o.records),
    '-size', String(o.recordBytes),
    '-window', String(o.window ?? 1000),
    '-warmup', String(o.warmup ?? 0),
    ...(mode === 'e2e' ? ['-rate', String(o.rate ?? 1000), '-seconds', String(o.seconds ?? 5), '-warmup-seconds', String(o.warmupSeconds ?? 1)] : []),
    '-timeout', `${Math.ceil((o.timeoutMs ?? 300_000) / 1000)}s`,
  ];
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

function numberField(line: Record<string, unknown>, key: string): number {
  const v = line[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`jetstream-go: "${key}" is ${JSON.stringify(v)} in ${JSON.stringify(line)}`);
  return v;
}

/**
 * The Go peer's figures from its stdout: the last JSON line, `{"error":...}` becoming an Error, rounded as the
 * Node peer rounds (records/s whole, MB/s to 2 digits, ms and seconds to 3).
 */
export function parseGoPeerOutput(mode: 'publish' | 'sync', stdout: string): JetStreamPublishResult;
export function parseGoPeerOutput(mode: 'consume', stdout: string): JetStreamConsumeResult;
export function parseGoPeerOutput(mode: 'e2e', stdout: string): GoE2eResult;
export function parseGoPeerOutput(mode: GoPeerMode, stdout: string): JetStreamPublishResult | JetStreamConsumeResult | GoE2eResult;
export function parseGoPeerOutput(mode: GoPeerMode, stdout: string): JetStreamPublishResult | JetStreamConsumeResult | GoE2eResult {
  const text = stdout.split('\n').filter((l) => l.startsWith('{')).pop();
  if (text === undefined) throw new Error(`jetstream-go: no JSON line in its output: ${JSON.stringify(stdout.slice(0, 500))}`);
  let line: Record<string, unknown>;
  try {
    line = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`jetstream-go: not JSON: ${text.slice(0, 500)}`);
  }
  if (typeof line.error === 'string') throw new Error(`jetstream-go ${mode}: ${line.error}`);
  if (line.mode !== mode) throw new Error(`jetstream-go: asked for ${mode}, got mode ${JSON.stringify(line.mode)}`);
  if (mode === 'e2e') {
    const ms = (key: string) => round(numberField(line, key), 3);
    const whole = (key: string) => Math.round(numberField(line, key));
    return {
      records: whole('records'),
      offered_records_per_s: whole('offered_records_per_s'),
      achieved_records_per_s: whole('achieved_records_per_s'),
      p50_ms: ms('p50_ms'),
      p99_ms: ms('p99_ms'),
      p999_ms: ms('p999_ms'),
      max_ms: ms('max_ms'),
      produce_ack_p50_ms: ms('produce_ack_p50_ms'),
      produce_ack_p99_ms: ms('produce_ack_p99_ms'),
      republished: whole('republished'),
    };
  }
  const common = {
    records_per_s: Math.round(numberField(line, 'records_per_s')),
    mb_per_s: round(numberField(line, 'mb_per_s'), 2),
    seconds: round(numberField(line, 'seconds'), 3),
  };
  if (mode === 'consume') return common;
  return { ...common, p50_ms: round(numberField(line, 'p50_ms'), 3), p99_ms: round(numberField(line, 'p99_ms'), 3) };
}

/** Runs the built Go peer once and returns its stdout; fails with its error line (or stderr) on a failure. */
function runGoPeer(binary: string, mode: GoPeerMode, o: GoPeerRunOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, goPeerArgs(mode, o), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      if (err.length < 1 << 16) err += d;
    });
    // The program has its own deadline; this one only catches a program that ignores it.
    const timer = setTimeout(() => child.kill('SIGKILL'), (o.timeoutMs ?? 300_000) + 30_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve(out);
      let why = err.trim().slice(-2000) || 'no output';
      try {
        parseGoPeerOutput(mode, out);
      } catch (e) {
        // Its own {"error":...} line says more than stderr.
        if (out.trim()) why = (e as Error).message;
      }
      reject(new Error(`jetstream-go ${mode} exited ${code ?? signal}: ${why}`));
    });
  });
}

/** Async publish with a window of outstanding acks on a (re)created stream; null when the Go peer is unavailable. */
export async function goPublish(o: GoPeerRunOptions): Promise<JetStreamPublishResult | null> {
  const peer = goPeer();
  return peer.available ? parseGoPeerOutput('publish', await runGoPeer(peer.binary, 'publish', o)) : null;
}

/** The ordered consumer reading the whole stream (which must hold `records`); null when unavailable. */
export async function goConsume(o: GoPeerRunOptions): Promise<JetStreamConsumeResult | null> {
  const peer = goPeer();
  return peer.available ? parseGoPeerOutput('consume', await runGoPeer(peer.binary, 'consume', o)) : null;
}

/**
 * Produce-to-consume latency at `rate` records/s on a (re)created stream, an ordered consumer reading as records
 * are stored (bench/e2e.ts); null when unavailable.
 */
export async function goEndToEnd(o: GoPeerRunOptions): Promise<GoE2eResult | null> {
  const peer = goPeer();
  return peer.available ? parseGoPeerOutput('e2e', await runGoPeer(peer.binary, 'e2e', o)) : null;
}

/** One synchronous publish at a time on a (re)created stream, after `warmup` unmeasured; null when unavailable. */
export async function goSyncProbe(o: GoPeerRunOptions): Promise<JetStreamPublishResult | null> {
  const peer = goPeer();
  return peer.available ? parseGoPeerOutput('sync', await runGoPeer(peer.binary, 'sync', o)) : null;
}
