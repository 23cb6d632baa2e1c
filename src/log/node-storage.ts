// Storage on real files through node:fs/promises. Directory-changing operations fsync the directory so a
// created, renamed or removed file is durable when the call resolves, as the Storage contract says.

import { open, mkdir, readdir, rename, rm, stat, unlink, access } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import type { Storage, StorageFile } from './storage.ts';

class NodeFile implements StorageFile {
  constructor(private readonly fh: FileHandle) {}

  async read(position: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done === length ? buf : buf.subarray(0, done);
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done, position + done);
      done += bytesWritten;
    }
  }

  sync(): Promise<void> {
    return this.fh.sync();
  }

  truncate(size: number): Promise<void> {
    return this.fh.truncate(size);
  }

  async size(): Promise<number> {
    return (await this.fh.stat()).size;
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class NodeStorage implements Storage {
  async open(path: string, options: { create?: boolean } = {}): Promise<StorageFile> {
    try {
      return new NodeFile(await open(path, 'r+'));
    } catch (e) {
      if (!options.create || (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    // 'a+' creates without truncating a file another opener just made; reopened 'r+' because O_APPEND
    // would make Linux ignore the positions of positional writes.
    const fh = await open(path, 'a+').then(async (h) => (await h.close(), open(path, 'r+')));
    await syncDir(dirname(path));
    return new NodeFile(fh);
  }

  async exists(path: string): Promise<boolean> {
    try {
      await access(path);
      return true;
    } catch {
      return false;
    }
  }

  async size(path: string): Promise<number> {
    return (await stat(path)).size;
  }

  list(dir: string): Promise<string[]> {
    return readdir(dir);
  }

  async mkdir(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
  }

  async unlink(path: string): Promise<void> {
    await unlink(path);
    await syncDir(dirname(path));
  }

  async rename(from: string, to: string): Promise<void> {
    await rename(from, to);
    await syncDir(dirname(to));
  }

  async removeDir(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true });
  }
}
