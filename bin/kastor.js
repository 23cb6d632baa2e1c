#!/usr/bin/env -S node --min-semi-space-size=16 --initial-old-space-size=128
// The `kastor` command, run in this same process (no wrapper: a signal sent to this pid reaches the broker
// itself). The installed package runs the compiled dist/; a checkout, which has the TypeScript sources, runs
// them through tsx's loader, so what runs is always what the sources say, built or not. The V8 flags in the
// first line are BROKER_NODE_FLAGS (src/cli/node-flags.ts, which says why); keep the two the same.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('../dist/src/cli/main.js');
}
