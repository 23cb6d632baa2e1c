// /readyz's verdict (src/dashboard/readiness.ts): ready only when serving, registered as this incarnation,
// unfenced, no replica offline and every hosted replica in its ISR; otherwise a short reason naming what it waits for.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { brokerReadiness, type ReadinessInput } from '../../src/dashboard/readiness.ts';
import type { ClusterSnapshot } from '../../src/metadata/types.ts';

function snapshot(over: { fenced?: boolean; incarnation?: string; isr?: number[][] } = {}): ClusterSnapshot {
  const isr = over.isr ?? [[1, 2], [2, 1]];
  return {
    brokers: { 1: { id: 1, host: 'h', port: 1, rack: null, incarnation: over.incarnation ?? 'me', registeredAt: 0, fenced: over.fenced } },
    topics: { t: { name: 't', id: 'x'.repeat(32), config: {}, createdAt: 0, partitions: isr.map((i, partition) => ({ partition, replicas: [1, 2], leader: i[0]!, leaderEpoch: 0, isr: i })) } },
  } as unknown as ClusterSnapshot;
}

const input = (over: Partial<ReadinessInput> = {}): ReadinessInput => ({ brokerId: 1, incarnation: 'me', serving: true, snapshot: snapshot(), offline: [], ...over });

test('ready when registered, unfenced, serving and in every ISR', () => {
  const r = brokerReadiness(input());
  assert.ok(r.ready, r.reason);
  assert.match(r.reason, '2 replica(s) in sync');
});

test('not ready, with the reason, for each thing it waits for', () => {
  for (const [over, says] of [
    [{ serving: false }, /not serving/],
    [{ snapshot: snapshot({ incarnation: 'previous-life' }) }, /not registered/],
    [{ snapshot: snapshot({ fenced: true }) }, /unfence/],
    [{ offline: [{ topic: 't', partition: 1 }] }, /1 replica\(s\) offline .*t-1/],
    [{ snapshot: snapshot({ isr: [[2], [2, 1]] }) }, /1 of 2 replica\(s\) not in sync yet: t-0$/],
  ] as const) {
    const r = brokerReadiness(input(over as Partial<ReadinessInput>));
    assert.not.ok(r.ready, JSON.stringify(over));
    assert.match(r.reason, says);
  }
});

test('a long list of lagging replicas is cut short', () => {
  const r = brokerReadiness(input({ snapshot: snapshot({ isr: [[2], [2], [2], [2], [2]] }) }));
  assert.match(r.reason, /5 of 5 replica\(s\) not in sync yet: t-0, t-1, t-2 and 2 more/);
});

test.run();
