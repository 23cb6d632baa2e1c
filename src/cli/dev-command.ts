// `kastor dev`: a local cluster for development — a nats-server started from the repository's nats.conf
// (its JetStream store under the data directory) and N broker processes on consecutive ports. It prints the
// bootstrap servers and a line `ready` once every broker serves clients, and stops everything on Ctrl-C.
// Flags after `--` go to every broker (`kastor dev -- --num-partitions 4`), checked before anything starts.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { helpText, parseFlags, parseHostPort, UsageError, type FlagSpecs } from './args.ts';
import { NatsServer } from '../testing/nats-server.ts';
import { startStandaloneDashboard } from '../dashboard/observability.ts';
import { DEFAULT_METADATA_BUCKET } from '../runtime/node/nats-kv.ts';
import { createLogger } from '../util/logger.ts';
import { kastorNodeArgs, PACKAGE_ROOT } from './cli-entry.ts';
import { BROKER_FLAGS } from './broker-command.ts';

const DEV_FLAGS = {
  brokers: { type: 'number', description: 'number of brokers (auto-created topics get replication factor min(3, N))', default: 3, value: 'N' },
  data: { type: 'string', description: 'data directory (NATS store and broker logs)', default: './data', value: 'DIR' },
  'port-base': { type: 'number', description: 'Kafka port of broker 1; broker N listens on port-base + N - 1', default: 9092, value: 'PORT' },
  'nats-port': { type: 'number', description: 'port of the dev nats-server', default: 4322, value: 'PORT' },
  host: { type: 'string', description: 'listen and advertised host', default: '127.0.0.1', value: 'HOST' },
  http: { type: 'string', description: "the cluster dashboard's address ('off': none); each broker also serves its own on a free port", default: '127.0.0.1:8080', value: 'HOST:PORT' },
} satisfies FlagSpecs;

/** Flags `kastor dev` sets per broker itself, so they cannot be passed through. */
const DEV_OWNED = ['id', 'listen', 'advertise', 'nats', 'data', 'http'];

/** The broker flags after `--`, validated as `kastor broker` would (a typo fails before anything starts). */
function brokerPassThrough(args: string[]): string[] {
  for (const arg of args) {
    const name = /^--([^=]+)/.exec(arg)?.[1];
    if (name && DEV_OWNED.includes(name)) throw new UsageError(`--${name} is set by kastor dev for each broker and cannot be passed after --`);
  }
  const f = parseFlags('broker', BROKER_FLAGS, ['--id', '1', '--data', '.', ...args]);
  if (f._.length > 0) throw new UsageError(`unexpected broker argument "${f._[0]}" after -- (see: kastor broker --help)`);
  return args;
}

export async function devCommand(argv: string[]): Promise<number> {
  const split = argv.indexOf('--');
  const own = split < 0 ? argv : argv.slice(0, split);
  if (own.includes('--help')) {
    console.log(helpText('dev', 'start a local nats-server and brokers', DEV_FLAGS));
    console.log('\nFlags after -- go to every broker (see: kastor broker --help), e.g. kastor dev -- --num-partitions 4');
    return 0;
  }
  const f = parseFlags('dev', DEV_FLAGS, own);
  const brokerArgs = split < 0 ? [] : brokerPassThrough(argv.slice(split + 1));
  if (f._.length > 0) throw new UsageError(`unexpected argument "${f._[0]}" (see: kastor dev --help)`);
  if (!Number.isInteger(f.brokers) || f.brokers < 1 || f.brokers > 32) throw new UsageError('--brokers must be between 1 and 32');
  const dashboardAt = f.http === 'off' ? null : parseHostPort('http', f.http);
  const dataDir = f.data;
  mkdirSync(dataDir, { recursive: true });
  // nats-server (2.9) refuses `-sd` next to the file's own store_dir ("Duplicate 'store_dir'"): run a copy
  // without it, so the store lives under --data as the -sd flag says.
  const natsConf = join(dataDir, 'nats.conf');
  writeFileSync(natsConf, readFileSync(join(PACKAGE_ROOT, 'nats.conf'), 'utf8').replace(/^\s*store_dir:.*$/m, ''));
  const nats = await NatsServer.start({ dir: join(dataDir, 'nats'), port: f['nats-port'], configFile: natsConf });
  console.log(`nats: ${nats.url} (store ${nats.storeDir})`);

  const children: ChildProcess[] = [];
  let shuttingDown = false;
  let stopDashboard: () => Promise<void> = async () => {};
  const stopAll = async (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    await stopDashboard().catch(() => {});
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
          }),
      ),
    );
    await nats.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  const bootstrap: string[] = [];
  const ready: Promise<void>[] = [];
  for (let i = 1; i <= f.brokers; i++) {
    const port = f['port-base'] + i - 1;
    bootstrap.push(`${f.host}:${port}`);
    const child = spawn(
      process.execPath,
      [...kastorNodeArgs(), 'broker', '--id', String(i), '--listen', `${f.host}:${port}`, '--nats', nats.url, '--data', join(dataDir, `broker-${i}`), '--http', `${f.host}:0`,
        '--default-replication-factor', String(Math.min(3, f.brokers)), ...brokerArgs],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    child.on('exit', (code, signal) => {
      if (!shuttingDown) {
        console.error(`broker ${i} exited (${signal ?? code}); stopping the dev cluster`);
        void stopAll(1);
      }
    });
    ready.push(
      new Promise((resolve) => {
        const lines = createInterface({ input: child.stdout! });
        lines.on('line', (line) => {
          if (line.includes('"listening"')) resolve();
          else console.log(`[broker ${i}] ${line}`);
        });
      }),
    );
  }
  await Promise.all(ready);
  console.log(`bootstrap servers: ${bootstrap.join(',')}`);
  if (dashboardAt) {
    const dashboard = await startStandaloneDashboard({ natsServers: [nats.url], bucket: DEFAULT_METADATA_BUCKET, ...dashboardAt, logger: createLogger() });
    stopDashboard = () => dashboard.stop();
    console.log(`dashboard: http://${dashboard.address.host}:${dashboard.address.port}/`);
  }
  console.log('ready');
  await new Promise(() => {});
  return 0;
}
