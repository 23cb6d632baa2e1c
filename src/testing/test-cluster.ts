// `startTestCluster`: a whole Kastor cluster on loopback for an application's or Kastor's own tests — a
// nats-server (its own, on a free port with a temporary store, or one given by URL), N `kastor broker`
// processes with their own ports and data directories, and the topics the test asks for, created through
// the Kafka protocol. It resolves once every partition has a live leader that answers ListOffsets (so an
// acks=all produce can start at once) and, unless turned off, every partition's ISR is all its replicas.
//
// Faults a test can inject: SIGKILL / SIGTERM / restart a broker, freeze it (SIGSTOP, a zombie) and thaw it,
// kill a partition's leader, cut a broker from the NATS bus (each broker talks to NATS through its own
// TcpProxy, which can black-hole traffic), restart nats-server. The cluster metadata is read from the
// NATS key-value bucket the brokers use, through the harness's own connection.
//
// close() leaves no process, port or directory behind, also after a failed test; the process-exit hooks in
// cleanup.ts cover a test process that ends without calling it.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { NatsServer, freePort } from './nats-server.ts';
import { Kafka } from '../client/kafka.ts';
import { upsertScramUser } from '../client/scram-users.ts';
import { kastorNodeArgs } from '../cli/cli-entry.ts';
import { BrokerProcess } from './broker-process.ts';
import { TcpProxy } from './tcp-proxy.ts';
import { createTopics, listLatestOffsets, type BrokerAddress, type TopicSpec } from './kafka-request.ts';
import { CLUSTER_DIR_PREFIX, reapStaleClusterDirs, trackDir, untrackDir } from './cleanup.ts';
import { connectNats, type NatsConnection } from '../runtime/node/nats-connection.ts';
import { NatsKv, DEFAULT_METADATA_BUCKET } from '../runtime/node/nats-kv.ts';
import { MetadataStore } from '../metadata/metadata-store.ts';
import type { ClusterSnapshot, PartitionState } from '../metadata/types.ts';
import { nodeClock } from '../runtime/node/node-clock.ts';
import { nodeIds } from '../runtime/node/node-ids.ts';
import { NO_NATS_SECURITY, type NatsClientSecurity } from '../security/nats-credentials.ts';
import type { NatsAuthorizationOptions, NatsOtherUser } from '../security/nats-authorization.ts';
import { ensureNatsCredentials } from '../cli/nats-config-command.ts';

export type { TopicSpec } from './kafka-request.ts';

export interface TestClusterOptions {
  /** Number of brokers, with ids 1..N (default 3). */
  brokers?: number;
  /** Topics created through CreateTopics once the brokers are up. */
  topics?: TopicSpec[];
  /**
   * Use this nats-server instead of starting one. Brokers always use the bucket `kastor-metadata` (the broker
   * has no bucket flag), so two clusters must not share one server.
   */
  natsUrl?: string;
  /** Broker liveness session timeout, passed as --session-timeout-ms when the broker supports it (default 3000). */
  sessionTimeoutMs?: number;
  /** Root for `nats/` and `broker-N/`; a temporary directory (removed by close) when absent. Kept when given. */
  dataDir?: string;
  /** Wait for every partition's ISR to be all replicas before resolving (default true). */
  waitForInSync?: boolean;
  /** Deadline for the whole start (default 60 s). */
  readyTimeoutMs?: number;
  /** More `kastor broker` flags for every broker. */
  brokerArgs?: string[];
  /** broker.rack by broker id, passed as `--rack` (e.g. `{ 1: 'az-a', 2: 'az-b', 3: 'az-c' }`); a broker not named has none. */
  racks?: Record<number, string>;
  /** Receives every broker's stderr lines, prefixed with its id. */
  onBrokerLog?: (brokerId: number, line: string) => void;
  /**
   * A second listener on every broker, beside the PLAINTEXT one the harness itself talks to: SSL, SASL_SSL or
   * SASL_PLAINTEXT (PEM files for the TLS ones), and SCRAM users to create (name → password, with SCRAM-SHA-256
   * and SCRAM-SHA-512; PLAIN logins check against them). Clients reach it at `secureBootstrapServers`.
   */
  secureListener?: SecureListenerOptions;
  /**
   * A closed bus: the cluster's own nats-server gets an authorization block, the brokers (and the harness) log in
   * with a random password written to `natsCredentialsFile`, and clients without it are refused. `others`: more
   * NATS users (not brokers) with only the subjects named for them. Needs the cluster's own nats-server.
   */
  secureNats?: boolean | { others?: NatsOtherUser[] };
}

