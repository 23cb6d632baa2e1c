// The key-value contract the metadata store is written against: a small slice of NATS JetStream KV
// (create, compare-and-set update, delete, watch with replay) so the store runs over the real bucket
// (src/runtime/node/nats-kv.ts) and, in deterministic simulation, over memory (memory-kv.ts). Both pass one
// conformance suite (test/helpers/kv-conformance.ts); a behaviour not pinned there is not part of the contract.
//
// Revisions are one sequence over the whole bucket (JetStream's stream sequence), strictly increasing;
// a key's revision is the revision of its last write.
import { InvalidKeyError } from './kv-errors.ts';

export interface KvEntry {
  value: Uint8Array;
  revision: number;
}

export interface KvChange {
  operation: 'PUT' | 'DEL';
  key: string;
  /** null when the key was deleted. */
  value: Uint8Array | null;
  revision: number;
}

/** Marks the end of a watch's replay of current values: what follows are live changes. */
export interface KvReplayed {
  operation: 'REPLAYED';
  /** The replay reflects every change up to this revision (deletes included, though not replayed). */
  revision: number;
}

/**
 * The bucket went back: it lost its changes after `revision` (nats-server 2.9 syncs JetStream to disk only every
 * two minutes, so a crash of the whole NATS side may lose what it acknowledged since), and revisions after it may
 * be handed out again. A fresh replay of the current values follows, with a DEL for every key whose last write
 * is a delete (so a delete made since the rewind is told from a write the bucket lost), then a KvReplayed.
 */
export interface KvRewound {
  operation: 'REWOUND';
  revision: number;
}

export type KvWatchEvent = KvChange | KvReplayed | KvRewound;

/** A watch yields the current values (keys that exist, in revision order), one KvReplayed, then every
 * change as it happens, each revision at most once; after a KvRewound, a replay again. Iteration ends after
 * stop(). */
export interface KvWatch extends AsyncIterable<KvWatchEvent> {
  stop(): void;
}

export interface MetadataKv {
  /** The current value, or null when the key never existed or was deleted. */
  get(key: string): Promise<KvEntry | null>;
  /** The key's last write, a delete included (value null), or null when it was never written. */
  lastWrite(key: string): Promise<{ value: Uint8Array | null; revision: number } | null>;
  /** Writes only if the key holds no value (never written or deleted); else KeyExistsError. */
  create(key: string, value: Uint8Array): Promise<number>;
  /** Unconditional write. */
  put(key: string, value: Uint8Array): Promise<number>;
  /** Compare-and-set: writes only if the key's revision is expectedRevision; else RevisionMismatchError. */
  update(key: string, value: Uint8Array, expectedRevision: number): Promise<number>;
  /** Deletes (a tombstone, as JetStream does); with expectedRevision it is a compare-and-set too. */
  delete(key: string, expectedRevision?: number): Promise<void>;
  /** Keys holding a value under `prefix` (whole dot-separated tokens), sorted; all keys without one. */
  keys(prefix?: string): Promise<string[]>;
  /** Changes of keys under `prefix` (all keys without one); see KvWatch. */
  watch(prefix?: string): KvWatch;
}

// JetStream KV's key rule (subject tokens): letters, digits and - / _ = . ; no empty token.
const KEY_RE = /^[-/_=.a-zA-Z0-9]+$/;

export function assertValidKey(key: string): void {
  if (!KEY_RE.test(key)) throw new InvalidKeyError(key, 'only letters, digits and - / _ = . are allowed');
  if (key.startsWith('.') || key.endsWith('.') || key.includes('..')) {
    throw new InvalidKeyError(key, 'dot-separated tokens must not be empty');
  }
}

/** True when `key` lies under `prefix` by whole tokens: "topics" covers "topics.a" but not "topicsx". */
export function keyHasPrefix(key: string, prefix: string | undefined): boolean {
  return prefix === undefined || key.startsWith(prefix + '.');
}
