#!/usr/bin/env -S node --min-semi-space-size=16 --initial-old-space-size=128
// The `kastor` command: loads the TypeScript CLI in this same process through tsx's loader, so there is no
// build step and no wrapper process (a signal sent to this pid reaches the broker itself). The V8 flags in the
// first line are BROKER_NODE_FLAGS (src/cli/node-flags.ts, which says why); keep the two the same.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
