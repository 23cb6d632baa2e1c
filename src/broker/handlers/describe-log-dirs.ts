// DescribeLogDirs (KIP-113): the broker's log directories — Kastor has one, its data directory — with the
// size on disk of each partition replica's log there (the segments' bytes, Kafka's UnifiedLog.size), the
// offset lag of a future replica (Kastor moves no replica between directories: 0, what Kafka answers for a
// current replica, max(highWatermark - logEndOffset, 0)), and from v4 the file system's total and usable
// bytes (-1 when the storage cannot tell, Kafka's UNKNOWN_VOLUME_BYTES). As Kafka, topics = null describes
// every replica here; a listed topic with none of its partitions here is answered with an empty list.
// A replica whose log is not open (recovering, offline) is left out.
import type { DescribeLogDirsRequest, DescribeLogDirsResponse } from '../../protocol/generated/describe-log-dirs.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';

export async function describeLogDirs(svc: BrokerServices, req: DescribeLogDirsRequest): Promise<DescribeLogDirsResponse> {
  const wanted = req.topics === null ? null : new Map(req.topics.map((t) => [t.topic, new Set(t.partitions)]));
  const byTopic = new Map<string, Array<{ partitionIndex: number; partitionSize: bigint; offsetLag: bigint; isFutureKey: boolean }>>();
  for (const name of wanted?.keys() ?? []) byTopic.set(name, []);
  for (const replica of svc.registry.all()) {
    const log = replica.log;
    if (!log) continue;
    if (wanted && !wanted.get(replica.topic)?.has(replica.partition)) continue;
    const size = log.segmentInfos().reduce((a, s) => a + s.size, 0);
    let list = byTopic.get(replica.topic);
    if (!list) byTopic.set(replica.topic, (list = []));
    list.push({ partitionIndex: replica.partition, partitionSize: BigInt(size), offsetLag: 0n, isFutureKey: false });
  }
  const space = await svc.registry.dataDirSpace().catch((err: unknown) => {
    svc.logger.warn('cannot read the data directory file system size', { error: err as Error });
    return null;
  });
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    results: [
      {
        errorCode: ErrorCode.NONE,
        logDir: svc.config.dataDir,
        topics: [...byTopic].map(([name, partitions]) => ({ name, partitions: partitions.sort((a, b) => a.partitionIndex - b.partitionIndex) })),
        totalBytes: BigInt(space?.totalBytes ?? -1),
        usableBytes: BigInt(space?.usableBytes ?? -1),
      },
    ],
  };
}
