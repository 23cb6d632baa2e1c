// A consumer group's lag over time, per partition, for the dashboard's chart: the dashboard samples the lag
// its cluster view computes (high watermark − committed offset, per partition) every few seconds. Bounded: the
// last MAX_SAMPLES samples per group, at most MAX_GROUPS groups, and a group no broker has reported for
// FORGET_AFTER_MS is forgotten. Pure: the caller passes the time.
import type { GroupView } from './cluster-view.ts';

export const MAX_SAMPLES = 180;
export const MAX_GROUPS = 100;
export const FORGET_AFTER_MS = 10 * 60_000;

export interface LagSample {
  at: number;
  /** Lag per partition, keyed `topic-partition`; null while the partition's high watermark is unknown. */
  lag: Record<string, number | null>;
}

export interface LagSeries {
  groupId: string;
  samples: LagSample[];
}

export class LagHistory {
  private readonly groups = new Map<string, { samples: LagSample[]; seenAt: number }>();

  sample(groups: GroupView[], now: number): void {
    for (const g of groups) {
      let h = this.groups.get(g.groupId);
      if (!h) {
        if (this.groups.size >= MAX_GROUPS) continue;
        this.groups.set(g.groupId, (h = { samples: [], seenAt: now }));
      }
      h.seenAt = now;
      const lag: Record<string, number | null> = {};
      for (const p of g.partitions) lag[`${p.topic}-${p.partition}`] = p.lag;
      h.samples.push({ at: now, lag });
      if (h.samples.length > MAX_SAMPLES) h.samples.splice(0, h.samples.length - MAX_SAMPLES);
    }
    for (const [id, h] of this.groups) if (now - h.seenAt > FORGET_AFTER_MS) this.groups.delete(id);
  }

  series(groupId: string): LagSeries | null {
    const h = this.groups.get(groupId);
    return h ? { groupId, samples: [...h.samples] } : null;
  }
}
