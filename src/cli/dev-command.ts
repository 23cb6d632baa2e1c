// `kastor dev`: a local cluster for development — a nats-server started from the repository's nats.conf
// (its JetStream store under the data directory) and N broker processes on consecutive ports, each serving its
// metrics, /healthz and /readyz on consecutive HTTP ports too. It prints the bootstrap servers, each broker's
// addresses and pid, and a line `ready` once every broker serves clients, and stops everything on Ctrl-C.
//
// It behaves as a supervisor, so the story Kafka is about can be watched: a broker that dies (SIGKILL the
// leader) is reported with how it died and started again after --restart-delay-ms, while the others elect new
// leaders and keep serving (--restart=false leaves it down). Something that stops the cluster from starting at
// all — a port taken, a broker that cannot start — ends dev with exit 1 and one line saying what to do.
//
// Broker flags reach every broker, given directly (`kastor dev --num-partitions 4`) or after `--`; they are
// checked as `kastor broker` would before anything starts.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { helpText, parseFlags, parseHostPort, UsageError, type FlagSpecs } from './args.ts';
import { NatsServer } from '../testing/nats-server.ts';
import { startStandaloneDashboard } from '../dashboard/observability.ts';
import { DEFAULT_METADATA_BUCKET } from '../runtime/node/nats-kv.ts';
import { checkDataDir, checkListenAddress } from '../runtime/node/startup-checks.ts';
import { createNodeLogger } from '../runtime/node/node-logger.ts';
import { kastorNodeArgs, PACKAGE_ROOT } from './cli-entry.ts';
import { BROKER_FLAGS } from './broker-command.ts';
import { DevBroker, describeExit } from './dev-broker.ts';
import { devControls } from './dev-controls.ts';
import { startupFailureLine } from './startup-failure.ts';
import { ensureNatsCredentials } from './nats-config-command.ts';
import { natsAuthorizationConfig } from '../security/nats-authorization.ts';
import { NO_NATS_SECURITY } from '../security/nats-credentials.ts';

const DEV_FLAGS = {
  brokers: { type: 'number', description: 'number of brokers (auto-created topics get replication factor min(3, N))', default: 3, value: 'N' },
  data: { type: 'string', description: 'data directory (NATS store and broker logs)', default: './data', value: 'DIR' },
  'port-base': { type: 'number', description: 'Kafka port of broker 1; broker N listens on port-base + N - 1', default: 9092, value: 'PORT' },
  'nats-port': { type: 'number', description: 'port of the dev nats-server', default: 4322, value: 'PORT' },
  host: { type: 'string', description: 'listen and advertised host', default: '127.0.0.1', value: 'HOST' },
  http: { type: 'string', description: "the cluster dashboard's address ('off': none)", default: '127.0.0.1:8080', value: 'HOST:PORT' },
  'http-port-base': {
    type: 'number',
    description: "HTTP port (metrics, /healthz, /readyz, its dashboard) of broker 1; broker N uses http-port-base + N - 1 (default: the dashboard's port + 1, 8081 with --http off; 0: free ports)",
    value: 'PORT',
  },
  restart: { type: 'boolean', description: 'start a broker that died again after --restart-delay-ms (--restart=false: leave it down)', default: true },
  'restart-delay-ms': { type: 'number', description: 'how long a dead broker stays down before it is started again', default: 1000, value: 'MS' },
} satisfies FlagSpecs;

/** Flags `kastor dev` sets per broker itself, so they cannot be passed through. */
const DEV_OWNED = ['id', 'listen', 'advertise', 'nats', 'data', 'http', 'nats-credentials', 'nats-nkey'];

/** A broker that keeps dying before it serves is left down after this many attempts in a row. */
const MAX_FAILED_RESTARTS = 5;

/** Splits dev's arguments into its own and the broker flags given among them (`kastor dev --num-partitions 4`). */
export function splitDevArgs(argv: string[]): { own: string[]; broker: string[] } {
  const split = argv.indexOf('--');
  const head = split < 0 ? argv : argv.slice(0, split);
  const own: string[] = [];
  const broker: string[] = [];
  for (let i = 0; i < head.length; i++) {
    const arg = head[i]!;
    const name = /^--([^=]+)/.exec(arg)?.[1];
    const spec = name && !Object.hasOwn(DEV_FLAGS, name) && name !== 'help' ? BROKER_FLAGS[name as keyof typeof BROKER_FLAGS] : undefined;
    if (!spec) {
      own.push(arg);
      continue;
    }
    broker.push(arg);
    if (spec.type !== 'boolean' && !arg.includes('=') && i + 1 < head.length) broker.push(head[++i]!);
  }
  return { own, broker: [...broker, ...(split < 0 ? [] : argv.slice(split + 1))] };
}

