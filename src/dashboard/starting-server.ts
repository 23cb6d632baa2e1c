// The broker's HTTP address while the broker starts (`kastor broker --http`): the dashboard needs a running
// broker, but a service manager polls /healthz and /readyz from the moment the process exists. This server
// holds the address until then, answering /healthz 200 and everything else 503 "starting", and binding it
// early also finds a taken --http address before NATS is tried. It is closed just before the dashboard
// listens on the same port.
import { createServer, type Server } from 'node:http';

export interface StartingServer {
  /** The bound address (the port the kernel chose when asked for port 0). */
  readonly address: { host: string; port: number };
  close(): Promise<void>;
}

export async function startStartingServer(host: string, port: number, phase: () => string): Promise<StartingServer> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://broker').pathname;
    const alive = path === '/healthz';
    res.writeHead(alive ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache', ...(alive ? {} : { 'retry-after': '1' }) });
    res.end(alive ? 'ok\n' : `${phase()}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  return {
    address: { host, port: typeof bound === 'object' && bound ? bound.port : port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
