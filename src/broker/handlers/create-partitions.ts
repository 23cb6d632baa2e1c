// CreatePartitions: grows each topic to its requested partition count (or only validates, validate_only),
// then waits up to timeout_ms for the new partitions this broker leads to be usable, as Kafka's
// DelayedCreatePartitions waits for their leaders. Each topic has its own error code and message; a topic
// named twice in one request is refused with INVALID_REQUEST (Kafka's duplicate-topic check), the others
// go ahead. The rules live in TopicAdmin.addPartitions.
import type { CreatePartitionsRequest, CreatePartitionsResponse } from '../../protocol/generated/create-partitions.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';

export async function createPartitions(svc: BrokerServices, req: CreatePartitionsRequest): Promise<CreatePartitionsResponse> {
  const seen = new Map<string, number>();
  for (const t of req.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
  const reported = new Set<string>();
  const results: CreatePartitionsResponse['results'] = [];
  await Promise.all(
    req.topics.map(async (t, i) => {
      if ((seen.get(t.name) ?? 0) > 1) {
        // Kafka answers a duplicated topic once.
        if (!reported.has(t.name)) {
          reported.add(t.name);
          results[i] = { name: t.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic in request.' };
        }
        return;
      }
      const r = await svc.topics.addPartitions({
        name: t.name,
        count: t.count,
        assignments: t.assignments === null ? null : t.assignments.map((a) => a.brokerIds),
        validateOnly: req.validateOnly,
      });
      if (r.errorCode === ErrorCode.NONE && !req.validateOnly && req.timeoutMs > 0) await svc.topics.waitReady(t.name, req.timeoutMs);
      results[i] = { name: t.name, errorCode: r.errorCode, errorMessage: r.errorMessage };
    }),
  );
  return { throttleTimeMs: 0, results: results.filter((r) => r !== undefined) };
}
