// Source-mode bootstrap of a replica worker (tests, CLI and web mode from source): worker threads
// do not inherit the tsx loader of the thread that started them (see jobs/worker-tsx.mjs).
import { register } from 'tsx/esm/api';

register();
await import('./replica.ts');
