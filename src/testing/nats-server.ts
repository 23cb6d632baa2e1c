// A nats-server child process that Kastor's tests, `kastor dev` and `kastor/testing` own: started from a
// temporary config on a free loopback port with its own JetStream store directory, and able to stop,
// SIGKILL and restart on the same port and store (so clients reconnect and JetStream recovers its data).
//
// The server is never the system NATS on 4222: every instance gets its own port and directory.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { natsAuthorizationConfig, type NatsAuthorizationOptions } from '../security/nats-authorization.ts';

export class NatsServerNotFoundError extends Error {
  readonly code = 'NATS_SERVER_NOT_FOUND';
  constructor(binary: string) {
    super(
      `nats-server was not found (looked for "${binary}"). Install it with "apt-get install nats-server" ` +
        `(Debian/Ubuntu) or from https://github.com/nats-io/nats-server/releases, or set KASTOR_NATS_SERVER to its path.`,
    );
  }
}

export interface NatsServerOptions {
  /** Directory for the config, the JetStream store and the log. A temporary one is made (and removed) when absent. */
  dir?: string;
  /** Client port; a free one when absent. */
  port?: number;
  /** Path of the nats-server binary (default: $KASTOR_NATS_SERVER or `nats-server` on PATH). */
  binary?: string;
  /** Extra config text appended to the generated config. */
  extraConfig?: string;
  /** Use this config file (e.g. the repository's nats.conf) instead of a generated one; port and store dir are still overridden. */
  configFile?: string;
  /** How long to wait for "Server is ready". */
  startTimeoutMs?: number;
  /** Close the bus: only these logins get in, brokers limited to Kastor's subjects (src/security/nats-authorization.ts). */
  auth?: NatsAuthorizationOptions;
  /** TLS for clients (PEM files); with `caFile` and `verify`, clients must present a certificate signed by it. */
  tls?: { certFile: string; keyFile: string; caFile?: string; verify?: boolean };
}

function tlsBlock(t: NonNullable<NatsServerOptions['tls']>): string {
  const lines = [`  cert_file: ${JSON.stringify(t.certFile)}`, `  key_file: ${JSON.stringify(t.keyFile)}`];
  if (t.caFile) lines.push(`  ca_file: ${JSON.stringify(t.caFile)}`);
  if (t.verify) lines.push('  verify: true');
  return ['tls {', ...lines, '  timeout: 2', '}'].join('\n');
}

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function findNatsServer(binary = process.env.KASTOR_NATS_SERVER ?? 'nats-server'): string {
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new NatsServerNotFoundError(binary);
  return binary;
}

// Servers still running when the process exits (a failed or aborted test) are killed on the way out.
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}

export class NatsServer {
  readonly dir: string;
  readonly storeDir: string;
  readonly configPath: string;
  readonly logPath: string;
  port = 0;
  private child: ChildProcess | null = null;
  private readonly ownsDir: boolean;
  private readonly binary: string;
  private exited: Promise<void> = Promise.resolve();

  private constructor(private readonly opts: NatsServerOptions) {
    this.binary = findNatsServer(opts.binary);
    this.ownsDir = !opts.dir;
    this.dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'kastor-nats-'));
    mkdirSync(this.dir, { recursive: true });
    this.storeDir = join(this.dir, 'jetstream');
    this.configPath = join(this.dir, 'nats.conf');
    this.logPath = join(this.dir, 'nats.log');
  }

  /** Starts a nats-server with JetStream on a free loopback port and waits until it is ready. */
  static async start(opts: NatsServerOptions = {}): Promise<NatsServer> {
    const server = new NatsServer(opts);
    server.port = opts.port ?? (await freePort());
    server.writeConfig();
    try {
      await server.launch();
    } catch (err) {
      await server.dispose();
      throw err;
    }
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null;
  }

  private writeConfig(): void {
    if (this.opts.configFile) return;
    const conf = [
      `# generated by Kastor for one test or dev run`,
      `listen: 127.0.0.1:${this.port}`,
      `max_payload: 8MB`,
      `max_pending: 64MB`,
      `write_deadline: "10s"`,
      `jetstream {`,
      `  store_dir: ${JSON.stringify(this.storeDir)}`,
      `  max_memory_store: 256MB`,
      `  max_file_store: 8GB`,
      `}`,
      this.opts.auth ? natsAuthorizationConfig(this.opts.auth) : '',
      this.opts.tls ? tlsBlock(this.opts.tls) : '',
      this.opts.extraConfig ?? '',
    ].join('\n');
    writeFileSync(this.configPath, conf + '\n');
  }

  private launch(): Promise<void> {
    const timeoutMs = this.opts.startTimeoutMs ?? 15_000;
    const args = this.opts.configFile ? ['-c', this.opts.configFile, '-p', String(this.port), '-sd', this.storeDir] : ['-c', this.configPath];
    const child = spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    track(child);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', () => {
      if (this.child === child) this.child = null;
    });
    let output = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        child.kill('SIGKILL');
        reject(new Error(`nats-server did not become ready within ${timeoutMs} ms on port ${this.port}:\n${output}`));
      }, timeoutMs);
      const onData = (d: Buffer) => {
        output += d.toString();
        if (output.includes('Server is ready')) {
          cleanup();
          resolve();
        }
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`nats-server exited with code ${code} before it was ready:\n${output}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        // Keep draining the pipes so the server never blocks on a full pipe.
        child.stderr!.resume();
        child.stdout!.resume();
      };
      child.stderr!.on('data', onData);
      child.stdout!.on('data', onData);
      child.once('exit', onExit);
    });
  }

  /** Graceful stop (SIGTERM), waiting for the process to exit. */
  async stop(): Promise<void> {
    await this.signalAndWait('SIGTERM');
  }

  /** SIGKILL: the server dies at once, as in a crash. */
  async kill(): Promise<void> {
    await this.signalAndWait('SIGKILL');
  }

  /** Starts the server again on the same port with the same store directory. */
  async restart(): Promise<void> {
    if (this.child) await this.stop();
    await this.launch();
  }

  /** SIGSTOP / SIGCONT: a frozen server that keeps its sockets open. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  private async signalAndWait(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGCONT');
    child.kill(signal);
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(killer);
  }

  /** Kills the server and removes its directory when it made one. */
  async dispose(): Promise<void> {
    await this.kill();
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
