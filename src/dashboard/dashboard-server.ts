// The HTTP server of Kastor's dashboard: the page, its static files (mermaid from node_modules — nothing from
// the internet), Prometheus `/metrics`, and the JSON and Server-Sent Events API the page uses.
//
//   GET /                                  the dashboard page
//   GET /metrics                           this broker's Prometheus metrics (404 on a dashboard without a broker)
//   GET /healthz                           200 while the process serves HTTP (liveness)
//   GET /readyz                            200 once this broker is registered, serving and in sync, else 503;
//                                          the body is one line saying why (readiness.ts; 404 without a broker)
//   GET /api/cluster                       brokers (up/down), controller, topics/partitions (with LSO lag), groups,
//                                          transactions per coordinator, throughput
//   GET /api/events                        SSE: `cluster` with the same view whenever it changes (≤ 4/s) and every second
//   GET /api/partitions                    this broker's replicas: role, epoch, offsets
//   GET /api/machines                      every machine in machines/ as Mermaid stateDiagram-v2 text
//   GET /api/actors                        live actors of the cluster (this broker's, and the others' via their HTTP)
//   GET /api/inspection                    observers attached and viewers connected on this broker
//   GET /api/actors/:systemId/events       SSE: `snapshot`, `history`, then `transition` per event; observers
//                                          are attached only while such a stream is open
//   GET /api/records?topic=T&partition=P&from=offset|timestamp|start|end[&offset=O][&timestamp=MS][&limit=N][&waitMs=W]
//                                          a page of a partition's records (record-browser.ts)
//   GET /api/groups/:groupId/lag           the group's lag per partition, sampled every few seconds (lag-history.ts)
//   POST /api/dev/brokers/:id/:action      kastor dev only: kill, pause, resume or restart a broker (dev-routes.ts)
//   POST /api/dev/produce                  kastor dev only: {topic, partition?, key, value, headers} → its offset
//
// Actors of another broker are served by that broker: the request is forwarded to the HTTP address its
// status names. Runs inside a broker (`kastor broker --http`) or on its own (`kastor dev`'s dashboard).
import { createServer, request as httpRequest, type ClientRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createReadStream, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterSnapshot, BrokerInfo } from '../metadata/types.ts';
import type { BrokerMetrics } from '../metrics/broker-metrics.ts';
import type { InspectionHub } from '../inspect/inspection-hub.ts';
import { brokerOfActor } from '../inspect/actor-directory.ts';
import type { Statechart } from '../inspect/statechart.ts';
import type { Logger } from '../util/logger.ts';
import type { ReplicaStatus } from './broker-status.ts';
import type { StatusBoard } from './status-board.ts';
import { buildClusterView, type ClusterView } from './cluster-view.ts';
import { openSse, type SseStream } from './sse.ts';
import type { Readiness } from './readiness.ts';
import { DevActionError, type DevBrokerState, type DevControls } from './dev-controls.ts';
import { devRequestOf, devRequestRefusal, readJsonBody } from './dev-routes.ts';
import { LagHistory } from './lag-history.ts';
import { RecordBrowser, type ProduceInput, type RecordPageQuery } from './record-browser.ts';

const staticDir = join(dirname(fileURLToPath(import.meta.url)), 'static');
const mermaidPath = createRequire(import.meta.url).resolve('mermaid/dist/mermaid.min.js');

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/statechart.js': { file: 'statechart.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  '/records.html': { file: 'records.html', type: 'text/html; charset=utf-8' },
  '/records.js': { file: 'records.js', type: 'text/javascript; charset=utf-8' },
};

/** The broker this server runs in, when it runs in one. */
export interface LocalBroker {
  brokerId: number;
  metrics: BrokerMetrics;
  hub: InspectionHub;
  replicas(): ReplicaStatus[];
  readiness(): Readiness;
}

export interface DashboardServerOptions {
  host: string;
  port: number;
  metadata: { snapshot(): ClusterSnapshot; subscribe(fn: (next: ClusterSnapshot, prev: ClusterSnapshot) => void): () => void };
  board: StatusBoard;
  machines: Statechart[];
  local?: LocalBroker;
  /** `kastor dev`'s hold on its brokers: the page's kill/pause/resume/restart buttons (never on a broker). */
  dev?: DevControls;
  logger: Logger;
  clock?: () => number;
  /** How often consumer group lag is sampled for its chart (default 2000 ms). */
  lagSampleMs?: number;
}

