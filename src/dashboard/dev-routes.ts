// The dashboard's dev-only actions over HTTP: POST /api/dev/brokers/:id/:action (kill, pause, resume,
// restart) and POST /api/dev/produce. They exist only when `kastor dev` gave its dashboard the means
// (DashboardServerOptions.dev); elsewhere they answer 404. They change the cluster, so they are refused unless
// they come from loopback, as JSON (a cross-site form cannot send that without a CORS preflight, which this
// server never grants), and without a foreign Origin.
import type { IncomingMessage } from 'node:http';
import { BROKER_ACTIONS, type BrokerAction } from './dev-controls.ts';

const MAX_BODY_BYTES = 1024 * 1024;

export type DevRequest = { kind: 'broker'; brokerId: number; action: BrokerAction } | { kind: 'produce' };

/** Which dev action a path names, or null when it names none. */
export function devRequestOf(path: string): DevRequest | { kind: 'unknown'; why: string } | null {
  if (path === '/api/dev/produce') return { kind: 'produce' };
  const m = /^\/api\/dev\/brokers\/(\d+)\/([a-z]+)$/.exec(path);
  if (!m) return path.startsWith('/api/dev/') ? { kind: 'unknown', why: `no dev action at ${path}` } : null;
  const action = m[2] as BrokerAction;
  if (!BROKER_ACTIONS.includes(action)) return { kind: 'unknown', why: `unknown broker action '${m[2]}' (one of ${BROKER_ACTIONS.join(', ')})` };
  return { kind: 'broker', brokerId: Number(m[1]), action };
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/** Why a dev action request is refused, or null when it may go ahead. */
export function devRequestRefusal(req: IncomingMessage): string | null {
  if (req.method !== 'POST') return 'dev actions are POST requests';
  if (!LOOPBACK.test(req.socket.remoteAddress ?? '')) return 'dev actions are taken from loopback only';
  if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) return 'dev actions take a JSON body (content-type: application/json)';
  const origin = req.headers.origin;
  if (origin && origin !== 'null') {
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      return `bad Origin ${origin}`;
    }
    if (host !== req.headers.host) return `dev actions are taken from this dashboard's own page only (Origin ${origin})`;
  }
  return null;
}

/** The request's JSON body ({} when empty); rejects past 1 MiB or when it does not parse. */
export function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`body larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (!text) return resolve({});
      try {
        const v = JSON.parse(text) as unknown;
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
        resolve(v as Record<string, unknown>);
      } catch (err) {
        reject(new Error(`body is not a JSON object: ${(err as Error).message}`));
      }
    });
  });
}
