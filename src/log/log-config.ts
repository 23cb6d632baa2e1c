// Per-partition log settings, named after the Kafka topic configs they mirror (segment.bytes, segment.ms,
// retention.ms, retention.bytes, flush.*, index.interval.bytes).

export interface LogConfig {
  segmentBytes: number;
  segmentMs: number;
  /** -1 keeps data forever. */
  retentionMs: number;
  /** -1 means no size limit. */
  retentionBytes: number;
  /** 'always': an append resolves after an fsync (shared by concurrent appends); 'interval': after the write. */
  flush: 'always' | 'interval';
  flushIntervalMs: number;
  indexIntervalBytes: number;
}

export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  flush: 'interval',
  flushIntervalMs: 1000,
  indexIntervalBytes: 4096,
});

/** Index entries hold positions as uint32 and batch offsets must stay below them: cap segment size. */
const MAX_SEGMENT_BYTES = 0x7fff_ffff;

export function resolveLogConfig(partial: Partial<LogConfig> = {}): LogConfig {
  const c = { ...DEFAULT_LOG_CONFIG, ...partial };
  c.segmentBytes = Math.min(Math.max(c.segmentBytes, 1), MAX_SEGMENT_BYTES);
  c.indexIntervalBytes = Math.max(c.indexIntervalBytes, 1);
  return c;
}
