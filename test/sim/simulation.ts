// One simulated run: a whole Kastor cluster (3 to 5 brokers, the real machines, actors, logs, replication,
// controller and producer state) on simulated time, bus, bucket and disks, a workload of Kafka clients, and a
// nemesis that crashes, pauses, partitions and slows things, all drawn from one seed. Safety is checked while
// it runs and at the end; liveness after everything is healed. The same seed is the same run, event for event.
import { checkHistory, describeViolations, type ReadRecord } from '../../src/testing/checker.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { readRecords } from '../../src/protocol/record-batch-reader.ts';
import { batchPositions } from '../../src/protocol/record-batch-layout.ts';
import { SimulatedClock } from '../../src/runtime/memory/simulated-clock.ts';
import { createLogger } from '../../src/util/logger.ts';
import type { PartitionLog } from '../../src/log/partition-log.ts';
import { ClientNet, CommitLog, SimConsumer, SimGroupMember, SimProducer, sleep, type ClientViolation } from './clients.ts';
import { Nemesis } from './nemesis.ts';
import { CHURN_TOPIC, churnLeftovers, TopicChurn } from './churn.ts';
import { Rng } from './rng.ts';
import { SimBroker } from './sim-broker.ts';
import { Trace } from './trace.ts';
import { Network, SimBucket } from './world.ts';

export interface SimOptions {
  seed: number;
  /** Simulated time of the run (ms), faults and workload included; the settling afterwards is extra. */
  durationMs?: number;
  /** Keep the trace's lines (--trace). */
  trace?: boolean;
  /** Inject faults (default true). */
  faults?: boolean;
  /** The nemesis may also crash NATS once with the loss of the bucket's latest writes (MemoryKv.rewind); default true. */
  natsLoss?: boolean;
}

export interface SimResult {
  seed: number;
  ok: boolean;
  violations: string[];
  traceHash: string;
  traceLines: string[] | null;
  brokers: number;
  /** Simulated ms the run covered. */
  simulatedMs: number;
  wallMs: number;
  steps: number;
  stats: { acked: number; sent: number; read: number; commits: number; rebalances: number; churned: number; churnChecked: number; faults: string[] };
}

const TOPIC = 'orders';
const GROUP = 'sim-group';
/** Each run is bounded in steps as well as in simulated time: a livelock fails instead of hanging. */
const MAX_STEPS = 20_000_000;

