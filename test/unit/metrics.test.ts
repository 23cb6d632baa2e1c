// Broker metrics, the inspection hub, statecharts and the cluster view, without processes: records counted
// from batch headers, gauges computed at scrape time from a snapshot, ISR/election counters from successive
// snapshots, observers attached only while watched (1 → 0), Mermaid text for every machine, and a broker
// known before and now gone shown as down.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { createActor, setup } from 'xstate';
import { buildRecordBatch } from '../../src/protocol/record-batch-builder.ts';
import { countRecords } from '../../src/metrics/batch-counts.ts';
import { BrokerMetrics, type ReplicaFacts } from '../../src/metrics/broker-metrics.ts';
import { InspectionHub, type LiveActor } from '../../src/inspect/inspection-hub.ts';
import { loadMachines, toStatechart } from '../../src/inspect/statechart.ts';
import { buildClusterView } from '../../src/dashboard/cluster-view.ts';
import { StatusBoard } from '../../src/dashboard/status-board.ts';
import { normalizeInspectFlag } from '../../src/inspect/stately-inspector.ts';
import { parseFlags } from '../../src/cli/args.ts';
import { BROKER_FLAGS } from '../../src/cli/broker-command.ts';
import type { BrokerInfo, ClusterSnapshot, PartitionState } from '../../src/metadata/types.ts';

interface PromFamily {
  name: string;
  type: string;
  metrics: Array<{ value?: string; labels?: Record<string, string> }>;
}
const parseProm = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => PromFamily[];

function value(families: PromFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  const f = families.find((x) => x.name === name);
  const m = f?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return m?.value === undefined ? undefined : Number(m.value);
}

