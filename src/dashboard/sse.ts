// Server-Sent Events over node:http: the page's EventSource reconnects by itself, and a stream ends when the
// viewer leaves (the request closes), which is what detaches the inspection observers behind it.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface SseStream {
  send(event: string, data: unknown): void;
  readonly closed: boolean;
  /** Called once when the viewer goes away or the server ends the stream. */
  onClose(fn: () => void): void;
  end(): void;
}

export function openSse(req: IncomingMessage, res: ServerResponse): SseStream {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 1000\n\n');
  let closed = false;
  const closers: Array<() => void> = [];
  // A comment line every 15 s keeps proxies from timing the stream out.
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  keepAlive.unref();
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(keepAlive);
    for (const fn of closers.splice(0)) {
      try {
        fn();
      } catch {
        // Closing must finish for every listener.
      }
    }
  };
  req.on('close', close);
  res.on('close', close);
  return {
    send(event, data) {
      if (closed) return;
      res.write(`event: ${event}\ndata: ${JSON.stringify(data, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}\n\n`);
    },
    get closed() {
      return closed;
    },
    onClose(fn) {
      if (closed) fn();
      else closers.push(fn);
    },
    end() {
      res.end();
      close();
    },
  };
}
