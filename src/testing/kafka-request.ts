// One Kafka request over a fresh loopback socket, for the test harness: CreateTopics, Metadata and
// ListOffsets through Kastor's own codecs (src/protocol/frames.ts), so `kastor/testing` needs no Kafka
// client library and a test can ask one particular broker (not "the cluster") what it thinks.
import { connect } from 'node:net';
import { encodeRequest, decodeResponse } from '../protocol/frames.ts';
import { ApiKey } from '../protocol/generated/api-keys.ts';
import type { CreateTopicsResponse } from '../protocol/generated/create-topics.ts';
import type { MetadataResponse } from '../protocol/generated/metadata.ts';
import type { ListOffsetsResponse } from '../protocol/generated/list-offsets.ts';

export interface BrokerAddress {
  host: string;
  port: number;
}

/** The broker did not answer in time or closed the connection: carries where and what was asked. */
export class KafkaRequestError extends Error {
  readonly code = 'KAFKA_REQUEST_FAILED';
  constructor(
    readonly address: BrokerAddress,
    readonly apiKey: number,
    message: string,
    cause?: unknown,
  ) {
    super(`${message} (API key ${apiKey} to ${address.host}:${address.port})`, { cause });
    this.name = 'KafkaRequestError';
  }
}

const CLIENT_ID = 'kastor-testing';

/** Sends one size-prefixed request frame and resolves with the response frame (without its size prefix). */
export function roundTrip(address: BrokerAddress, apiKey: number, request: Buffer, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(address.port, address.host);
    let buffered: Buffer = Buffer.alloc(0);
    let settled = false;
    const finish = (err: Error | null, frame?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(frame!);
    };
    const timer = setTimeout(() => finish(new KafkaRequestError(address, apiKey, `no response within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (buffered.length < 4) return;
      const size = buffered.readInt32BE(0);
      if (buffered.length >= 4 + size) finish(null, buffered.subarray(4, 4 + size));
    });
    socket.on('error', (err) => finish(new KafkaRequestError(address, apiKey, err.message, err)));
    socket.on('close', () => finish(new KafkaRequestError(address, apiKey, 'connection closed before a response')));
  });
}

export interface TopicSpec {
  name: string;
  partitions: number;
  replicationFactor: number;
  /** Topic configs (e.g. `{ 'min.insync.replicas': '2' }`). */
  config?: Record<string, string>;
}

/** CreateTopics v4 (non-flexible, so every served version range covers it); one result per topic. */
export async function createTopics(address: BrokerAddress, topics: TopicSpec[], timeoutMs = 15_000): Promise<CreateTopicsResponse['topics']> {
  const req = encodeRequest(ApiKey.CreateTopics, 4, 1, CLIENT_ID, {
    topics: topics.map((t) => ({
      name: t.name,
      numPartitions: t.partitions,
      replicationFactor: t.replicationFactor,
      assignments: [],
      configs: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
    })),
    timeoutMs,
    validateOnly: false,
  });
  const frame = await roundTrip(address, ApiKey.CreateTopics, req, timeoutMs + 5_000);
  return decodeResponse(ApiKey.CreateTopics, 4, frame).body.topics;
}

/** Metadata v4 for the given topics (all topics when null), never auto-creating. */
export async function fetchMetadata(address: BrokerAddress, topics: string[] | null = null, timeoutMs = 10_000): Promise<MetadataResponse> {
  const req = encodeRequest(ApiKey.Metadata, 4, 2, CLIENT_ID, {
    topics: topics === null ? null : topics.map((name) => ({ name })),
    allowAutoTopicCreation: false,
  });
  const frame = await roundTrip(address, ApiKey.Metadata, req, timeoutMs);
  return decodeResponse(ApiKey.Metadata, 4, frame).body;
}

/**
 * ListOffsets v2 asking the broker for the latest offset of each partition (the high watermark for
 * READ_UNCOMMITTED). Returns partition → { errorCode, offset }.
 */
export async function listLatestOffsets(
  address: BrokerAddress,
  topic: string,
  partitions: number[],
  timeoutMs = 10_000,
): Promise<Map<number, { errorCode: number; offset: number }>> {
  const req = encodeRequest(ApiKey.ListOffsets, 2, 3, CLIENT_ID, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp: -1n })) }],
  });
  const frame = await roundTrip(address, ApiKey.ListOffsets, req, timeoutMs);
  const body: ListOffsetsResponse = decodeResponse(ApiKey.ListOffsets, 2, frame).body;
  const out = new Map<number, { errorCode: number; offset: number }>();
  for (const t of body.topics) for (const p of t.partitions) out.set(p.partitionIndex, { errorCode: p.errorCode, offset: Number(p.offset) });
  return out;
}
