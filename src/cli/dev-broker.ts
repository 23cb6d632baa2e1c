// One broker process of `kastor dev`, supervised: started (and started again after it died) with the same
// arguments, ready when it prints its `listening` line, and stopped with SIGTERM. Its stdout and stderr are
// relayed to dev's, and the last stderr line is kept: a broker that cannot start says why in it
// (startup-failure.ts), and dev repeats it.
//
// The process runs in its own process group, so a terminal's Ctrl-C reaches only `kastor dev`, which stops
// each broker once (a broker given SIGINT by the terminal and SIGTERM by dev would take the second signal as
// "exit now" and skip its clean shutdown). Its stdin is a pipe from dev: when dev dies without stopping it
// (SIGKILL), the pipe closes and the broker shuts down instead of running on as an orphan
// (KASTOR_STOP_ON_STDIN_EOF, read by broker-command.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface DevBrokerOptions {
  id: number;
  /** The node arguments that run `kastor broker ...` with this broker's flags. */
  args: string[];
  /** Relays a stdout line that is not the `listening` line. */
  onStdout(line: string): void;
  onStderr(line: string): void;
  /** How long a stopping broker gets before SIGKILL (it bounds its own shutdown; this is the backstop). */
  stopTimeoutMs?: number;
}

export interface Listening {
  pid: number;
  /** The broker's HTTP address (host:port) when it serves one. */
  http?: string;
}

export type ExitHow = { pid: number | undefined; code: number | null; signal: NodeJS.Signals | null };

export function describeExit(how: ExitHow): string {
  return how.signal ? `killed by ${how.signal}` : `exited with code ${how.code}`;
}

export class DevBroker {
  private child: ChildProcess | null = null;
  private exited: Promise<ExitHow> = Promise.resolve({ pid: undefined, code: 0, signal: null });
  lastStderrLine = '';
  /** Stopped with SIGSTOP (from the dashboard) and not yet continued. */
  paused = false;
  /** Called when a started process exits (whether or not it had become ready). */
  onExit: (how: ExitHow, wasListening: boolean) => void = () => {};

  constructor(private readonly opts: DevBrokerOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Spawns the broker; resolves once it serves clients, rejects with its last stderr line if it exits first. */
  start(): Promise<Listening> {
    const child = spawn(process.execPath, this.opts.args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: { ...process.env, KASTOR_STOP_ON_STDIN_EOF: '1' } });
    this.child = child;
    this.paused = false;
    child.stdin!.on('error', () => {}); // a broker that died before reading its stdin
    this.lastStderrLine = '';
    let listening = false;
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (line.trim()) this.lastStderrLine = line;
      this.opts.onStderr(line);
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        if (this.child === child) {
          this.child = null;
          this.paused = false;
        }
        child.stdin!.destroy();
        resolve({ pid: child.pid, code, signal });
      }),
    );
    void this.exited.then((how) => this.onExit(how, listening));
    return new Promise<Listening>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (!listening && line.includes('"listening"')) {
          listening = true;
          let http: string | undefined;
          try {
            http = (JSON.parse(line) as { http?: string }).http;
          } catch {
            // not JSON after all: no address to report
          }
          resolve({ pid: child.pid!, http });
        } else this.opts.onStdout(line);
      });
      // 'close' (not 'exit'): the last stderr line has been read by then.
      child.once('close', (code, signal) => {
        if (listening) return;
        const said = this.lastStderrLine.replace(/^kastor broker \d+: /, '');
        reject(new Error(said || describeExit({ pid: child.pid, code, signal })));
      });
    });
  }

  /** Sends a signal to the running process (false when none runs); SIGSTOP and SIGCONT set `paused`. */
  signal(signal: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT'): boolean {
    const child = this.child;
    if (!child) return false;
    child.kill(signal);
    if (signal === 'SIGSTOP') this.paused = true;
    if (signal === 'SIGCONT') this.paused = false;
    return true;
  }

  /** SIGTERM and wait for the exit (SIGKILL after the timeout). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    // A paused broker (SIGSTOP from the dashboard) would keep the SIGTERM pending until the timeout.
    child.kill('SIGCONT');
    const killer = setTimeout(() => child.kill('SIGKILL'), this.opts.stopTimeoutMs ?? 30_000);
    await this.exited;
    clearTimeout(killer);
  }
}
