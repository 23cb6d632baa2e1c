#!/usr/bin/env node
// The `kastor` command: loads the TypeScript CLI in this same process through tsx's loader, so there is no
// build step and no wrapper process (a signal sent to this pid reaches the broker itself).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
