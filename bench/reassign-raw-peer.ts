// The raw NATS peer of the reassign benchmark (bench/reassign.ts): the same bytes copied from one process to
// another over the same nats-server, with nothing of Kastor in the way. Not a benchmark itself (no run()); the
// benchmark starts it twice:
//
//   node --import tsx bench/reassign-raw-peer.ts serve NATS_URL SUBJECT FILE...
//       answers each request (an 8-byte big-endian position in the files taken end to end) with the next
//       chunk (up to 1 MiB) read from the files at that position, an empty reply past the end.
//   node --import tsx bench/reassign-raw-peer.ts copy NATS_URL SUBJECT OUT_FILE BYTES [WINDOW]
//       asks for the chunks in order, WINDOW requests outstanding (flow control: the next request leaves when
//       a reply arrives), and writes each reply to OUT_FILE at its position; prints one JSON line with the
//       bytes copied, the seconds from the first request to the last write and the SHA-256 of what it wrote.
//
// Like Kastor's follower, the copier writes to the page cache and does not fsync, and the server reads the
// leader's segment files (page cache too, as the leader just wrote them), so both sides do the same I/O.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { connect } from '@nats-io/transport-node';

const CHUNK = 1024 * 1024;

async function serve(url: string, subject: string, files: string[]): Promise<void> {
  const handles: Array<{ fh: FileHandle; start: number; size: number }> = [];
  let total = 0;
  for (const f of files) {
    const fh = await open(f, 'r');
    const size = (await fh.stat()).size;
    handles.push({ fh, start: total, size });
    total += size;
  }
  const nc = await connect({ servers: url, noAsyncTraces: true, name: 'reassign-raw-serve' });
  const sub = nc.subscribe(subject);
  process.stdout.write('ready\n');
  for await (const m of sub) {
    const pos = Number(Buffer.from(m.data).readBigUInt64BE(0));
    const len = Math.max(0, Math.min(CHUNK, total - pos));
    const buf = Buffer.allocUnsafe(len);
    // A chunk may straddle two files: fill it from each in turn.
    for (let filled = 0; filled < len; ) {
      const at = pos + filled;
      const h = handles.find((x) => at >= x.start && at < x.start + x.size)!;
      const { bytesRead } = await h.fh.read(buf, filled, Math.min(len - filled, h.start + h.size - at), at - h.start);
      if (bytesRead === 0) throw new Error(`short read in a segment file at ${at}`);
      filled += bytesRead;
    }
    m.respond(buf);
  }
}

async function copy(url: string, subject: string, out: string, bytes: number, window: number): Promise<void> {
  const nc = await connect({ servers: url, noAsyncTraces: true, name: 'reassign-raw-copy' });
  const fh = await open(out, 'w');
  const chunks = Math.ceil(bytes / CHUNK);
  const t0 = performance.now();
  let next = 0;
  let copied = 0;
  const worker = async () => {
    while (next < chunks) {
      const i = next++;
      const req = Buffer.alloc(8);
      req.writeBigUInt64BE(BigInt(i * CHUNK));
      const reply = await nc.request(subject, req, { timeout: 60_000 });
      const data = reply.data;
      await fh.write(data, 0, data.length, i * CHUNK);
      copied += data.length;
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, chunks) }, worker));
  const seconds = (performance.now() - t0) / 1000;
  await fh.close();
  await nc.close();
  // Hashed after the clock stopped, from the file (the follower's log is hashed after its timing too).
  const h = createHash('sha256');
  for await (const c of createReadStream(out, { highWaterMark: CHUNK })) h.update(c as Buffer);
  process.stdout.write(JSON.stringify({ bytes: copied, seconds, sha256: h.digest('hex') }) + '\n');
}

const [mode, url, subject, ...rest] = process.argv.slice(2);
const done = mode === 'serve' ? serve(url!, subject!, rest) : mode === 'copy' ? copy(url!, subject!, rest[0]!, Number(rest[1]), Number(rest[2] ?? 4)) : Promise.reject(new Error(`unknown mode ${mode}`));
done.then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
