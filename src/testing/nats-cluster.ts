// A cluster of nats-servers with clustered JetStream on loopback, for the R3 peer benchmark and for tests
// that need the bus (and Kastor's metadata bucket) to survive the loss of one NATS server.
//
// Each member is a NatsServer (src/testing/nats-server.ts) with its own directory, store, client port and
// cluster port under one temporary root; the cluster block lists every member as a route (a server
// ignores the route to itself). `start` returns only once JetStream has a meta leader and a stream with
// `size` replicas can be placed, because "Server is ready" on each member comes before the members have
// found each other and elected a meta leader, and an R3 stream created in that window fails.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import { NatsServer, freePort } from './nats-server.ts';

export interface NatsClusterOptions {
  /** Number of servers (default 3). */
  size?: number;
  /** Cluster name in the cluster block (default "kastor"). */
  name?: string;
  /** How long to wait for a JetStream meta leader and a placeable stream (default 30 s). */
  readyTimeoutMs?: number;
  /** Extra config text appended to every member's config. */
  extraConfig?: string;
}

export class NatsCluster {
  /** One directory per member (`n1`, `n2`, ...) lives under this one. */
  readonly dir: string;
  readonly servers: NatsServer[];
  /** server_name of each member, index-aligned with `servers`. */
  readonly names: string[];
  private readonly starting: Promise<void>[] = [];

  private constructor(dir: string, servers: NatsServer[], names: string[]) {
    this.dir = dir;
    this.servers = servers;
    this.names = names;
  }

  /** Client URLs of all members, index-aligned with `servers`. */
  get urls(): string[] {
    return this.servers.map((s) => s.url);
  }

  /** The URL of the member called `serverName` (as JetStream reports it, e.g. a stream's cluster leader). */
  urlOf(serverName: string): string | undefined {
    const i = this.names.indexOf(serverName);
    return i < 0 ? undefined : this.servers[i]!.url;
  }

  static async start(opts: NatsClusterOptions = {}): Promise<NatsCluster> {
    const size = opts.size ?? 3;
    if (!Number.isInteger(size) || size < 1) throw new Error(`NatsCluster size must be a positive integer, got ${size}`);
    const clusterName = opts.name ?? 'kastor';
    const dir = mkdtempSync(join(tmpdir(), 'kastor-nats-cluster-'));
    const servers: NatsServer[] = [];
    const names: string[] = [];
    const cluster = new NatsCluster(dir, servers, names);
    try {
      const clientPorts: number[] = [];
      const routePorts: number[] = [];
      // Ask for all ports before starting anything; distinct values are checked because freePort can, rarely,
      // hand back a port it just released.
      while (clientPorts.length < size || routePorts.length < size) {
        const p = await freePort();
        if (clientPorts.includes(p) || routePorts.includes(p)) continue;
        if (clientPorts.length < size) clientPorts.push(p);
        else routePorts.push(p);
      }
      const routes = routePorts.map((p) => `    nats-route://127.0.0.1:${p}`).join('\n');
      for (let i = 0; i < size; i++) {
        const name = `n${i + 1}`;
        const memberDir = join(dir, name);
        mkdirSync(memberDir, { recursive: true });
        const extraConfig = [
          `server_name: ${name}`,
          `cluster {`,
          `  name: ${clusterName}`,
          `  listen: 127.0.0.1:${routePorts[i]}`,
          `  routes: [`,
          routes,
          `  ]`,
          `}`,
          opts.extraConfig ?? '',
        ].join('\n');
        names.push(name);
        // Start the members concurrently: a clustered member logs "Server is ready" without waiting for routes,
        // but starting them together shortens the time until they find each other.
        cluster.starting.push(
          NatsServer.start({ dir: memberDir, port: clientPorts[i], extraConfig }).then((s) => {
            servers[i] = s;
          }),
        );
      }
      const results = await Promise.allSettled(cluster.starting);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      await cluster.waitForJetStream(opts.readyTimeoutMs ?? 30_000);
      return cluster;
    } catch (err) {
      await cluster.dispose();
      throw err;
    }
  }

  /**
   * Waits until a meta leader answers (account info succeeds) and a stream with one replica per member can be
   * created, then deletes that probe stream. Also usable after a restart of members.
   */
  async waitForJetStream(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let nc: NatsConnection | undefined;
    let lastError: unknown;
    try {
      nc = await connect({ servers: this.urls, noAsyncTraces: true, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
      const jsm = await jetstreamManager(nc, { timeout: 2_000, checkAPI: false });
      const probe = `KASTOR_CLUSTER_PROBE_${process.pid}`;
      while (Date.now() < deadline) {
        try {
          await jsm.getAccountInfo();
          await jsm.streams.add({
            name: probe,
            subjects: [`_kastor_probe.${process.pid}`],
            storage: StorageType.Memory,
            num_replicas: this.servers.length,
          });
          await jsm.streams.delete(probe);
          return;
        } catch (err) {
          lastError = err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      throw new Error(`NATS cluster JetStream not ready within ${timeoutMs} ms: ${String(lastError)}`, { cause: lastError });
    } finally {
      await nc?.close().catch(() => {});
    }
  }

  /** Kills every member and removes the root directory (with every member's store). */
  async dispose(): Promise<void> {
    // A member still starting (start() failed part-way) is waited for, so that it is killed too.
    await Promise.allSettled(this.starting);
    await Promise.allSettled(this.servers.filter((s): s is NatsServer => s !== undefined).map((s) => s.kill()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
