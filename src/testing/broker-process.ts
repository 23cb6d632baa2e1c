// A `kastor broker` child process for integration tests and benchmarks: started on a free loopback port
// against a given NATS, ready once it prints its `listening` line, and able to stop cleanly (SIGTERM),
// die (SIGKILL) and start again on the same port and data directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { freePort } from './nats-server.ts';
import { kastorNodeArgs } from '../cli/cli-entry.ts';

export interface BrokerProcessOptions {
  id: number;
  natsUrl: string;
  dataDir: string;
  port?: number;
  extraArgs?: string[];
  startTimeoutMs?: number;
  /**
   * Starts the broker with this soft and hard limit on open files (through `sh -c 'ulimit -n N'`), as on a host
   * with a low limit; default: this process's own limits.
   */
  openFileLimit?: number;
  /** Receives the broker's stderr log lines (default: kept in memory, printed when start fails). */
  onLog?: (line: string) => void;
}

const live = new Set<ChildProcess>();
let hooked = false;

export class BrokerProcess {
  port = 0;
  private child: ChildProcess | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);
  readonly logs: string[] = [];

  private constructor(readonly opts: BrokerProcessOptions) {}

  static async start(opts: BrokerProcessOptions): Promise<BrokerProcess> {
    const b = new BrokerProcess(opts);
    b.port = opts.port ?? (await freePort());
    await b.launch();
    return b;
  }

  get bootstrap(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null;
  }

  private launch(): Promise<void> {
    const args = [
      ...kastorNodeArgs(),
      'broker',
      '--id',
      String(this.opts.id),
      '--listen',
      `127.0.0.1:${this.port}`,
      '--nats',
      this.opts.natsUrl,
      '--data',
      this.opts.dataDir,
      ...(this.opts.extraArgs ?? []),
    ];
    const limit = this.opts.openFileLimit;
    const child =
      limit === undefined
        ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn('/bin/sh', ['-c', `ulimit -n ${Math.floor(limit)} && exec "$0" "$@"`, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    live.add(child);
    if (!hooked) {
      hooked = true;
      process.once('exit', () => {
        for (const c of live) c.kill('SIGKILL');
      });
    }
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        live.delete(child);
        if (this.child === child) this.child = null;
        resolve(code);
      }),
    );
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (this.logs.length > 2000) this.logs.shift();
      this.logs.push(line);
      this.opts.onLog?.(line);
    });
    const timeoutMs = this.opts.startTimeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`broker ${this.opts.id} did not start within ${timeoutMs} ms:\n${this.logs.join('\n')}`));
      }, timeoutMs);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line.includes('"listening"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`broker ${this.opts.id} exited with ${code} before listening:\n${this.logs.join('\n')}`));
      });
    });
  }

  /** SIGTERM and wait: a clean shutdown. Returns the exit code. */
  async stop(timeoutMs = 20_000): Promise<number | null> {
    const child = this.child;
    if (!child) return null;
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(killer);
    return code;
  }

  /** SIGKILL: a crash. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Starts again on the same port and data directory. */
  async restart(): Promise<void> {
    if (this.child) await this.stop();
    await this.launch();
  }
}
