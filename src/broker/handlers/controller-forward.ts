// What the admin handlers that the controller decides (ElectLeaders, AlterPartitionReassignments) share: the
// request goes to the active controller over the runtime transport (askController), and the answer is given
// only once this broker's metadata shows the controller's writes, so a client's next Metadata request here
// sees the new leaders and replica sets (Kafka's DelayedElectLeader waits for its metadata cache likewise).
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { PartitionOutcome, TopicPartitionRef } from '../../controller/elect-leaders.ts';
import type { BrokerServices } from '../broker-services.ts';

/** The shortest wait given to the controller, whatever timeout_ms says: a handover takes a moment. */
const MIN_WAIT_MS = 1_000;

export interface ForwardResult {
  /** Per partition asked about; null when no controller answered in time (or it refused the whole request). */
  results: PartitionOutcome[] | null;
  errorCode: number;
}

export async function forwardToController(svc: BrokerServices, subject: 'electLeaders' | 'reassignPartitions', request: object, timeoutMs: number): Promise<ForwardResult> {
  const deadline = svc.clock.monotonic() + Math.max(timeoutMs, MIN_WAIT_MS);
  const answer = await svc.askController<{ errorCode: number; results?: PartitionOutcome[]; revision?: number }>(subject, request, Math.max(timeoutMs, MIN_WAIT_MS));
  if (answer === null) return { results: null, errorCode: ErrorCode.REQUEST_TIMED_OUT };
  if (answer.errorCode !== ErrorCode.NONE || !answer.results) return { results: null, errorCode: answer.errorCode };
  const revision = answer.revision ?? 0;
  const left = deadline - svc.clock.monotonic();
  if (revision > svc.metadata.snapshot().revision && left > 0) {
    // Best effort: the writes are made; a broker whose watch lags answers anyway when the time is up.
    await svc.metadata.waitFor((s) => s.revision >= revision, left).catch(() => {});
  }
  return { results: answer.results, errorCode: ErrorCode.NONE };
}

/** Results grouped by topic, in the order topics first appear. */
export function byTopic<T>(results: readonly PartitionOutcome[], topicEntry: (topic: string, partitions: PartitionOutcome[]) => T): T[] {
  const groups = new Map<string, PartitionOutcome[]>();
  for (const r of results) {
    const list = groups.get(r.topic) ?? [];
    list.push(r);
    groups.set(r.topic, list);
  }
  return [...groups].map(([topic, partitions]) => topicEntry(topic, partitions));
}

/** Every partition asked about, answered with one error (no controller answered, or it refused the request). */
export function failAll(refs: readonly TopicPartitionRef[], errorCode: number): PartitionOutcome[] {
  return refs.map((r) => ({ topic: r.topic, partition: r.partition, errorCode, errorMessage: null }));
}