export async function runSimulation(opts: SimOptions): Promise<SimResult> {
  const started = performance.now();
  const durationMs = opts.durationMs ?? 60_000;
  const rng = new Rng(opts.seed);
  const clock = new SimulatedClock();
  const trace = new Trace(() => clock.monotonic(), opts.trace ?? false);
  const net = new Network(clock, rng.fork('net'), trace);
  const bucket = new SimBucket(net, trace);
  // Three brokers in half the runs (the common deployment, and the cheapest to simulate), four or five in the rest.
  const brokerCount = rng.pick([3, 3, 3, 4, 4, 5]);
  // With --trace, the brokers' own log lines (info and above) go into the trace, stamped with simulated time.
  const logger = opts.trace
    ? createLogger({
        level: 'info',
        now: () => clock.wall(),
        sink: (line) => {
          const { time: _time, level, msg, ...facts } = JSON.parse(line) as Record<string, unknown>;
          trace.note(`${level} ${msg} ${JSON.stringify(facts)}`);
        },
      })
    : undefined;
  const world = { clock, net, bucket, rng: rng.fork('brokers'), trace, logger };
  const brokers = Array.from({ length: brokerCount }, (_, i) => new SimBroker(i + 1, world));
  const ids = brokers.map((b) => b.id);
  const violations: string[] = [];
  const clientViolations: ClientViolation[] = [];
  let steps = 0;

  /** Runs the world until `cond` holds or simulated time reaches `until`: one timer, then every promise it started. */
  const runUntil = async (until: number, cond: () => boolean = () => false): Promise<boolean> => {
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (cond()) return true;
      if (++steps > MAX_STEPS) throw new Error(`more than ${MAX_STEPS} steps: a livelock`);
      if (!clock.step(until)) {
        clock.advanceTo(until);
        await new Promise<void>((resolve) => setImmediate(resolve));
        return cond();
      }
    }
  };

  const restartable = (b: SimBroker) => {
    // A broker that fails to start is started again a little later, as a supervisor would.
    b.start().catch(() => {
      if (!b.life.alive) return;
      b.crash(false);
      clock.setTimeout(() => restartable(b), 1_000);
    });
  };
  for (const b of brokers) restartable(b);

  const clientNet = new ClientNet(clock, rng.fork('clients'), brokers, trace);
  const crng = rng.fork('workload');
  const partitions = crng.int(1, 3);
  // The topic, created once the cluster answers (any broker forwards to the controller's decision).
  const createTopic = async () => {
    for (let i = 0; i < 200; i++) {
      const res = await clientNet.request(crng.pick(ids), ApiKey.CreateTopics, 4, {
        topics: [{ name: TOPIC, numPartitions: partitions, replicationFactor: 3, assignments: [], configs: [{ name: 'min.insync.replicas', value: '2' }] }],
        timeoutMs: 5_000,
        validateOnly: false,
      });
      const code = res?.topics[0]?.errorCode;
      if (code === ErrorCode.NONE || code === ErrorCode.TOPIC_ALREADY_EXISTS) return true;
      await sleep(clock, 200);
    }
    return false;
  };
  let topicReady = false;
  void createTopic().then((ok) => (topicReady = ok));
  await runUntil(20_000, () => topicReady);
  if (!topicReady) violations.push('liveness: the topic could not be created within 20 s of a calm start');

  const faultsEnd = durationMs - 20_000;
  const stopAt = durationMs - 5_000;
  const producers: SimProducer[] = [
    new SimProducer(clientNet, crng.fork('p1'), ids, { name: 'idem', topic: TOPIC, partitions, acks: -1, idempotent: true, stopAt }, clientViolations),
    new SimProducer(clientNet, crng.fork('p2'), ids, { name: 'all', topic: TOPIC, partitions, acks: -1, idempotent: false, stopAt }, clientViolations),
    new SimProducer(clientNet, crng.fork('p3'), ids, { name: crng.chance(0.5) ? 'one' : 'zero', topic: TOPIC, partitions, acks: crng.chance(0.5) ? 1 : 0, idempotent: false, stopAt }, clientViolations),
  ];
  const consumer = new SimConsumer(clientNet, crng.fork('c1'), ids, TOPIC, partitions, stopAt, clientViolations);
  const commits = new CommitLog();
  const members = [1, 2].map((i) => new SimGroupMember(clientNet, crng.fork(`g${i}`), ids, GROUP, TOPIC, partitions, stopAt, commits, clientViolations));
  // In a third of the runs, one topic name is created, written, read and deleted over and over (churn.ts).
  const churn = crng.chance(1 / 3) ? new TopicChurn(clientNet, crng.fork('churn'), ids, stopAt, clientViolations) : null;
  void Promise.all([...producers.map((p) => p.run()), consumer.run(), ...members.map((m) => m.run()), churn?.run()]);

  const nemesis = new Nemesis(clock, rng.fork('nemesis'), brokers, net, bucket, trace, restartable, opts.natsLoss ?? true);
  if (opts.faults !== false) nemesis.start(faultsEnd);

  // At most one leader per partition and leader epoch, ever: sampled every 250 ms of simulated time.
  const leaderOfEpoch = new Map<string, number>();
  const sampler = clock.setInterval(() => {
    for (const b of brokers) {
      if (!b.life.alive || !b.broker?.services) continue;
      for (const r of b.broker.services.registry.all()) {
        if (r.role !== 'leader') continue;
        // By topic id: a re-created topic (churn.ts) starts its epochs again.
        const key = `${r.topic}-${r.partition}@${r.leaderEpoch} (topic id ${r.topicId})`;
        const first = leaderOfEpoch.get(key);
        if (first === undefined) leaderOfEpoch.set(key, b.id);
        else if (first !== b.id && violations.length < 50) violations.push(`two leaders: brokers ${first} and ${b.id} both led ${key}`);
      }
    }
  }, 250);

  await runUntil(faultsEnd);
  nemesis.healAll();
  const healedAt = clock.monotonic();
  trace.add('healed');
  await runUntil(durationMs);

  // Liveness: after healing, every partition has a leader and a full in-sync replica set with every replica
  // caught up, and an acks=all producer got an answer since, within a bounded simulated time.
  // A deleted churn topic must be gone from every registry too (its directories are checked below).
  const churnGone = () => !churn?.deleted || brokers.every((b) => !b.broker?.services?.registry.get(CHURN_TOPIC, 0));
  const settled = () => partitionsSettled(brokers, partitions) && churnGone();
  const settleBy = Math.max(clock.monotonic(), durationMs) + 30_000;
  if (!(await runUntil(settleBy, settled))) violations.push(`liveness: 30 s after the run the cluster had not settled: ${describeSettle(brokers, partitions)}`);
  for (const p of producers) {
    if (p.opts.acks === -1 && p.lastAckAt < healedAt && p.sent.length > 0) violations.push(`liveness: producer ${p.opts.name} got no acknowledgement in the ${Math.round(stopAt - healedAt)} ms after healing`);
  }
  clock.clearInterval(sampler);
  await runUntil(clock.monotonic() + 1);

  // Safety at the end: every replica identical below the high watermark; the history holds Kafka's promises.
  const read: ReadRecord[] = [];
  const highWatermarks: Record<string, number> = {};
  for (let p = 0; p < partitions; p++) {
    const replicas = brokers.filter((b) => b.life.alive && b.broker?.services).map((b) => ({ id: b.id, replica: b.broker!.services!.registry.get(TOPIC, p) })).filter((x) => x.replica?.log);
    const leader = replicas.find((x) => x.replica!.role === 'leader');
    if (!leader) {
      violations.push(`no leader for ${TOPIC}-${p} at the end`);
      continue;
    }
    const hw = leader.replica!.log!.highWatermark;
    highWatermarks[`${TOPIC}-${p}`] = hw;
    const leaderBytes = await readLog(leader.replica!.log!, hw, () => runUntil(clock.monotonic()));
    for (const x of replicas) {
      if (x === leader || !x.replica!.isr.includes(x.id)) continue;
      const bytes = await readLog(x.replica!.log!, hw, () => runUntil(clock.monotonic()));
      if (!bytes.equals(leaderBytes)) violations.push(`replica of ${TOPIC}-${p} on broker ${x.id} differs from the leader's (broker ${leader.id}) below the high watermark ${hw}: ${firstDifference(bytes, leaderBytes)}`);
    }
    for (const { pos, size } of batchPositions(leaderBytes)) {
      for (const r of readRecords(leaderBytes.subarray(pos, pos + size))) read.push({ topic: TOPIC, partition: p, offset: r.offset, value: r.value?.toString() ?? '' });
    }
  }
  const sent = producers.flatMap((p) => p.sent);
  async function oneBrokerDown(drng: Rng): Promise<string[]> {
    const down = drng.pick(brokers);
    trace.add('fault', `crash broker ${down.id} for good (availability with one broker down)`);
    down.crash(false);
    const start = clock.monotonic();
    const probe = new SimProducer(clientNet, drng.fork('probe'), ids, { name: 'probe', topic: TOPIC, partitions, acks: -1, idempotent: true, stopAt: start + 20_000, maxBatches: 1 }, clientViolations);
    let done = false;
    void probe.run().then(() => (done = true));
    await runUntil(start + 32_000, () => done);
    const unacked = [...new Set(probe.sent.filter((r) => r.status !== 'acked').map((r) => r.partition))];
    if (probe.sent.length === 0) return [`availability: with broker ${down.id} down, the probe producer could not start (InitProducerId) within 32 s`];
    return unacked.map((p) => `availability: with only broker ${down.id} down (RF=3, min.insync.replicas=2), an acks=all write to ${TOPIC}-${p} was not acknowledged within 32 s: ${describeSettle(brokers, partitions)}`);
  }
  /** Runs the world until a client request is answered (or given up). */
  async function ask<T>(request: () => Promise<T>): Promise<T | undefined> {
    let out: { v: T } | undefined;
    void request().then((v) => (out = { v }));
    await runUntil(clock.monotonic() + 15_000, () => out !== undefined);
    return out?.v;
  }
  const report = checkHistory({ sent, read, highWatermarks });
  if (!report.ok) violations.push(describeViolations(report));
  // What a consumer saw is committed: it is still there, at the same offset, at the end.
  const final = new Map(read.map((r) => [`${r.partition}@${r.offset}`, r.value]));
  let dirty = 0;
  for (const r of consumer.read) {
    const now = final.get(`${r.partition}@${r.offset}`);
    if (now !== r.value && dirty++ < 5) violations.push(`consumer read ${r.value} at ${TOPIC}-${r.partition}@${r.offset}, which the log now holds as ${now ?? 'nothing'}`);
  }
  // Every acknowledged commit survived the faults: the group's committed offsets are at least those.
  let committed: Awaited<ReturnType<typeof clientNet.request<typeof ApiKey.OffsetFetch>>> = null;
  for (let i = 0; i < 20 && !committed; i++) {
    const found = await ask(() => clientNet.request(ids[i % ids.length]!, ApiKey.FindCoordinator, 2, { key: GROUP, keyType: 0 }, 2_000));
    if (found && found.errorCode === ErrorCode.NONE && found.nodeId !== undefined && found.nodeId >= 0) {
      const nodeId = found.nodeId;
      const res = await ask(() => clientNet.request(nodeId, ApiKey.OffsetFetch, 5, { groupId: GROUP, topics: [{ name: TOPIC, partitionIndexes: Array.from({ length: partitions }, (_, p) => p) }] }, 3_000));
      if (res && (res.errorCode ?? 0) === ErrorCode.NONE && res.topics?.[0]?.partitions.every((p) => p.errorCode === ErrorCode.NONE)) committed = res;
    }
  }
  if (!committed && commits.commits > 0) violations.push('liveness: the group coordinator did not answer OffsetFetch after healing');
  for (const p of committed?.topics?.[0]?.partitions ?? []) {
    const acked = commits.acknowledged.get(p.partitionIndex);
    if (acked && Number(p.committedOffset) < acked.offset) violations.push(`commit lost: ${GROUP} ${TOPIC}-${p.partitionIndex} has committed offset ${p.committedOffset} at the end, after a commit of ${acked.offset} was acknowledged in generation ${acked.generation}, the latest to commit it`);
  }
  if (churn?.deleted) for (const v of await churnLeftovers(brokers, () => runUntil(clock.monotonic()))) violations.push(`churn: ${v}`);
  for (const v of clientViolations.slice(0, 10)) violations.push(`${v.kind}: ${v.message}`);

  // Availability with one broker down, Kafka's promise for RF=3 and min.insync.replicas=2: once the cluster has
  // settled, one broker crashes for good, and an acks=all write to every partition is acknowledged within 30 s
  // (the controller's session timeout moves leadership away, the leader's replica.lag.time.max.ms takes the dead
  // follower out of the ISR, and the high watermark then moves over the ISR left).
  if (violations.length === 0) violations.push(...(await oneBrokerDown(rng.fork('degraded'))));

  nemesis.stop();
  for (const b of brokers) if (b.life.alive) b.crash(false);
  return {
    seed: opts.seed,
    ok: violations.length === 0,
    violations,
    traceHash: trace.hash(),
    traceLines: trace.lines,
    brokers: brokerCount,
    simulatedMs: clock.monotonic(),
    wallMs: Math.round(performance.now() - started),
    steps,
    stats: { acked: report.stats.acked, sent: report.stats.sent, read: report.stats.read, commits: commits.commits, rebalances: commits.rebalances, churned: churn?.incarnations ?? 0, churnChecked: churn?.checked ?? 0, faults: nemesis.applied },
  };
}

