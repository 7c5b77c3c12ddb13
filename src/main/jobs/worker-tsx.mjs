// Source-mode bootstrap for job workers (CLI, web mode, tests): worker threads do not inherit the
// tsx loader of the thread that started them, so register it here, then load the TypeScript
// worker. The Electron build points the runner at the bundled worker instead.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
