// DeleteTopics: by name (v0-5) or by name or id (v6, KIP-516). The topic leaves the cluster metadata at
// once; every broker then deletes its replicas' directories as its metadata watch sees the change.
import type { DeleteTopicsRequest, DeleteTopicsResponse } from '../../protocol/generated/delete-topics.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';

const ZERO_UUID = '0'.repeat(32);

export async function deleteTopics(svc: BrokerServices, req: DeleteTopicsRequest, apiVersion: number): Promise<DeleteTopicsResponse> {
  const snapshot = svc.metadata.snapshot();
  const wanted: Array<{ name: string | null; topicId: string }> =
    apiVersion >= 6 ? (req.topics ?? []).map((t) => ({ name: t.name ?? null, topicId: t.topicId })) : (req.topicNames ?? []).map((name) => ({ name, topicId: ZERO_UUID }));
  const responses = await Promise.all(
    wanted.map(async (w) => {
      let name = w.name;
      if (name === null) {
        const byId = Object.values(snapshot.topics).find((t) => t.id === w.topicId);
        if (!byId) return { name: null, topicId: w.topicId, errorCode: ErrorCode.UNKNOWN_TOPIC_ID, errorMessage: `no topic has id ${w.topicId}` };
        name = byId.name;
      }
      const topicId = snapshot.topics[name]?.id ?? w.topicId;
      const r = await svc.topics.delete(name);
      return { name, topicId, errorCode: r.errorCode, errorMessage: r.errorMessage };
    }),
  );
  return { throttleTimeMs: 0, responses } as DeleteTopicsResponse;
}
