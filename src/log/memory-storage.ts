// An in-memory Storage that models what a crash loses: bytes written to a file since its last sync().
// Directory operations are durable immediately (NodeStorage fsyncs directories to match).
//
// crash() drops every open handle and rolls each file back to its synced content; an optional
// keepUnsynced callback keeps a prefix of the bytes appended since the last sync, which is how a torn
// write looks on a real disk (the page cache wrote back part of the tail). Overwrites and truncations of
// already-synced bytes that were not synced are undone entirely.

import { dirname, basename, posix } from 'node:path';
import type { Storage, StorageFile } from './storage.ts';
import { StorageError } from './errors.ts';

class MemNode {
  data: Buffer = Buffer.alloc(0);
  length = 0;
  /** Bytes [0, durableLength) are synced unless snapshot is set. */
  durableLength = 0;
  /** Synced content saved before an unsynced overwrite/truncate touched it. */
  snapshot: Buffer | null = null;

  ensure(capacity: number): void {
    if (capacity <= this.data.length) return;
    const next = Buffer.alloc(Math.max(capacity, this.data.length * 2, 256));
    this.data.copy(next, 0, 0, this.length);
    this.data = next;
  }

  protectDurable(from: number): void {
    if (this.snapshot === null && from < this.durableLength) {
      this.snapshot = Buffer.from(this.data.subarray(0, this.durableLength));
    }
  }
}

class MemFile implements StorageFile {
  private closed = false;
  constructor(
    private readonly node: MemNode,
    private readonly path: string,
    private readonly generation: () => number,
    private readonly openedIn: number,
  ) {}

  private check(op: string): MemNode {
    if (this.closed || this.openedIn !== this.generation()) {
      throw new StorageError(`${op} on a closed file`, { path: this.path, op });
    }
    return this.node;
  }

  async read(position: number, length: number): Promise<Buffer> {
    const n = this.check('read');
    const end = Math.min(n.length, position + length);
    return end <= position ? Buffer.alloc(0) : Buffer.from(n.data.subarray(position, end));
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    const n = this.check('write');
    n.protectDurable(position);
    n.ensure(position + data.length);
    if (position > n.length) n.data.fill(0, n.length, position);
    n.data.set(data, position);
    n.length = Math.max(n.length, position + data.length);
  }

  async sync(): Promise<void> {
    const n = this.check('sync');
    n.durableLength = n.length;
    n.snapshot = null;
  }

  async truncate(size: number): Promise<void> {
    const n = this.check('truncate');
    if (size < n.length) {
      n.protectDurable(size);
      n.length = size;
    } else {
      n.ensure(size);
      n.data.fill(0, n.length, size);
      n.length = size;
    }
  }

  async size(): Promise<number> {
    return this.check('size').length;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export interface CrashOptions {
  /** How many of a file's unsynced appended bytes survive (default 0). */
  keepUnsynced?: (path: string, unsyncedBytes: number) => number;
}

export class MemoryStorage implements Storage {
  private readonly files = new Map<string, MemNode>();
  private readonly dirs = new Set<string>(['/']);
  private gen = 0;

  private norm(path: string): string {
    return posix.normalize(path.replaceAll('\\', '/'));
  }

  private node(path: string, op: string): MemNode {
    const n = this.files.get(this.norm(path));
    if (!n) throw new StorageError(`no such file: ${path}`, { path, op, code: 'ENOENT' });
    return n;
  }

  async open(path: string, options: { create?: boolean } = {}): Promise<StorageFile> {
    const p = this.norm(path);
    let n = this.files.get(p);
    if (!n) {
      if (!options.create) throw new StorageError(`no such file: ${path}`, { path, op: 'open', code: 'ENOENT' });
      if (!this.dirs.has(dirname(p))) throw new StorageError(`no such directory: ${dirname(p)}`, { path, op: 'open', code: 'ENOENT' });
      n = new MemNode();
      this.files.set(p, n);
    }
    return new MemFile(n, p, () => this.gen, this.gen);
  }

  async exists(path: string): Promise<boolean> {
    const p = this.norm(path);
    return this.files.has(p) || this.dirs.has(p);
  }

  async size(path: string): Promise<number> {
    return this.node(path, 'size').length;
  }

  async list(dir: string): Promise<string[]> {
    const d = this.norm(dir);
    if (!this.dirs.has(d)) throw new StorageError(`no such directory: ${dir}`, { path: dir, op: 'list', code: 'ENOENT' });
    const out: string[] = [];
    for (const p of [...this.files.keys(), ...this.dirs]) if (p !== d && dirname(p) === d) out.push(basename(p));
    return out.sort();
  }

  async mkdir(dir: string): Promise<void> {
    let d = this.norm(dir);
    while (!this.dirs.has(d)) {
      this.dirs.add(d);
      d = dirname(d);
    }
  }

  async unlink(path: string): Promise<void> {
    this.node(path, 'unlink');
    this.files.delete(this.norm(path));
  }

  async rename(from: string, to: string): Promise<void> {
    const n = this.node(from, 'rename');
    this.files.delete(this.norm(from));
    this.files.set(this.norm(to), n);
  }

  async removeDir(dir: string): Promise<void> {
    const d = this.norm(dir);
    const under = (p: string) => p === d || p.startsWith(d + '/');
    for (const p of [...this.files.keys()]) if (under(p)) this.files.delete(p);
    for (const p of [...this.dirs]) if (under(p)) this.dirs.delete(p);
  }

  /** Simulates power loss: open handles die, unsynced bytes are lost (or torn, per keepUnsynced). */
  crash(options: CrashOptions = {}): void {
    this.gen++;
    for (const [path, n] of this.files) {
      if (n.snapshot) {
        n.data = n.snapshot;
        n.length = n.snapshot.length;
        n.snapshot = null;
      } else if (n.length > n.durableLength) {
        const unsynced = n.length - n.durableLength;
        const keep = Math.max(0, Math.min(unsynced, Math.floor(options.keepUnsynced?.(path, unsynced) ?? 0)));
        n.length = n.durableLength + keep;
      } else {
        n.length = Math.min(n.length, n.durableLength);
      }
      n.durableLength = n.length;
    }
  }

  /** A copy of a file's current bytes, for tests. */
  contents(path: string): Buffer {
    const n = this.node(path, 'contents');
    return Buffer.from(n.data.subarray(0, n.length));
  }
}