export class DashboardServer {
  private server: Server | null = null;
  private readonly streams = new Set<SseStream>();
  /** Requests relaying another broker's actor stream. */
  private readonly relays = new Set<ClientRequest>();
  private readonly clusterStreams = new Set<SseStream>();
  private readonly known = new Map<number, BrokerInfo | null>();
  private readonly unsubscribes: Array<() => void> = [];
  private tick: NodeJS.Timeout | null = null;
  private pending: NodeJS.Timeout | null = null;
  private readonly clock: () => number;
  private readonly records: RecordBrowser;
  private readonly lag = new LagHistory();
  private lagTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: DashboardServerOptions) {
    this.clock = opts.clock ?? Date.now;
    this.records = new RecordBrowser(() => Object.values(opts.metadata.snapshot().brokers).map((b) => `${b.host.includes(':') ? `[${b.host}]` : b.host}:${b.port}`));
  }

  /** Listens; resolves with the bound address (port 0 picks a free port). */
  async start(): Promise<{ host: string; port: number }> {
    this.remember(this.opts.metadata.snapshot());
    this.unsubscribes.push(
      this.opts.metadata.subscribe((next) => {
        this.remember(next);
        this.scheduleClusterPush();
      }),
      this.opts.board.onChange(() => this.scheduleClusterPush()),
    );
    this.lagTimer = setInterval(() => this.lag.sample(this.clusterView().groups, this.clock()), this.opts.lagSampleMs ?? 2000);
    this.lagTimer.unref();
    const server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        this.opts.logger.error('dashboard request failed', { url: req.url, error: err as Error });
        if (!res.headersSent) send(res, 500, 'text/plain', `error: ${(err as Error).message}\n`);
        else res.end();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    return this.address;
  }

  get address(): { host: string; port: number } {
    const a = this.server?.address();
    if (!a || typeof a === 'string') return { host: this.opts.host, port: this.opts.port };
    return { host: this.opts.host, port: a.port };
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribes.splice(0)) u();
    if (this.tick) clearInterval(this.tick);
    if (this.lagTimer) clearInterval(this.lagTimer);
    this.lagTimer = null;
    if (this.pending) clearTimeout(this.pending);
    this.tick = this.pending = null;
    await this.records.close();
    for (const s of [...this.streams]) s.end();
    for (const r of [...this.relays]) r.destroy();
    this.relays.clear();
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** The cluster as the page shows it; `dev` lists dev's broker processes (null outside `kastor dev`). */
  clusterView(): ClusterView & { dev: DevBrokerState[] | null } {
    const view = buildClusterView({ snapshot: this.opts.metadata.snapshot(), statuses: this.opts.board.all(), known: this.known, now: this.clock() });
    return { ...view, dev: this.opts.dev?.brokers() ?? null };
  }

  private remember(s: ClusterSnapshot): void {
    for (const [id, info] of Object.entries(s.brokers)) this.known.set(Number(id), info);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const path = url.pathname;
    const dev = devRequestOf(path);
    if (dev) return this.devAction(dev, req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'only GET\n');
    const file = STATIC[path];
    if (file) return send(res, 200, file.type, readFileSync(join(staticDir, file.file)));
    if (path === '/vendor/mermaid.min.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'max-age=3600' });
      createReadStream(mermaidPath).pipe(res);
      return;
    }
    if (path === '/healthz') return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
    if (path === '/readyz') {
      if (!this.opts.local) return send(res, 404, 'text/plain; charset=utf-8', 'this dashboard runs without a broker: ask each broker\n');
      const r = this.opts.local.readiness();
      return send(res, r.ready ? 200 : 503, 'text/plain; charset=utf-8', `${r.reason}\n`);
    }
    if (path === '/metrics') {
      if (!this.opts.local) return send(res, 404, 'text/plain', 'this dashboard runs without a broker: scrape each broker\n');
      const m = await this.opts.local.metrics.exposition();
      return send(res, 200, m.contentType, m.body);
    }
    if (path === '/api/cluster') return json(res, this.clusterView());
    if (path === '/api/events') return this.clusterEvents(req, res);
    if (path === '/api/partitions') {
      if (!this.opts.local) return json(res, { error: 'no broker here' }, 404);
      return json(res, { brokerId: this.opts.local.brokerId, replicas: this.opts.local.replicas() });
    }
    if (path === '/api/records') return this.recordPage(url.searchParams, res);
    if (path === '/api/machines') return json(res, this.opts.machines);
    const lag = /^\/api\/groups\/([^/]+)\/lag$/.exec(path);
    if (lag) {
      const groupId = decodeURIComponent(lag[1]!);
      return json(res, this.lag.series(groupId) ?? { groupId, samples: [] });
    }
    if (path === '/api/inspection') {
      // How much inspection this broker pays for right now: observers attached and viewers connected.
      const hub = this.opts.local?.hub;
      return json(res, { attachedObservers: hub?.attachedObservers ?? 0, viewers: hub?.viewers ?? 0 });
    }
    if (path === '/api/actors') return json(res, await this.actors(url.searchParams.get('scope') === 'local'));
    const m = /^\/api\/actors\/([^/]+)(\/events)?$/.exec(path);
    if (m) {
      const systemId = decodeURIComponent(m[1]!);
      return m[2] ? this.actorEvents(systemId, req, res) : this.actor(systemId, res);
    }
    send(res, 404, 'text/plain', 'not found\n');
  }

  private async devAction(dev: NonNullable<ReturnType<typeof devRequestOf>>, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const controls = this.opts.dev;
    if (!controls) return json(res, { error: 'dev actions exist in kastor dev only' }, 404);
    if (dev.kind === 'unknown') return json(res, { error: dev.why }, 404);
    const refusal = devRequestRefusal(req);
    if (refusal) return json(res, { error: refusal }, req.method === 'POST' ? 403 : 405);
    let body: Record<string, unknown>;
    try {
      body = await readJsonBody(req);
    } catch (err) {
      return json(res, { error: (err as Error).message }, 400);
    }
    try {
      if (dev.kind === 'broker') {
        const done = await controls.act(dev.brokerId, dev.action);
        this.scheduleClusterPush();
        return json(res, { ok: true, message: done });
      }
      const input = produceInput(body);
      if (typeof input === 'string') return json(res, { error: input }, 400);
      try {
        return json(res, { ok: true, ...(await this.records.produce(input)) });
      } catch (err) {
        return json(res, { error: `could not produce to ${input.topic}: ${(err as Error).message}` }, 502);
      }
    } catch (err) {
      if (err instanceof DevActionError) return json(res, { error: err.message }, 409);
      throw err;
    }
  }

  private async recordPage(params: URLSearchParams, res: ServerResponse): Promise<void> {
    const q = recordPageQuery(params);
    if (typeof q === 'string') return json(res, { error: q }, 400);
    try {
      return json(res, await this.records.page(q));
    } catch (err) {
      return json(res, { error: `could not read ${q.topic}-${q.partition}: ${(err as Error).message}` }, 502);
    }
  }

  private clusterEvents(req: IncomingMessage, res: ServerResponse): void {
    const stream = openSse(req, res);
    this.track(stream);
    this.clusterStreams.add(stream);
    stream.onClose(() => {
      this.clusterStreams.delete(stream);
      if (this.clusterStreams.size === 0 && this.tick) {
        clearInterval(this.tick);
        this.tick = null;
      }
    });
    stream.send('cluster', this.clusterView());
    // Every second as well as on change: broker status ages and rates move without a metadata change.
    this.tick ??= setInterval(() => this.pushCluster(), 1000);
  }

  private scheduleClusterPush(): void {
    if (this.clusterStreams.size === 0 || this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = null;
      this.pushCluster();
    }, 250);
  }

  private pushCluster(): void {
    if (this.clusterStreams.size === 0) return;
    const view = this.clusterView();
    for (const s of this.clusterStreams) s.send('cluster', view);
  }

  private async actors(localOnly: boolean): Promise<Array<Record<string, unknown>>> {
    const out: Array<Record<string, unknown>> = [];
    const local = this.opts.local;
    if (local) for (const a of local.hub.list()) out.push({ broker: local.brokerId, ...a });
    if (localOnly) return out;
    const view = this.clusterView();
    const remote = view.brokers.filter((b) => b.state === 'up' && b.http && b.id !== local?.brokerId);
    const lists = await Promise.all(remote.map((b) => getJson(`http://${b.http}/api/actors?scope=local`, 2000).catch(() => [])));
    for (const list of lists) out.push(...(list as Array<Record<string, unknown>>));
    return out;
  }

  private async actor(systemId: string, res: ServerResponse): Promise<void> {
    const list = await this.actors(false);
    const found = list.find((a) => a.systemId === systemId);
    if (!found) return json(res, { error: `no live actor ${systemId}` }, 404);
    json(res, found);
  }

  private actorEvents(systemId: string, req: IncomingMessage, res: ServerResponse): void {
    const broker = brokerOfActor(systemId);
    const local = this.opts.local;
    if (local && (broker === null || broker === local.brokerId)) {
      const live = local.hub.get(systemId);
      if (!live) return json(res, { error: `no live actor ${systemId} on broker ${local.brokerId}` }, 404);
      const stream = openSse(req, res);
      this.track(stream);
      const unwatch = local.hub.watch(systemId, (record, summary) => stream.send('transition', { record, summary: { broker: local.brokerId, ...summary } }));
      stream.onClose(unwatch);
      const summary = local.hub.list().find((a) => a.systemId === systemId);
      stream.send('snapshot', { broker: local.brokerId, ...summary });
      stream.send('history', local.hub.recentEvents(systemId));
      return;
    }
    const http = broker === null ? null : this.opts.board.get(broker)?.status.http;
    if (!http) return json(res, { error: `broker ${broker} has no dashboard address (started without --http?)` }, 404);
    this.forward(`http://${http}/api/actors/${encodeURIComponent(systemId)}/events`, req, res);
  }

  /** Relays another broker's SSE stream; closing either side closes the other. */
  private forward(target: string, req: IncomingMessage, res: ServerResponse): void {
    const upstream = httpRequest(target, { headers: { accept: 'text/event-stream' } }, (up) => {
      res.writeHead(up.statusCode ?? 502, { 'content-type': up.headers['content-type'] ?? 'text/plain', 'cache-control': 'no-cache' });
      up.pipe(res);
      // A broker that dies mid-stream resets the connection: pipe() would leave the viewer's stream open.
      up.on('error', () => res.end());
      up.on('close', () => res.end());
    });
    upstream.on('error', (err) => {
      if (!res.headersSent) send(res, 502, 'text/plain', `could not reach ${target}: ${err.message}\n`);
      else res.end();
    });
    upstream.end();
    this.relays.add(upstream);
    req.on('close', () => {
      upstream.destroy();
      this.relays.delete(upstream);
    });
  }

  private track(stream: SseStream): void {
    this.streams.add(stream);
    stream.onClose(() => this.streams.delete(stream));
  }
}