/** The broker flags, validated as `kastor broker` would (a typo fails before anything starts). */
function brokerPassThrough(args: string[]): string[] {
  for (const arg of args) {
    const name = /^--([^=]+)/.exec(arg)?.[1];
    if (name && DEV_OWNED.includes(name)) throw new UsageError(`--${name} is set by kastor dev for each broker and cannot be passed to its brokers`);
  }
  const f = parseFlags('broker', BROKER_FLAGS, ['--id', '1', '--data', '.', ...args]);
  if (f._.length > 0) throw new UsageError(`unexpected broker argument "${f._[0]}" (see: kastor broker --help)`);
  return args;
}

export async function devCommand(argv: string[]): Promise<number> {
  const split = argv.indexOf('--');
  if ((split < 0 ? argv : argv.slice(0, split)).includes('--help')) {
    console.log(helpText('dev', 'start a local nats-server and brokers', DEV_FLAGS));
    console.log('\nBroker flags (see: kastor broker --help) go to every broker, given here or after --, e.g. kastor dev --num-partitions 4');
    return 0;
  }
  const args = splitDevArgs(argv);
  const f = parseFlags('dev', DEV_FLAGS, args.own);
  const brokerArgs = brokerPassThrough(args.broker);
  if (f._.length > 0) throw new UsageError(`unexpected argument "${f._[0]}" (see: kastor dev --help)`);
  if (!Number.isInteger(f.brokers) || f.brokers < 1 || f.brokers > 32) throw new UsageError('--brokers must be between 1 and 32');
  if (!Number.isFinite(f['restart-delay-ms']) || f['restart-delay-ms'] < 0) throw new UsageError('--restart-delay-ms must be a non-negative number of milliseconds');
  const dashboardAt = f.http === 'off' ? null : parseHostPort('http', f.http);
  const httpBase = f['http-port-base'] ?? (dashboardAt === null ? 8081 : dashboardAt.port === 0 ? 0 : dashboardAt.port + 1);
  if (!Number.isInteger(httpBase) || httpBase < 0 || httpBase + f.brokers - 1 > 65535) throw new UsageError(`--http-port-base must be a port number, got ${httpBase}`);
  const kafkaPort = (i: number) => f['port-base'] + i - 1;
  const httpPort = (i: number) => (httpBase === 0 ? 0 : httpBase + i - 1);

  // Everything that can be checked is checked before anything starts, each failure naming dev's own flag.
  const fail = (line: string) => {
    console.error(`kastor dev: ${line}`);
    return 1;
  };
  try {
    await checkDataDir(f.data);
    for (let i = 1; i <= f.brokers; i++) await checkListenAddress(f.host, kafkaPort(i));
  } catch (err) {
    return fail(startupFailureLine(err, { listen: '--port-base', data: '--data', nats: '--nats-port' }));
  }
  try {
    await checkListenAddress('127.0.0.1', f['nats-port']);
  } catch (err) {
    return fail(startupFailureLine(err, { listen: '--nats-port', data: '--data', nats: '--nats-port' }));
  }
  try {
    for (let i = 1; i <= f.brokers; i++) await checkListenAddress(f.host, httpPort(i));
  } catch (err) {
    return fail(startupFailureLine(err, { listen: '--http-port-base', data: '--data', nats: '--nats-port' }));
  }
  try {
    if (dashboardAt) await checkListenAddress(dashboardAt.host, dashboardAt.port);
  } catch (err) {
    return fail(startupFailureLine(err, { listen: '--http', data: '--data', nats: '--nats-port' }));
  }

  const dataDir = f.data;
  mkdirSync(dataDir, { recursive: true });
  // nats-server (2.9) refuses `-sd` next to the file's own store_dir ("Duplicate 'store_dir'"): run a copy
  // without it, so the store lives under --data as the -sd flag says. The copy closes the bus: the brokers
  // (and dev's dashboard) log in with a random password kept in <data>/nats-credentials, nobody else gets in.
  const natsConf = join(dataDir, 'nats.conf');
  const natsCredentials = join(dataDir, 'nats-credentials');
  let authorization: string;
  try {
    authorization = natsAuthorizationConfig({ bucket: DEFAULT_METADATA_BUCKET, brokers: [ensureNatsCredentials(natsCredentials, 'kastor-broker')] });
  } catch (err) {
    return fail(`the NATS credentials in ${natsCredentials} are unusable: ${(err as Error).message} — remove the file and a new one is made`);
  }
  const conf = readFileSync(join(PACKAGE_ROOT, 'nats.conf'), 'utf8').replace(/^\s*store_dir:.*$/m, '');
  writeFileSync(natsConf, `${conf}\n${authorization}\n`, { mode: 0o600 });
  chmodSync(natsConf, 0o600); // it holds the password; a copy from an older dev run may be readable by all
  let nats: NatsServer;
  try {
    nats = await NatsServer.start({ dir: join(dataDir, 'nats'), port: f['nats-port'], configFile: natsConf });
  } catch (err) {
    return fail(`nats-server could not start: ${(err as Error).message}`);
  }
  console.log(`nats: ${nats.url} (store ${nats.storeDir}; brokers log in with ${natsCredentials})`);

  const brokers: DevBroker[] = [];
  const restartTimers = new Map<number, NodeJS.Timeout>();
  /** Brokers being restarted from the dashboard: their exit is not a death. */
  const restarting = new Set<number>();
  let shuttingDown = false;
  let stopDashboard: () => Promise<void> = async () => {};
  /** Stops everything; a failure's line is printed after the others have stopped, so it is the last one. */
  const stopAll = async (code: number, failure?: string): Promise<never> => {
    if (!shuttingDown) {
      shuttingDown = true;
      for (const t of restartTimers.values()) clearTimeout(t);
      await stopDashboard().catch(() => {});
      await Promise.all(brokers.map((b) => b.stop()));
      await nats.stop();
      if (failure !== undefined) fail(failure);
      process.exit(code);
    }
    return new Promise<never>(() => {});
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  const describe = (i: number, pid: number, http: string | undefined) => `broker ${i}: ${f.host}:${kafkaPort(i)}${http ? `, http://${http}/` : ''} (pid ${pid})`;
  const restartLater = (i: number, broker: DevBroker, failures: number) => {
    const delay = f['restart-delay-ms'] * 2 ** Math.min(failures, 4);
    const timer = setTimeout(() => {
      restartTimers.delete(i);
      // Started meanwhile from the dashboard.
      if (shuttingDown || broker.running || restarting.has(i)) return;
      broker.start().then(
        ({ pid, http }) => console.log(`broker ${i} restarted — ${describe(i, pid, http)}`),
        (err: Error) => {
          if (shuttingDown) return;
          if (failures + 1 >= MAX_FAILED_RESTARTS) console.error(`broker ${i} could not restart (${err.message}); left down after ${MAX_FAILED_RESTARTS} attempts`);
          else console.error(`broker ${i} could not restart (${err.message}); trying again`);
        },
      );
    }, delay);
    restartTimers.set(i, timer);
  };
  const failedRestarts = new Map<number, number>();
  const servedOnce: boolean[] = [];
  for (let i = 1; i <= f.brokers; i++) {
    const broker = new DevBroker({
      id: i,
      args: [...kastorNodeArgs(), 'broker', '--id', String(i), '--listen', `${f.host}:${kafkaPort(i)}`, '--nats', nats.url, '--nats-credentials', natsCredentials, '--data', join(dataDir, `broker-${i}`),
        '--http', `${f.host}:${httpPort(i)}`, '--default-replication-factor', String(Math.min(3, f.brokers)), ...brokerArgs],
      onStdout: (line) => console.log(`[broker ${i}] ${line}`),
      onStderr: (line) => process.stderr.write(`${line}\n`),
    });
    broker.onExit = (how, wasListening) => {
      // Before the cluster was first ready, the failed start itself ends dev (below).
      if (shuttingDown || !servedOnce[i - 1] || restarting.has(i)) return;
      const failures = wasListening ? 0 : (failedRestarts.get(i) ?? 0) + 1;
      failedRestarts.set(i, failures);
      if (wasListening) console.error(`broker ${i} (pid ${how.pid}) died: ${describeExit(how)}${f.restart ? `; restarting it in ${f['restart-delay-ms']} ms` : '; left down (--restart=false)'}`);
      if (f.restart && failures < MAX_FAILED_RESTARTS) restartLater(i, broker, failures);
    };
    brokers.push(broker);
  }
  const firstStarts = brokers.map((broker, n) =>
    broker.start().then(
      ({ pid, http }) => {
        servedOnce[n] = true;
        console.log(describe(n + 1, pid, http));
      },
      (err: Error) => {
        throw new Error(`broker ${n + 1} could not start: ${err.message}`);
      },
    ),
  );
  for (const p of firstStarts) p.catch(() => {});
  try {
    await Promise.all(firstStarts);
  } catch (err) {
    return stopAll(1, (err as Error).message);
  }
  console.log(`bootstrap servers: ${brokers.map((_, n) => `${f.host}:${kafkaPort(n + 1)}`).join(',')}`);
  if (dashboardAt) {
    try {
      // The dashboard's kill/pause/resume/restart buttons act on these brokers (dev only).
      const dev = devControls({
        brokers,
        restarting,
        cancelRestart: (i) => {
          clearTimeout(restartTimers.get(i));
          restartTimers.delete(i);
        },
        say: (line) => console.log(line),
        describe: (i, l) => describe(i, l.pid, l.http),
        shuttingDown: () => shuttingDown,
      });
      const dashboard = await startStandaloneDashboard({ natsServers: [nats.url], natsSecurity: { ...NO_NATS_SECURITY, credentialsFile: natsCredentials }, bucket: DEFAULT_METADATA_BUCKET, ...dashboardAt, logger: createNodeLogger(), dev });
      stopDashboard = () => dashboard.stop();
      console.log(`dashboard: http://${dashboard.address.host}:${dashboard.address.port}/`);
    } catch (err) {
      return stopAll(1, `the dashboard could not start on ${f.http}: ${(err as Error).message} — choose another address with --http`);
    }
  }
  console.log('ready');
  return new Promise<number>(() => {});
}
