// The peer figures alone: NATS JetStream publish and consume on this machine, measured the way Kastor's own
// benchmarks measure it next to Kastor (bench/jetstream-peer.ts). R1 runs on one private nats-server; with --r3
// also on a private 3-node cluster (src/testing/nats-cluster.ts). Never the system NATS.
//
//   npx tsx bench/run.ts jetstream [--records N] [--record-bytes B] [--window W] [--r3]
//
// One JSON line per case on stdout: r1-publish, r1-consume, and with --r3 r3-publish, r3-consume, through the Node
// client; then the same cases through NATS's own Go client (bench/jetstream-go-peer.ts) with `client: "go"`, and a
// go-only r1-sync / r3-sync (one js.Publish at a time, the latency probe of bench cluster). Without Go installed
// the Go lines are left out and one stderr line says how to install it.
import { NatsServer } from '../src/testing/nats-server.ts';
import { NatsCluster } from '../src/testing/nats-cluster.ts';
import { jetstreamPublish, jetstreamConsume, jetstreamDeleteStream } from './jetstream-peer.ts';
import { goPublish, goConsume, goSyncProbe } from './jetstream-go-peer.ts';

interface Args {
  records: number;
  recordBytes: number;
  window: number;
  r3: boolean;
}

function parseArgs(args: string[]): Args {
  const out: Args = { records: 1_000_000, recordBytes: 100, window: 1000, r3: false };
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} needs a positive integer, got ${v}`);
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--records') out.records = num(a, args[++i]);
    else if (a === '--record-bytes') out.recordBytes = num(a, args[++i]);
    else if (a === '--window') out.window = num(a, args[++i]);
    else if (a === '--r3') out.r3 = true;
    else throw new Error(`unknown argument ${a} (use --records N, --record-bytes B, --window W, --r3)`);
  }
  return out;
}

function print(line: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(line) + '\n');
}

async function measure(label: 'r1' | 'r3', url: string | string[], a: Args): Promise<void> {
  const stream = `BENCH_${label.toUpperCase()}`;
  const common = { bench: 'jetstream', records: a.records, record_bytes: a.recordBytes };
  const pub = await jetstreamPublish({
    url,
    stream,
    subject: `bench.${label}`,
    replicas: label === 'r1' ? 1 : 3,
    records: a.records,
    recordBytes: a.recordBytes,
    window: a.window,
  });
  print({ ...common, case: `${label}-publish`, window: a.window, ...pub });
  const con = await jetstreamConsume({ url, stream, records: a.records });
  print({ ...common, case: `${label}-consume`, ...con });

  const goOpts = { url, stream, subject: `bench.${label}`, replicas: label === 'r1' ? (1 as const) : (3 as const), records: a.records, recordBytes: a.recordBytes, window: a.window };
  const goPub = await goPublish(goOpts);
  if (goPub) {
    print({ ...common, client: 'go', case: `${label}-publish`, window: a.window, ...goPub });
    print({ ...common, client: 'go', case: `${label}-consume`, ...(await goConsume(goOpts))! });
    const probe = Math.min(a.records, 1000);
    print({ ...common, records: probe, client: 'go', case: `${label}-sync`, ...(await goSyncProbe({ ...goOpts, records: probe, warmup: 100 }))! });
  }
  await jetstreamDeleteStream(url, stream);
}

export async function run(args: string[]): Promise<void> {
  const a = parseArgs(args);
  process.stderr.write(`jetstream: ${a.records} records of ${a.recordBytes} B, window ${a.window}${a.r3 ? ', R1 and R3' : ', R1'}\n`);
  const server = await NatsServer.start();
  try {
    await measure('r1', server.url, a);
  } finally {
    await server.dispose();
  }
  if (!a.r3) return;
  const cluster = await NatsCluster.start({ size: 3 });
  try {
    await measure('r3', cluster.urls, a);
  } finally {
    await cluster.dispose();
  }
}
