// The largest batch replication carries: a reply is one transport message (NATS-NOTES.md: max_payload).
import type { Transport } from '../runtime/transport.ts';

/**
 * Half the transport's max_payload, so a fetch answer holding it (the replication server budgets answers to
 * the same half) always fits in one message, with room for the other partitions' entries. A leader refuses
 * larger produced batches (PartitionReplica.produce).
 */
export function maxBatchBytes(transport: Pick<Transport, 'maxPayload'>): number {
  return Math.floor(transport.maxPayload() / 2);
}
