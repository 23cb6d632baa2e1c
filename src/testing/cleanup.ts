// Last-resort cleanup for `kastor/testing`: what a test cluster leaves behind when the test process ends
// without calling close() (an uncaught error, process.exit, Ctrl-C, SIGTERM from a runner's timeout).
//
// Broker and nats-server children are SIGKILLed by the 'exit' hooks of BrokerProcess and NatsServer; this
// module removes the clusters' temporary directories on 'exit'. SIGINT and SIGTERM do not emit 'exit' by
// default, so when nobody else handles them they are turned into process.exit (128 + signal number), which
// runs all of those hooks. A SIGKILLed test process can run nothing, so startTestCluster also removes
// directories left by test processes that no longer exist (their names carry the owning pid).
import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CLUSTER_DIR_PREFIX = 'kastor-cluster-';

const dirs = new Set<string>();
let installed = false;

function cleanupNow(): void {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', cleanupNow);
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    if (process.listenerCount(signal) > 0) continue;
    process.once(signal, () => process.exit(code));
  }
}

export function trackDir(dir: string): void {
  install();
  dirs.add(dir);
}

export function untrackDir(dir: string): void {
  dirs.delete(dir);
}

/** Removes `kastor-cluster-<pid>-*` directories in the temp dir whose owning process is gone. */
export function reapStaleClusterDirs(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^kastor-cluster-(\d+)-/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || isAlive(pid)) continue;
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