function partitionsSettled(brokers: SimBroker[], partitions: number): boolean {
  if (!brokers.every((b) => b.running)) return false;
  for (let p = 0; p < partitions; p++) {
    const replicas = brokers.map((b) => b.broker!.services!.registry.get(TOPIC, p)).filter((r) => r !== undefined);
    const leader = replicas.find((r) => r.role === 'leader');
    if (!leader || !leader.log) return false;
    if (leader.isr.length !== leader.replicas.length) return false;
    for (const r of replicas) {
      if (!r.log || r.log.logEndOffset !== leader.log.logEndOffset || r.log.highWatermark !== leader.log.highWatermark) return false;
    }
    if (leader.log.highWatermark !== leader.log.logEndOffset) return false;
  }
  return true;
}

function describeSettle(brokers: SimBroker[], partitions: number): string {
  const out: string[] = [];
  for (const b of brokers) {
    if (!b.running) {
      out.push(`broker ${b.id} not running (${b.life.alive ? (b.life.paused ? 'paused' : JSON.stringify(b.broker?.actor.getSnapshot().value)) : 'dead'})`);
      continue;
    }
    for (let p = 0; p < partitions; p++) {
      const r = b.broker!.services!.registry.get(TOPIC, p);
      const epochs = r?.log?.epochs.entries().slice(-3).map((e) => `${e.epoch}@${e.startOffset}`).join(',');
      out.push(`b${b.id} p${p}: ${r ? `${r.role} epoch ${r.leaderEpoch} isr [${r.isr}] leo ${r.log?.logEndOffset} hw ${r.log?.highWatermark} epochs ${epochs}` : 'no replica'}`);
    }
  }
  return out.join('; ');
}

/** A log's batches from its start up to `hw` (whole batches), as bytes. */
async function readLog(log: PartitionLog, hw: number, pump: () => Promise<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  let offset = log.logStartOffset;
  for (let i = 0; i < 100_000 && offset < hw; i++) {
    let out: { data: Buffer; nextOffset: number } | undefined;
    let failed: unknown;
    log.read(offset, 1 << 20, hw).then((r) => (out = r), (e: unknown) => (failed = e ?? new Error('read failed')));
    for (let j = 0; j < 100 && !out && !failed; j++) await pump();
    if (failed || !out) throw new Error(`reading the log at ${offset} failed: ${String(failed ?? 'no answer')}`);
    if (out.data.length === 0) break;
    parts.push(out.data);
    offset = out.nextOffset;
  }
  return Buffer.concat(parts);
}

function firstDifference(a: Buffer, b: Buffer): string {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return `first differing byte at ${i} (lengths ${a.length} and ${b.length})`;
  return `lengths ${a.length} and ${b.length}`;
}
