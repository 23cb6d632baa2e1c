// MetadataKv over a NATS JetStream key-value bucket (created when missing). Compare-and-set is the
// server's expected-last-subject-sequence check; a lost CAS comes back as JetStream API error 10071
// (StreamWrongLastSequence), which is mapped to the typed KeyExistsError / RevisionMismatchError so the
// store never looks at backend error text.
import { jetstream, JetStreamApiError, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Clock } from '../clock.ts';
import { nodeClock } from './node-clock.ts';
import { KeyExistsError, KvError, KvOperationError, RevisionMismatchError } from '../../metadata/kv-errors.ts';
import { assertValidKey, type KvEntry, type KvWatch, type MetadataKv } from '../../metadata/kv.ts';
import { natsKvWatch } from './nats-kv-watch.ts';

export const DEFAULT_METADATA_BUCKET = 'kastor-metadata';

/** JetStream's "wrong last sequence": the key is not at the expected revision. */
const CAS_FAILED = 10071;
const CAS_FAILED_UNKNOWN = 10164;

export interface NatsKvOptions {
  bucket?: string;
  /** 1 for a single nats-server, 3 (or 5) so the bucket survives losing a server of a NATS cluster. */
  replicas?: 1 | 3 | 5;
  /** Values kept per key, for inspection after an incident (1..5, default 5). */
  history?: number;
  /** JetStream API timeout per operation (default 5000 ms). */
  timeoutMs?: number;
  clock?: Clock;
  /** Called when a watch fails to (re)subscribe; it retries by itself. */
  onWatchError?: (err: unknown) => void;
  /** How often a watch checks that the server still has its consumer (default 2000 ms). */
  watchCheckIntervalMs?: number;
}

export class NatsKv implements MetadataKv {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly kv: KV,
    readonly bucket: string,
    private readonly clock: Clock,
    private readonly onWatchError: (err: unknown) => void,
    private readonly watchCheckIntervalMs: number,
  ) {}

  /** Opens (creating when missing) the bucket; a string is shorthand for `{ bucket }`. */
  static async open(nc: NatsConnection, options: NatsKvOptions | string = {}): Promise<NatsKv> {
    const opts = typeof options === 'string' ? { bucket: options } : options;
    const bucket = opts.bucket ?? DEFAULT_METADATA_BUCKET;
    const history = opts.history ?? 5;
    if (!Number.isInteger(history) || history < 1 || history > 5) {
      throw new RangeError(`history must be an integer in 1..5, got ${history}`);
    }
    const js = jetstream(nc, { timeout: opts.timeoutMs ?? 5_000 });
    try {
      // allow_direct off: a direct get may be answered by a lagging replica of an R3 bucket, and the
      // store reads a key right before compare-and-setting it.
      const kv = await new Kvm(js).create(bucket, { history, replicas: opts.replicas ?? 1, allow_direct: false });
      return new NatsKv(nc, js, kv, bucket, opts.clock ?? nodeClock, opts.onWatchError ?? (() => {}), opts.watchCheckIntervalMs ?? 2_000);
    } catch (err) {
      throw new KvOperationError('open bucket', bucket, err);
    }
  }

  async get(key: string): Promise<KvEntry | null> {
    assertValidKey(key);
    try {
      const e = await this.kv.get(key);
      if (!e || e.operation !== 'PUT') return null;
      return { value: e.value, revision: e.revision };
    } catch (err) {
      throw new KvOperationError('get', key, err);
    }
  }

  async lastWrite(key: string): Promise<{ value: Uint8Array | null; revision: number } | null> {
    assertValidKey(key);
    try {
      const e = await this.kv.get(key);
      if (!e) return null;
      return { value: e.operation === 'PUT' ? e.value : null, revision: e.revision };
    } catch (err) {
      throw new KvOperationError('get', key, err);
    }
  }

  async create(key: string, value: Uint8Array): Promise<number> {
    assertValidKey(key);
    try {
      return await this.kv.create(key, value);
    } catch (err) {
      throw isCasFailure(err) ? new KeyExistsError(key, err) : wrap('create', key, err);
    }
  }

  async put(key: string, value: Uint8Array): Promise<number> {
    assertValidKey(key);
    try {
      return await this.kv.put(key, value);
    } catch (err) {
      throw wrap('put', key, err);
    }
  }

  async update(key: string, value: Uint8Array, expectedRevision: number): Promise<number> {
    assertValidKey(key);
    // The client rejects revision 0 with a plain Error; no key is ever at revision 0, so it is a lost CAS.
    if (!(expectedRevision > 0)) throw new RevisionMismatchError(key, expectedRevision);
    try {
      return await this.kv.update(key, value, expectedRevision);
    } catch (err) {
      throw isCasFailure(err) ? new RevisionMismatchError(key, expectedRevision, err) : wrap('update', key, err);
    }
  }

  async delete(key: string, expectedRevision?: number): Promise<void> {
    assertValidKey(key);
    if (expectedRevision !== undefined && !(expectedRevision > 0)) throw new RevisionMismatchError(key, expectedRevision);
    try {
      await this.kv.delete(key, expectedRevision === undefined ? undefined : { previousSeq: expectedRevision });
    } catch (err) {
      throw isCasFailure(err) ? new RevisionMismatchError(key, expectedRevision ?? 0, err) : wrap('delete', key, err);
    }
  }

  async keys(prefix?: string): Promise<string[]> {
    if (prefix !== undefined) assertValidKey(prefix);
    const filter = prefix === undefined ? '>' : `${prefix}.>`;
    try {
      const out: string[] = [];
      for await (const k of await this.kv.keys(filter)) out.push(k);
      return out.sort();
    } catch (err) {
      throw wrap('keys', prefix ?? '>', err);
    }
  }

  watch(prefix?: string): KvWatch {
    if (prefix !== undefined) assertValidKey(prefix);
    return natsKvWatch(
      {
        nc: this.nc,
        js: this.js,
        clock: this.clock,
        bucket: this.bucket,
        onError: this.onWatchError,
        checkIntervalMs: this.watchCheckIntervalMs,
      },
      prefix,
    );
  }
}

function isCasFailure(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.code === CAS_FAILED || err.code === CAS_FAILED_UNKNOWN);
}

function wrap(operation: string, key: string, err: unknown): KvError {
  return err instanceof KvError ? err : new KvOperationError(operation, key, err);
}
