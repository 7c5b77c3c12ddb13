#!/usr/bin/env node
// The `cider` command: loads the TypeScript CLI in this process through tsx (job worker threads
// register tsx themselves, see src/main/jobs/worker-tsx.mjs).
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/main.ts');
process.exit(await runCli(process.argv.slice(2)));