function histogramCount(text: string, name: string, api: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}_count{`) && l.includes(`api="${api}"`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const broker = (id: number): BrokerInfo => ({ id, host: '127.0.0.1', port: 9000 + id, rack: null, incarnation: `inc-${id}`, registeredAt: 0 });
const part = (partition: number, leader: number, leaderEpoch: number, replicas: number[], isr: number[]): PartitionState => ({ partition, leader, leaderEpoch, replicas, isr });

function snapshot(partitions: PartitionState[], brokers = [1, 2, 3], controller: number | null = 1): ClusterSnapshot {
  return {
    clusterId: 'c1',
    brokers: Object.fromEntries(brokers.map((b) => [b, broker(b)])),
    topics: { t: { name: 't', id: 'a'.repeat(32), partitions, config: {}, createdAt: 0 } },
    controller: controller === null ? null : { brokerId: controller, epoch: 7 },
    revision: 1,
  };
}

test('records are counted from batch headers; a trailing partial batch is not counted', () => {
  const a = buildRecordBatch({ records: [{ value: 'x' }, { value: 'y' }, { value: 'z' }], timestamp: 1 });
  const b = buildRecordBatch({ records: [{ value: 'q' }], timestamp: 2 });
  assert.is(countRecords(a), 3);
  assert.is(countRecords(Buffer.concat([a, b])), 4);
  assert.is(countRecords(Buffer.concat([a, b.subarray(0, b.length - 3)])), 3);
  assert.is(countRecords(Buffer.alloc(0)), 0);
  assert.is(countRecords(null), 0);
});

test('scrape-time gauges, data-path counters and counters from successive snapshots', async () => {
  let current = snapshot([part(0, 1, 0, [1, 2, 3], [1, 2, 3]), part(1, 2, 0, [2, 1, 3], [2, 1]), part(2, 1, 0, [1, 2], [1])]);
  const replicas: ReplicaFacts[] = [{ topic: 't', partition: 0, role: 'leader', log: { logEndOffset: 12, highWatermark: 10, logStartOffset: 0 } }];
  const m = new BrokerMetrics({
    brokerId: 1,
    snapshot: () => current,
    replicas: () => replicas,
    processMetrics: false,
    transactions: () => ({ Ongoing: 2, CompleteCommit: 1 }),
    lastStableOffsetLag: () => [{ topic: 't', partition: 0, lag: 7 }],
  });
  m.produced('t', 100, 3);
  m.produced('t', 50, 2);
  m.fetched('t', 150, 5);
  m.startRequest('Produce')();
  m.startRequest('Fetch')(true);
  m.groupRebalances.inc();

  let f = parseProm((await m.exposition()).body);
  assert.is(value(f, 'kastor_records_in_total', { topic: 't', broker: '1' }), 5);
  assert.is(value(f, 'kastor_bytes_in_total', { topic: 't' }), 150);
  assert.is(value(f, 'kastor_records_out_total', { topic: 't' }), 5);
  assert.is(value(f, 'kastor_requests_total', { api: 'Produce' }), 1);
  assert.is(value(f, 'kastor_transactions', { state: 'Ongoing' }), 2);
  assert.is(value(f, 'kastor_partition_last_stable_offset_lag', { topic: 't', partition: '0' }), 7);
  assert.is(value(f, 'kastor_request_failures_total', { api: 'Fetch' }), 1);
  // parse-prometheus-text-format merges histogram series whose `le` is not the last label (prom-client puts
  // it first), so the per-API count is read from its `_count` line.
  assert.is(histogramCount((await m.exposition()).body, 'kastor_request_duration_seconds', 'Produce'), 1);
  assert.is(value(f, 'kastor_partitions'), 3);
  assert.is(value(f, 'kastor_leader_partitions'), 2);
  assert.is(value(f, 'kastor_under_replicated_partitions'), 1, 'partition 2 (led by 1, ISR [1] of [1,2]); partition 1 is led by 2');
  assert.is(value(f, 'kastor_active_controller'), 1);
  assert.is(value(f, 'kastor_offline_partitions'), 0);
  assert.is(value(f, 'kastor_group_rebalances_total'), 1);
  assert.is(value(f, 'kastor_partition_log_end_offset', { topic: 't', partition: '0', role: 'leader' }), 12);
  assert.is(value(f, 'kastor_partition_high_watermark', { topic: 't', partition: '0' }), 10);
  assert.equal(m.throughput, { bytesIn: 150, bytesOut: 150, recordsIn: 5, recordsOut: 5 });

  // Broker 1 leads 0 and 2: partition 0's ISR shrinks, partition 2's expands; partition 1 gets a new leader
  // (an election committed while broker 1 is controller), broker 2 is gone so its old partition is offline.
  const prev = current;
  current = snapshot([part(0, 1, 0, [1, 2, 3], [1, 3]), part(1, 3, 1, [2, 1, 3], [1, 3]), part(2, 1, 0, [1, 2], [1, 2])], [1, 3]);
  m.observe(current, prev);
  const prev2 = current;
  current = snapshot([part(0, 1, 0, [1, 2, 3], [1, 3]), part(1, -1, 2, [2, 1, 3], [1, 3]), part(2, 1, 0, [1, 2], [1, 2])], [1, 3]);
  m.observe(current, prev2);
  f = parseProm((await m.exposition()).body);
  assert.is(value(f, 'kastor_isr_shrinks_total'), 1);
  assert.is(value(f, 'kastor_isr_expands_total'), 1);
  assert.is(value(f, 'kastor_leader_elections_total'), 2);
  assert.is(value(f, 'kastor_offline_partitions'), 1);
  assert.is(value(f, 'kastor_under_replicated_partitions'), 1);

  // Not the controller: no elections counted, cluster-wide offline count left to the controller.
  const other = new BrokerMetrics({ brokerId: 3, snapshot: () => current, replicas: () => [], processMetrics: false });
  other.observe(current, prev2);
  f = parseProm((await other.exposition()).body);
  assert.is(value(f, 'kastor_leader_elections_total'), 0);
  assert.is(value(f, 'kastor_offline_partitions'), 0);
  assert.is(value(f, 'kastor_active_controller'), 0);
});

const toggle = setup({ types: { events: {} as { type: 'FLIP'; n?: number } } }).createMachine({
  id: 'toggle',
  initial: 'off',
  states: { off: { on: { FLIP: 'on' } }, on: { on: { FLIP: 'off' } } },
});

test('the hub attaches an observer only while an actor is watched (1 → 0) and records its events', () => {
  const actor = createActor(toggle).start();
  const other = createActor(toggle).start();
  const live: LiveActor[] = [
    { systemId: 'toggle-a@broker-1', kind: 'other', actor },
    { systemId: 'toggle-b@broker-1', kind: 'other', actor: other },
  ];
  const hub = new InspectionHub({ sources: () => live, rescanMs: 60_000 });
  assert.is(hub.attachedObservers, 0);
  actor.send({ type: 'FLIP' });
  assert.is(hub.recentEvents('toggle-a@broker-1').length, 0, 'nothing is recorded while nobody watches');

  const seen: string[] = [];
  const stop1 = hub.watch('toggle-a@broker-1', (r, s) => seen.push(`${r.event}->${String(r.state)}:${s.active.join('|')}`));
  const stop2 = hub.watch('toggle-a@broker-1', () => {});
  assert.is(hub.attachedObservers, 1, 'one observer per watched actor, however many viewers');
  actor.send({ type: 'FLIP', n: 1 });
  other.send({ type: 'FLIP' });
  assert.equal(seen, ['FLIP->off:toggle|toggle.off']);
  const recent = hub.recentEvents('toggle-a@broker-1');
  assert.is(recent.length, 1);
  assert.is(recent[0]!.detail, '{"n":1}');
  assert.equal(hub.list().find((a) => a.systemId === 'toggle-a@broker-1')?.active, ['toggle', 'toggle.off']);

  stop1();
  assert.is(hub.attachedObservers, 1);
  stop2();
  assert.is(hub.attachedObservers, 0, 'the last viewer leaving detaches the observer');
  actor.send({ type: 'FLIP' });
  assert.is(seen.length, 1);
  hub.close();
  actor.stop();
  other.stop();
});

test('a permanent observer (--inspect) is announced to and attached on every actor, except those that carry it', () => {
  const a = createActor(toggle).start();
  const b = createActor(toggle).start();
  const live: LiveActor[] = [{ systemId: 'toggle-a@broker-1', kind: 'other', actor: a }];
  const hub = new InspectionHub({ sources: () => live, rescanMs: 60_000 });
  const announced: unknown[] = [];
  const received: string[] = [];
  hub.addPermanent({ next: (ev) => ev.type === '@xstate.event' && received.push((ev.event as { type: string }).type) }, (actor) => announced.push(actor), []);
  assert.equal(announced, [a]);
  assert.is(hub.attachedObservers, 1);
  live.push({ systemId: 'toggle-b@broker-1', kind: 'other', actor: b });
  hub.refresh();
  assert.equal(announced, [a, b], 'an actor that appears later is announced when found');
  a.send({ type: 'FLIP' });
  b.send({ type: 'FLIP' });
  assert.equal(received, ['FLIP', 'FLIP']);
  hub.close();
  assert.is(hub.attachedObservers, 0);
  a.send({ type: 'FLIP' });
  assert.is(received.length, 2);
  a.stop();
  b.stop();
});

test('every machine in machines/ becomes a Mermaid statechart', async () => {
  const errors: string[] = [];
  const machines = await loadMachines(undefined, (file) => errors.push(file));
  assert.equal(errors, []);
  for (const id of ['broker', 'partitionReplica', 'controller', 'group', 'transaction']) assert.ok(machines.has(id), `machine ${id} found`);
  const chart = toStatechart(machines.get('partitionReplica')!);
  assert.ok(chart.mermaid.startsWith('stateDiagram-v2'));
  assert.match(chart.mermaid, /s_partitionReplica_recovering --> s_partitionReplica_deciding : recoverLog done/);
  assert.match(chart.mermaid, /s_partitionReplica_deciding --> s_partitionReplica_leader : always \[isLeaderSelf\]/);
  assert.match(chart.mermaid, /s_any_state --> s_partitionReplica_stopping : STOP/);
  assert.is(chart.states['partitionReplica.leader'], 's_partitionReplica_leader');
  const controller = toStatechart(machines.get('controller')!);
  assert.match(controller.mermaid, /state "active" as s_controller_active \{/, 'nested states are drawn as composite states');
});

test('cluster view: registered brokers up, known-and-gone down, offsets from the leader, under-replicated flagged', () => {
  const board = new StatusBoard(() => 10_000);
  const status = (brokerId: number, at: number, recordsIn: number, replicas: Array<{ partition: number; role: string; leo: number; hw: number }>) => ({
    brokerId,
    incarnation: `inc-${brokerId}`,
    http: `127.0.0.1:${8000 + brokerId}`,
    at,
    throughput: { bytesIn: recordsIn * 10, bytesOut: 0, recordsIn, recordsOut: 0 },
    replicas: replicas.map((r) => ({ topic: 't', partition: r.partition, role: r.role, leaderEpoch: 1, logStartOffset: 0, logEndOffset: r.leo, highWatermark: r.hw })),
    groups: [{ groupId: 'g', state: 'Stable', generation: 3, members: 2, offsets: [{ topic: 't', partition: 0, committed: 4 }] }],
  });
  board.put(status(1, 1000, 0, [{ partition: 0, role: 'leader', leo: 10, hw: 9 }]));
  board.put(status(1, 2000, 500, [{ partition: 0, role: 'leader', leo: 10, hw: 9 }]));
  board.put(status(3, 2000, 0, [{ partition: 0, role: 'follower', leo: 9, hw: 9 }]));
  const known = new Map<number, BrokerInfo | null>([
    [1, broker(1)],
    [2, broker(2)],
    [3, broker(3)],
  ]);
  const view = buildClusterView({ snapshot: snapshot([part(0, 1, 1, [1, 2, 3], [1, 3]), part(1, -1, 2, [2], [2])], [1, 3], 3), statuses: board.all(), known, now: 10_500 });
  assert.equal(
    view.brokers.map((b) => [b.id, b.state, b.controller]),
    [
      [1, 'up', false],
      [2, 'down', false],
      [3, 'up', true],
    ],
  );
  assert.is(view.brokers[0]!.rates.recordsInPerSec, 500);
  assert.is(view.brokers[0]!.statusAgeMs, 500);
  const [p0, p1] = view.topics[0]!.partitions;
  assert.is(p0!.underReplicated, true);
  assert.is(p0!.logEndOffset, 10);
  assert.is(p0!.highWatermark, 9);
  assert.equal(p0!.replicaLogEndOffsets, { 1: 10, 3: 9 });
  assert.is(p1!.offline, true);
  assert.is(view.totals.offline, 1);
  assert.is(view.totals.brokersDown, 1);
  assert.equal(view.groups.map((g) => [g.groupId, g.coordinator, g.lag]), [
    ['g', 1, 5],
    ['g', 3, 5],
  ]);
});

test('--inspect takes an optional URL; --http a HOST:PORT', () => {
  const base = ['--id', '1', '--data', '/tmp/x'];
  assert.is(parseFlags('broker', BROKER_FLAGS, normalizeInspectFlag([...base, '--inspect'])).inspect, 'ws://localhost:8080');
  assert.is(parseFlags('broker', BROKER_FLAGS, normalizeInspectFlag(['--inspect', ...base])).inspect, 'ws://localhost:8080');
  assert.is(parseFlags('broker', BROKER_FLAGS, normalizeInspectFlag([...base, '--inspect', 'ws://10.0.0.1:9999'])).inspect, 'ws://10.0.0.1:9999');
  assert.is(parseFlags('broker', BROKER_FLAGS, normalizeInspectFlag([...base])).inspect, undefined);
  assert.is(parseFlags('broker', BROKER_FLAGS, [...base, '--http', '127.0.0.1:0']).http, '127.0.0.1:0');
});

test.run();
