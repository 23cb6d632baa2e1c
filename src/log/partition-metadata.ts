// A partition directory's `partition.metadata` file (Kafka's, KIP-516): which topic, by id, the log in the
// directory belongs to. A topic deleted and created again under the same name gets a new id, so a replica that
// missed the deletion (its broker was down or cut off) finds a log of another topic in the directory the new
// one would use, and must not serve it as the new topic's. Written once when the log is first opened for a
// topic id: "version: 0\ntopic_id: <id>\n", replaced atomically (temp file, sync, rename).
import { join } from 'node:path';
import type { Storage } from './storage.ts';

export const PARTITION_METADATA_FILE = 'partition.metadata';

/** The topic id a partition directory was written for; null when it has no (readable) partition.metadata. */
export async function readPartitionTopicId(storage: Storage, dir: string): Promise<string | null> {
  const path = join(dir, PARTITION_METADATA_FILE);
  if (!(await storage.exists(path))) return null;
  const file = await storage.open(path);
  try {
    const text = (await file.read(0, await file.size())).toString('utf8');
    // Whole lines only: a torn file must read as none (adopted), never as another topic's id (deleted).
    const match = /^version: 0\ntopic_id: (\S+)\n$/.exec(text);
    return match ? match[1]! : null;
  } finally {
    await file.close();
  }
}

export async function writePartitionTopicId(storage: Storage, dir: string, topicId: string): Promise<void> {
  const path = join(dir, PARTITION_METADATA_FILE);
  const tmp = `${path}.tmp`;
  const file = await storage.open(tmp, { create: true });
  try {
    await file.truncate(0);
    await file.write(Buffer.from(`version: 0\ntopic_id: ${topicId}\n`, 'utf8'), 0);
    await file.sync();
  } finally {
    await file.close();
  }
  await storage.rename(tmp, path);
}
