// The file system as the partition log sees it: a deliberately small interface so the log runs on real
// files (NodeStorage), in memory with a crash model (MemoryStorage), and under injected faults
// (FaultyStorage) without knowing which.
//
// Durability contract every implementation keeps: bytes written to a file are durable only after that
// handle's sync() resolves; directory operations (create, rename, unlink) are durable when they resolve
// (NodeStorage fsyncs the directory to make that true).

export interface StorageFile {
  /** Reads up to length bytes at position; shorter only at end of file. */
  read(position: number, length: number): Promise<Buffer>;
  /** Writes all of data at position (extending the file when past its end). */
  write(data: Uint8Array, position: number): Promise<void>;
  /** fsync: everything written so far survives a crash once this resolves. */
  sync(): Promise<void>;
  truncate(size: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

export interface Storage {
  /** Opens a file for reading and writing, creating it (empty) when create is set and it is missing. */
  open(path: string, options?: { create?: boolean }): Promise<StorageFile>;
  exists(path: string): Promise<boolean>;
  /** Size in bytes of a file. */
  size(path: string): Promise<number>;
  /** Names (not paths) of the entries of a directory. */
  list(dir: string): Promise<string[]>;
  /** Creates a directory and its parents; no error if it exists. */
  mkdir(dir: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Atomically replaces to with from. */
  rename(from: string, to: string): Promise<void>;
  /** Removes a directory and everything under it. */
  removeDir(dir: string): Promise<void>;
  /** The size and free space of the file system holding dir (DescribeLogDirs v4); absent where unknown. */
  space?(dir: string): Promise<{ totalBytes: number; usableBytes: number }>;
}
