// `kastor dev` as a child process for tests: started on free ports with its own data directory, its stdout and
// stderr kept as lines, waits for a line with a deadline, and a stop that SIGINTs it (SIGKILL to it and every
// broker pid it printed when a test fails before).
import { retryWhilePortTaken } from './port-retry.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/testing/nats-server.ts';

const bin = fileURLToPath(new URL('../../bin/kastor.js', import.meta.url));

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** The first of n consecutive free loopback ports. */
export async function freePortRun(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await freePort();
    let all = base + n - 1 < 65_536;
    for (let p = base + 1; all && p < base + n; p++) all = await portFree(p);
    if (all) return base;
  }
  throw new Error(`no ${n} consecutive free ports in 50 tries`);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class DevProcess {
  readonly lines: string[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters = new Set<() => void>();

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [bin, 'dev', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.lines.push(line);
        for (const w of [...this.waiters]) w();
      });
    }
    this.exited = new Promise((resolve) => this.child.once('close', (code, signal) => resolve({ code, signal })));
    void this.exited.then(() => {
      for (const w of [...this.waiters]) w();
    });
  }

  get output(): string {
    return this.lines.filter((l) => !l.startsWith('{')).join('\n');
  }

  /** Broker pids from `broker N: ... (pid P)` lines, the latest per broker. */
  brokerPids(): Map<number, number> {
    const pids = new Map<number, number>();
    for (const l of this.lines) {
      const m = /broker (\d+): \S+.* \(pid (\d+)\)$/.exec(l);
      if (m) pids.set(Number(m[1]), Number(m[2]));
    }
    return pids;
  }

  /** The first line (from index `from`) matching `re`; fails after `timeoutMs` or when dev exits first. */
  waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = this.lines.slice(from).find((l) => re.test(l));
        if (line !== undefined) return done(() => resolve(line));
        if (this.child.exitCode !== null || this.child.signalCode !== null) done(() => reject(new Error(`kastor dev exited before printing ${re}:\n${this.output.slice(-4000)}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`kastor dev did not print ${re} within ${timeoutMs} ms:\n${this.output.slice(-4000)}`))), timeoutMs);
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        fn();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** SIGKILLs dev and every broker it printed (cleanup after a failure). */
  killAll(): void {
    for (const pid of this.brokerPids().values()) if (alive(pid)) process.kill(pid, 'SIGKILL');
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** The ports a `kastor dev` was started on: its first broker's Kafka port (the others follow) and its NATS port. */
export interface DevPorts {
  portBase: number;
  natsPort: number;
}

/**
 * `kastor dev` with `brokers` brokers on ports free when picked, waited on until it prints `ready`. Another test
 * may take one of them between the pick and dev's bind: a start that fails with "is in use" is tried again on new
 * ports (three times at most). `args` gives dev's arguments for the ports (it may pick more ports of its own, which
 * a retry picks again); `track` sees every process started, for the test's cleanup.
 */
export async function startDevOnFreePorts(
  brokers: number,
  args: (ports: DevPorts) => string[] | Promise<string[]>,
  opts: { readyTimeoutMs: number; track: (dev: DevProcess) => void },
): Promise<{ dev: DevProcess } & DevPorts> {
  const failed = new Map<unknown, string>();
  return retryWhilePortTaken(
    async () => {
      const ports = { portBase: await freePortRun(brokers), natsPort: await freePort() };
      const dev = new DevProcess(['--brokers', String(brokers), '--port-base', String(ports.portBase), '--nats-port', String(ports.natsPort), ...(await args(ports))]);
      opts.track(dev);
      try {
        await dev.waitFor(/^ready$/, opts.readyTimeoutMs);
        return { dev, ...ports };
      } catch (err) {
        failed.set(err, dev.output);
        dev.killAll();
        await dev.exited;
        throw err;
      }
    },
    (err) => failed.get(err) ?? '',
  );
}
