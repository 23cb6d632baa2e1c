// ListOffsets: -2 = the log start offset (earliest), -1 = the high watermark (latest), -3 = the offset of the
// record with the largest timestamp (KIP-734), and a timestamp = the first offset whose timestamp is at or after
// it, found through the time index. With isolation_level 1 (read_committed, v2+) latest is the last stable offset
// (KIP-98), which also bounds a timestamp's answer, as Kafka's lastFetchableOffset.
// v0 (the clients of message formats v0/v1, e.g. librdkafka with api.version.request=false) answers a list,
// old_style_offsets, of at most max_num_offsets: [the offset] or [] where v1+ answers -1. Kafka 3.9 answers a
// timestamp in v0 with the base offsets of the segments last modified before it (legacyFetchOffsetsBefore);
// Kastor gives the offset v1 would, which a consumer may start from as well (-1 and -2 are the same in both).
import type { ListOffsetsRequest, ListOffsetsResponse } from '../../protocol/generated/list-offsets.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { errorCodeOf, KafkaError } from '../kafka-error.ts';
import { maxTimestampOffset } from '../max-timestamp.ts';
import { localReplica } from './local-replica.ts';

const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;

export async function listOffsets(svc: BrokerServices, req: ListOffsetsRequest, apiVersion: number): Promise<ListOffsetsResponse> {
  const topics = await Promise.all(
    req.topics.map(async (t) => ({
      name: t.name,
      partitions: await Promise.all(
        t.partitions.map(async (p) => {
          let errorCode: number = ErrorCode.NONE;
          let offset = -1;
          let timestamp = -1;
          let leaderEpoch = -1;
          try {
            const replica = localReplica(svc, t.name, p.partitionIndex, p.currentLeaderEpoch ?? -1);
            const log = replica.leaderLog();
            leaderEpoch = replica.leaderEpoch;
            const ts = Number(p.timestamp);
            // Kafka's lastFetchableOffset: what a consumer of this isolation level may read up to.
            const fetchable = (req.isolationLevel ?? 0) === 1 ? replica.lastStableOffset(log) : log.highWatermark;
            if (ts === EARLIEST) offset = log.logStartOffset;
            else if (ts === LATEST) offset = fetchable;
            else if (ts === MAX_TIMESTAMP) {
              const found = await maxTimestampOffset(log, log.highWatermark);
              if (found) {
                offset = found.offset;
                timestamp = found.timestamp;
              }
            } else if (ts >= 0) {
              const found = await log.offsetForTimestamp(ts);
              if (found && found.offset < fetchable) {
                offset = found.offset;
                timestamp = found.timestamp;
              }
            } else {
              throw new KafkaError(ErrorCode.INVALID_REQUEST, `timestamp ${ts} is not a timestamp, -1, -2 or -3`);
            }
          } catch (err) {
            errorCode = errorCodeOf(err);
            if (!(err instanceof KafkaError)) svc.logger.error('list offsets failed', { topic: t.name, partition: p.partitionIndex, error: err as Error });
          }
          return {
            partitionIndex: p.partitionIndex,
            errorCode,
            oldStyleOffsets: apiVersion === 0 && errorCode === ErrorCode.NONE && offset >= 0 && (p.maxNumOffsets ?? 1) > 0 ? [BigInt(offset)] : [],
            timestamp: BigInt(timestamp),
            offset: BigInt(offset),
            leaderEpoch,
          };
        }),
      ),
    })),
  );
  return { throttleTimeMs: 0, topics } as ListOffsetsResponse;
}