/** The query of /api/records, or what is wrong with it. */
export function recordPageQuery(p: URLSearchParams): RecordPageQuery | string {
  const topic = p.get('topic');
  if (!topic) return 'topic is required';
  const partition = Number(p.get('partition') ?? '0');
  if (!Number.isInteger(partition) || partition < 0) return 'partition must be a partition number';
  const limit = Number(p.get('limit') ?? '50');
  const waitMs = Number(p.get('waitMs') ?? '0');
  if (!Number.isFinite(limit) || limit < 1 || !Number.isFinite(waitMs) || waitMs < 0) return 'limit and waitMs must be positive numbers';
  const from = p.get('from') ?? 'start';
  let start: RecordPageQuery['from'];
  if (from === 'start' || from === 'end') start = from;
  else if (from === 'offset') {
    const o = p.get('offset') ?? '';
    if (!/^\d+$/.test(o)) return 'offset must be a non-negative integer';
    start = { offset: BigInt(o) };
  } else if (from === 'timestamp') {
    const raw = p.get('timestamp') ?? '';
    const t = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
    if (!Number.isFinite(t)) return 'timestamp must be milliseconds since the epoch or a date';
    start = { timestamp: t };
  } else return `from must be offset, timestamp, start or end, not ${from}`;
  return { topic, partition, from: start, limit, waitMs };
}

function produceInput(body: Record<string, unknown>): ProduceInput | string {
  const { topic, partition, key, value, headers } = body;
  if (typeof topic !== 'string' || !topic) return 'topic is required';
  if (partition !== undefined && partition !== null && partition !== '' && !(Number.isInteger(Number(partition)) && Number(partition) >= 0)) return 'partition must be a partition number';
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  if (headers !== undefined && !Array.isArray(headers)) return 'headers must be a list of {key, value}';
  const list = ((headers as unknown[]) ?? []).map((h) => h as { key?: unknown; value?: unknown });
  if (list.some((h) => typeof h?.key !== 'string' || !h.key)) return 'every header needs a key';
  return {
    topic,
    partition: partition === undefined || partition === null || partition === '' ? undefined : Number(partition),
    key: text(key),
    value: text(value),
    headers: list.map((h) => ({ key: h.key as string, value: String(h.value ?? '') })),
  };
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-cache' });
  res.end(body);
}

function json(res: ServerResponse, value: unknown, status = 200): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

function getJson(url: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
