// A Storage wrapper that injects the faults a disk produces, for tests: torn writes (a prefix reaches
// the file, then the call fails), failing fsync, any mutating operation refused (a crash point), added
// latency, and counters (syncs, writes) so tests can assert group commit. Faults are decided by
// caller-supplied predicates, so a test stays deterministic.

import type { Storage, StorageFile } from './storage.ts';
import { StorageError } from './errors.ts';

export interface FaultPlan {
  /** Fail this sync (the file content stays as written). */
  failSync?: (path: string) => boolean;
  /** Return a byte count to write only that prefix of data and then fail the write; null to write normally. */
  tearWrite?: (path: string, data: Uint8Array, position: number) => number | null;
  /** Resolves before each write/sync completes; e.g. a promise a test releases. */
  delay?: (op: 'write' | 'sync', path: string) => Promise<void> | undefined;
  /**
   * Refuse this mutating operation before it does anything (a crash point: the test crashes the inner
   * storage next). Asked for every write, sync, truncate, rename and unlink, in order.
   */
  failOp?: (op: MutatingOp, path: string) => boolean;
}

export type MutatingOp = 'write' | 'sync' | 'truncate' | 'rename' | 'unlink';

export class FaultyStorage implements Storage {
  syncs = 0;
  writes = 0;
  readonly syncsByPath = new Map<string, number>();

  constructor(readonly inner: Storage, public plan: FaultPlan = {}) {}

  private refuse(op: MutatingOp, path: string): void {
    if (this.plan.failOp?.(op, path)) throw new StorageError(`injected failure of ${op}`, { path, op, code: 'EIO' });
  }

  async open(path: string, options?: { create?: boolean }): Promise<StorageFile> {
    const file = await this.inner.open(path, options);
    const self = this;
    return {
      read: (position, length) => file.read(position, length),
      async write(data, position) {
        await self.plan.delay?.('write', path);
        self.refuse('write', path);
        self.writes++;
        const torn = self.plan.tearWrite?.(path, data, position);
        if (torn !== null && torn !== undefined) {
          if (torn > 0) await file.write(data.subarray(0, torn), position);
          throw new StorageError(`injected torn write (${torn} of ${data.length} bytes)`, { path, op: 'write', code: 'EIO' });
        }
        await file.write(data, position);
      },
      async sync() {
        await self.plan.delay?.('sync', path);
        self.refuse('sync', path);
        self.syncs++;
        self.syncsByPath.set(path, (self.syncsByPath.get(path) ?? 0) + 1);
        if (self.plan.failSync?.(path)) throw new StorageError('injected fsync failure', { path, op: 'sync', code: 'EIO' });
        await file.sync();
      },
      async truncate(size) {
        self.refuse('truncate', path);
        await file.truncate(size);
      },
      size: () => file.size(),
      close: () => file.close(),
    };
  }

  exists(path: string): Promise<boolean> {
    return this.inner.exists(path);
  }
  size(path: string): Promise<number> {
    return this.inner.size(path);
  }
  list(dir: string): Promise<string[]> {
    return this.inner.list(dir);
  }
  mkdir(dir: string): Promise<void> {
    return this.inner.mkdir(dir);
  }
  async unlink(path: string): Promise<void> {
    this.refuse('unlink', path);
    await this.inner.unlink(path);
  }
  async rename(from: string, to: string): Promise<void> {
    this.refuse('rename', from);
    await this.inner.rename(from, to);
  }
  removeDir(dir: string): Promise<void> {
    return this.inner.removeDir(dir);
  }
}
