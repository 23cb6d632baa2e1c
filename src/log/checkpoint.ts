// Small text checkpoint files in Kafka's shape ("<version>\n<count>\n<entry>\n..."), replaced atomically:
// written to a temp file, synced, then renamed over the old one, so a crash leaves the old or the new
// file and never a torn one.

import type { Storage } from './storage.ts';
import { CheckpointFormatError } from './errors.ts';

const VERSION = 0;

export async function writeCheckpoint(storage: Storage, path: string, entries: string[]): Promise<void> {
  const tmp = `${path}.tmp`;
  const text = `${VERSION}\n${entries.length}\n${entries.map((e) => `${e}\n`).join('')}`;
  const file = await storage.open(tmp, { create: true });
  try {
    await file.truncate(0);
    await file.write(Buffer.from(text, 'utf8'), 0);
    await file.sync();
  } finally {
    await file.close();
  }
  await storage.rename(tmp, path);
}

/** The entries of a checkpoint, or null when the file does not exist. */
export async function readCheckpoint(storage: Storage, path: string): Promise<string[] | null> {
  if (!(await storage.exists(path))) return null;
  const file = await storage.open(path);
  let text: string;
  try {
    text = (await file.read(0, await file.size())).toString('utf8');
  } finally {
    await file.close();
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines[0] !== String(VERSION)) throw new CheckpointFormatError(path, `version line ${JSON.stringify(lines[0])}`);
  const count = Number(lines[1]);
  if (!Number.isInteger(count) || count < 0 || lines.length !== count + 2) {
    throw new CheckpointFormatError(path, `count ${JSON.stringify(lines[1])} does not match ${lines.length - 2} entries`);
  }
  return lines.slice(2);
}

/** Reads a checkpoint holding one integer (recovery point, high watermark). */
export async function readOffsetCheckpoint(storage: Storage, path: string): Promise<number | null> {
  const entries = await readCheckpoint(storage, path);
  if (entries === null) return null;
  const v = Number(entries[0]);
  if (entries.length !== 1 || !Number.isSafeInteger(v) || v < 0) throw new CheckpointFormatError(path, `bad offset ${entries[0]}`);
  return v;
}

export function writeOffsetCheckpoint(storage: Storage, path: string, offset: number): Promise<void> {
  return writeCheckpoint(storage, path, [String(offset)]);
}
