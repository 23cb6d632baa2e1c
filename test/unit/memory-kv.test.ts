// The in-memory MetadataKv (deterministic simulation backend) against the shared KV conformance suite.
import { test } from 'uvu';
import { MemoryKv } from '../../src/metadata/memory-kv.ts';
import { kvConformance } from '../helpers/kv-conformance.ts';

kvConformance(test, async () => {
  const kv = new MemoryKv();
  return { kv, second: async () => kv, dispose: async () => {} };
});

test.run();