export interface SecureListenerOptions {
  protocol: 'SSL' | 'SASL_SSL' | 'SASL_PLAINTEXT';
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  clientAuth?: 'none' | 'requested' | 'required';
  users?: Record<string, string>;
}

export interface WaitOptions {
  timeoutMs?: number;
}

export type BrokerState = 'running' | 'paused' | 'killed' | 'stopped';

/** The broker flags for short failure detection, as `kastor broker --help` lists them (cached per process). */
let supportedFlags: Promise<Set<string>> | null = null;
function brokerFlags(): Promise<Set<string>> {
  supportedFlags ??= new Promise((resolve) => {
    const child = spawn(process.execPath, [...kastorNodeArgs(), 'broker', '--help'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', () => resolve(new Set()));
    child.on('close', () => resolve(new Set([...out.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1]!))));
  });
  return supportedFlags;
}

function targetOf(natsUrl: string): { host: string; port: number } {
  const first = natsUrl.split(',')[0]!.trim();
  const u = new URL(first.includes('://') ? first : `nats://${first}`);
  return { host: u.hostname, port: Number(u.port || 4222) };
}

interface Member {
  id: number;
  process: BrokerProcess;
  proxy: TcpProxy;
  dataDir: string;
  state: BrokerState;
  /** The port of the secure listener (secureListener), 0 without one. */
  securePort: number;
}

export class TestCluster {
  /** Broker ids, 1..N. */
  readonly brokers: number[];
  /** The nats-server the cluster started (null when it reuses `natsUrl`). */
  readonly nats: NatsServer | null;
  readonly natsUrl: string;
  /** Root directory: `broker-N/` data directories (and `nats/` when the server is the cluster's own). */
  readonly dataDir: string;
  readonly sessionTimeoutMs: number;
  private readonly members = new Map<number, Member>();
  private nc: NatsConnection | null = null;
  private store: MetadataStore | null = null;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly opts: TestClusterOptions,
    nats: NatsServer | null,
    natsUrl: string,
    dataDir: string,
    private readonly ownsDir: boolean,
  ) {
    this.brokers = Array.from({ length: opts.brokers ?? 3 }, (_, i) => i + 1);
    this.nats = nats;
    this.natsUrl = natsUrl;
    this.dataDir = dataDir;
    this.sessionTimeoutMs = opts.sessionTimeoutMs ?? 3_000;
  }

  /** Use startTestCluster(). */
  static async start(opts: TestClusterOptions = {}): Promise<TestCluster> {
    const count = opts.brokers ?? 3;
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`brokers must be a positive integer, got ${count}`);
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
    reapStaleClusterDirs();
    const ownsDir = !opts.dataDir;
    const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), `${CLUSTER_DIR_PREFIX}${process.pid}-`));
    if (ownsDir) trackDir(dataDir);
    mkdirSync(dataDir, { recursive: true });
    const flags = brokerFlags();
    let nats: NatsServer | null = null;
    try {
      if (opts.secureNats && opts.natsUrl) throw new Error('secureNats needs the cluster\'s own nats-server (no natsUrl)');
      if (!opts.natsUrl) {
        const auth = opts.secureNats ? natsLogin(dataDir, opts.secureNats === true ? [] : opts.secureNats.others ?? []) : undefined;
        nats = await NatsServer.start({ dir: join(dataDir, 'nats'), auth });
      }
    } catch (err) {
      if (ownsDir) {
        rmSync(dataDir, { recursive: true, force: true });
        untrackDir(dataDir);
      }
      throw err;
    }
    const cluster = new TestCluster(opts, nats, opts.natsUrl ?? nats!.url, dataDir, ownsDir);
    try {
      await cluster.boot(await flags, deadline);
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  /** The brokers' NATS login (`user=`/`password=`) with secureNats; null without. */
  get natsCredentialsFile(): string | null {
    return this.opts.secureNats ? join(this.dataDir, NATS_CREDENTIALS) : null;
  }

  /** The settings a NATS client needs to connect as the brokers do. */
  get natsSecurity(): NatsClientSecurity {
    return { ...NO_NATS_SECURITY, credentialsFile: this.natsCredentialsFile };
  }

  private async boot(flags: Set<string>, deadline: number): Promise<void> {
    this.nc = await connectNats({ servers: this.natsUrl, name: 'kastor-testing', security: this.natsSecurity });
    const kv = await NatsKv.open(this.nc, DEFAULT_METADATA_BUCKET);
    this.store = await MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds, readyTimeoutMs: left(deadline) });
    const args = [...(this.opts.brokerArgs ?? [])];
    if (this.natsCredentialsFile) args.push('--nats-credentials', this.natsCredentialsFile);
    const s = this.sessionTimeoutMs;
    if (flags.has('session-timeout-ms')) args.push('--session-timeout-ms', String(s));
    if (flags.has('heartbeat-interval-ms')) args.push('--heartbeat-interval-ms', String(Math.max(50, Math.floor(s / 6))));
    if (flags.has('controller-lease-ms')) args.push('--controller-lease-ms', String(Math.max(300, Math.round((s * 2) / 3))));
    const target = targetOf(this.natsUrl);
    const started = await Promise.allSettled(
      this.brokers.map(async (id) => {
        const proxy = await TcpProxy.start({ targetHost: target.host, targetPort: target.port });
        const dataDir = join(this.dataDir, `broker-${id}`);
        // Registered before the process starts so close() finds the proxy even if the broker fails to start.
        const member: Member = { id, process: null as unknown as BrokerProcess, proxy, dataDir, state: 'stopped', securePort: 0 };
        this.members.set(id, member);
        const port = await freePort();
        const own = this.opts.secureListener ? await this.secureListenerArgs(member, port) : [];
        member.process = await BrokerProcess.start({
          id,
          natsUrl: proxy.url,
          dataDir,
          port,
          extraArgs: [...args, ...own, ...(this.opts.racks?.[id] !== undefined ? ['--rack', this.opts.racks[id]] : [])],
          startTimeoutMs: left(deadline),
          onLog: this.opts.onBrokerLog ? (line) => this.opts.onBrokerLog!(id, line) : undefined,
        });
        member.state = 'running';
      }),
    );
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    await this.pollUntil((snap) => this.brokers.every((id) => snap.brokers[id] !== undefined), left(deadline), () => 'every broker registered');
    await this.createUsers();
    const topics = this.opts.topics ?? [];
    if (topics.length > 0) {
      const results = await createTopics(this.addressOf(this.brokers[0]!), topics, Math.min(30_000, left(deadline)));
      const bad = results.filter((r) => r.errorCode !== 0);
      if (bad.length > 0) {
        throw new Error(`CreateTopics failed: ${bad.map((r) => `${r.name}: error ${r.errorCode} ${r.errorMessage ?? ''}`).join('; ')}`);
      }
    }
    for (const t of topics) {
      for (let p = 0; p < t.partitions; p++) await this.waitForLeader(t.name, p, { timeoutMs: left(deadline) });
      if (this.opts.waitForInSync !== false) await this.waitForInSync(t.name, { timeoutMs: left(deadline) });
      await this.waitForServing(t.name, t.partitions, deadline);
    }
  }

  /** Polls ListOffsets on each partition's leader until it answers without error: the log is open for produce. */
  private async waitForServing(topic: string, partitions: number, deadline: number): Promise<void> {
    for (let p = 0; p < partitions; p++) {
      let last = '';
      for (;;) {
        const leader = this.metadata().topics[topic]?.partitions[p]?.leader ?? -1;
        if (leader >= 0 && this.members.get(leader)?.state === 'running') {
          try {
            const r = (await listLatestOffsets(this.addressOf(leader), topic, [p], 5_000)).get(p);
            if (r && r.errorCode === 0) break;
            last = `error code ${r?.errorCode}`;
          } catch (err) {
            last = (err as Error).message;
          }
        }
        if (Date.now() > deadline) throw new Error(`${topic}-${p}: the leader did not serve ListOffsets in time (${last})`);
        await delay(50);
      }
    }
  }

  /** The flags of a broker's secure listener, on a port of its own kept across restarts. */
  private async secureListenerArgs(member: Member, plainPort: number): Promise<string[]> {
    const o = this.opts.secureListener!;
    member.securePort = await freePort();
    const args = ['--listeners', `PLAINTEXT://127.0.0.1:${plainPort},${o.protocol}://127.0.0.1:${member.securePort}`];
    if (o.certFile) args.push('--ssl-cert', o.certFile);
    if (o.keyFile) args.push('--ssl-key', o.keyFile);
    if (o.caFile) args.push('--ssl-ca', o.caFile);
    if (o.clientAuth) args.push('--ssl-client-auth', o.clientAuth);
    return args;
  }

  /** secureListener.users, through the PLAINTEXT listener (AlterUserScramCredentials). */
  private async createUsers(): Promise<void> {
    const users = Object.entries(this.opts.secureListener?.users ?? {});
    if (users.length === 0) return;
    const admin = new Kafka({ bootstrap: this.bootstrapServers, clientId: 'kastor-testing' }).admin();
    try {
      for (const [name, password] of users) {
        for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) await upsertScramUser(admin.cluster, name, mechanism, password, 4096);
      }
    } finally {
      await admin.close();
    }
  }

  /** The secure listener of every broker (secureListener), "127.0.0.1:s1,127.0.0.1:s2,...". */
  get secureBootstrapServers(): string {
    if (!this.opts.secureListener) throw new Error('this cluster has no secure listener (TestClusterOptions.secureListener)');
    return this.brokers.map((id) => `127.0.0.1:${this.member(id).securePort}`).join(',');
  }

  /** "127.0.0.1:p1,127.0.0.1:p2,...": every broker, whether or not it is running now. */
  get bootstrapServers(): string {
    return this.brokers.map((id) => `127.0.0.1:${this.member(id).process.port}`).join(',');
  }

  addressOf(id: number): BrokerAddress {
    return { host: '127.0.0.1', port: this.member(id).process.port };
  }

  /** The NATS URL the broker was given: its own proxy in front of the cluster's nats-server. */
  natsUrlOf(id: number): string {
    return this.member(id).proxy.url;
  }

  /** What the harness did to the broker last. */
  stateOf(id: number): BrokerState {
    return this.member(id).state;
  }

  /** Ids of brokers the harness has not killed, stopped or paused. */
  liveBrokers(): number[] {
    return this.brokers.filter((id) => this.member(id).state === 'running');
  }

  pidOf(id: number): number | undefined {
    return this.member(id).process.pid;
  }

  /** The broker's last stderr lines (structured logs). */
  logs(id: number): string[] {
    return this.member(id).process.logs;
  }

  /** `<dataDir>/broker-N`. */
  brokerDataDir(id: number): string {
    return this.member(id).dataDir;
  }

  /** The directory of every assigned replica of a partition (`<dataDir>/broker-N/<topic>-<p>`), from the metadata. */
  partitionDirs(topic: string, partition: number): string[] {
    const p = this.partitionState(topic, partition);
    return p.replicas.map((id) => join(this.brokerDataDir(id), `${topic}-${partition}`));
  }

  /** The current cluster metadata as the harness's own watch of the bucket sees it. */
  metadata(): ClusterSnapshot {
    if (!this.store) throw new Error('the test cluster is closed');
    return this.store.snapshot();
  }

  partitionState(topic: string, partition: number): PartitionState {
    const p = this.metadata().topics[topic]?.partitions[partition];
    if (!p) throw new Error(`no partition ${topic}-${partition} in the cluster metadata`);
    return p;
  }

  async killBroker(id: number): Promise<void> {
    const m = this.member(id);
    await m.process.kill();
    m.state = 'killed';
  }

  /** SIGTERM: a clean, controlled shutdown; resolves with the exit code. */
  async stopBroker(id: number): Promise<number | null> {
    const m = this.member(id);
    const code = await m.process.stop();
    m.state = 'stopped';
    return code;
  }

  /** Stops the broker (SIGTERM) if it runs, then starts it on the same port and data directory. */
  async restartBroker(id: number): Promise<void> {
    const m = this.member(id);
    m.state = 'stopped';
    await m.process.restart();
    m.state = 'running';
  }

  /** SIGSTOP: the process keeps its sockets and its idea of being leader, but does nothing (a zombie). */
  pauseBroker(id: number): void {
    const m = this.member(id);
    m.process.pause();
    m.state = 'paused';
  }

  resumeBroker(id: number): void {
    const m = this.member(id);
    m.process.resume();
    if (m.state === 'paused') m.state = 'running';
  }

  /** SIGKILLs the current leader of the partition (per the metadata) and returns its id. */
  async killLeader(topic: string, partition: number): Promise<number> {
    const leader = this.partitionState(topic, partition).leader;
    if (!this.members.has(leader)) throw new Error(`${topic}-${partition} has no leader in this cluster (leader ${leader})`);
    await this.killBroker(leader);
    return leader;
  }

  /** Cuts the broker from the NATS bus silently (its proxy black-holes traffic); the Kafka port stays open. */
  isolateBroker(id: number): void {
    this.member(id).proxy.blackhole();
  }

  /** Ends every isolation. */
  heal(): void {
    for (const m of this.members.values()) m.proxy.heal();
  }

  /** Restarts the cluster's own nats-server on the same port and store. */
  async restartNats(): Promise<void> {
    if (!this.nats) throw new Error('restartNats: this cluster uses a nats-server it did not start');
    await this.nats.restart();
  }

  /**
   * Waits for the partition to have a leader that is registered, that the harness has not killed, stopped or
   * paused, and (with notBroker) that is not that broker. Returns the leader's id.
   */
  async waitForLeader(topic: string, partition: number, opts: WaitOptions & { notBroker?: number } = {}): Promise<number> {
    let leader = -1;
    await this.pollUntil(
      (snap) => {
        const p = snap.topics[topic]?.partitions[partition];
        if (!p || p.leader < 0 || p.leader === opts.notBroker) return false;
        if (!snap.brokers[p.leader] || this.members.get(p.leader)?.state !== 'running') return false;
        leader = p.leader;
        return true;
      },
      opts.timeoutMs ?? 30_000,
      (snap) => `a live leader for ${topic}-${partition}${opts.notBroker !== undefined ? ` other than ${opts.notBroker}` : ''} (now ${JSON.stringify(snap.topics[topic]?.partitions[partition] ?? null)})`,
    );
    return leader;
  }

  /** Waits until every partition of the topic (all topics when absent) has ISR == replicas and a live leader. */
  async waitForInSync(topic?: string, opts: WaitOptions = {}): Promise<void> {
    const inSync = (snap: ClusterSnapshot) => {
      const names = topic === undefined ? Object.keys(snap.topics) : [topic];
      return names.every((name) => {
        const t = snap.topics[name];
        if (!t) return false;
        return t.partitions.every(
          (p) =>
            p.leader >= 0 &&
            snap.brokers[p.leader] !== undefined &&
            this.members.get(p.leader)?.state === 'running' &&
            sameSet(p.isr, p.replicas),
        );
      });
    };
    await this.pollUntil(inSync, opts.timeoutMs ?? 30_000, (snap) => {
      const names = topic === undefined ? Object.keys(snap.topics) : [topic];
      const parts = names.flatMap((n) => (snap.topics[n]?.partitions ?? []).map((p) => `${n}-${p.partition} leader ${p.leader} isr [${p.isr}] replicas [${p.replicas}]`));
      return `every partition in sync (now: ${parts.join('; ') || 'no such topic'})`;
    });
  }

  /** Checks on every metadata change and every 100 ms (the harness's own broker states change without one). */
  private pollUntil(check: (s: ClusterSnapshot) => boolean, timeoutMs: number, what: (s: ClusterSnapshot) => string): Promise<void> {
    const store = this.store;
    if (!store) return Promise.reject(new Error('the test cluster is closed'));
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        clearInterval(interval);
        clearTimeout(timer);
        unsubscribe();
        if (err) reject(err);
        else resolve();
      };
      const test = () => {
        try {
          if (check(store.snapshot())) finish();
        } catch (err) {
          finish(err as Error);
        }
      };
      const unsubscribe = store.subscribe(() => test());
      const interval = setInterval(test, 100);
      const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what(store.snapshot())}`)), timeoutMs);
      test();
    });
  }

  /** Kills every broker, closes the proxies and the harness's NATS connection, disposes of its own nats-server and directory. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async shutdown(): Promise<void> {
    const store = this.store;
    this.store = null;
    await store?.close().catch(() => {});
    await this.nc?.close().catch(() => {});
    await Promise.allSettled(
      [...this.members.values()].map(async (m) => {
        await m.process?.kill();
        m.state = 'killed';
        await m.proxy.close();
      }),
    );
    await this.nats?.kill();
    if (this.ownsDir) {
      rmSync(this.dataDir, { recursive: true, force: true });
      untrackDir(this.dataDir);
    }
  }

  private member(id: number): Member {
    const m = this.members.get(id);
    if (!m) throw new Error(`no broker ${id} in this test cluster (brokers: ${this.brokers.join(', ')})`);
    return m;
  }
}

/** Starts a test cluster; see TestClusterOptions. Always pair with `await cluster.close()` (or `await using`). */
export function startTestCluster(opts: TestClusterOptions = {}): Promise<TestCluster> {
  return TestCluster.start(opts);
}

const NATS_CREDENTIALS = 'nats-credentials';

/** secureNats: a random broker password in `<dataDir>/nats-credentials` (0600) and the server's authorization. */
function natsLogin(dataDir: string, others: NatsOtherUser[]): NatsAuthorizationOptions {
  return { bucket: DEFAULT_METADATA_BUCKET, brokers: [ensureNatsCredentials(join(dataDir, NATS_CREDENTIALS), 'kastor-broker')], others };
}

function sameSet(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && b.every((x) => a.includes(x));
}

function left(deadline: number): number {
  return Math.max(1, deadline - Date.now());
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
