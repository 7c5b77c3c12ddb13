/**
 * The one place that chooses the TensorFlow.js backend. Order: @tensorflow/tfjs-node-gpu (CUDA),
 * @tensorflow/tfjs-node (libtensorflow on CPU), @tensorflow/tfjs with the wasm backend (SIMD, one
 * thread under Node), and last the pure-JS cpu backend. The native packages are optional
 * dependencies: their install downloads libtensorflow, which fails on offline machines, and then
 * they are simply absent. The choice and why are reported to the UI and to `cider doctor`.
 *
 * Chosen once per thread (each job worker, replica worker, and the CLI / web / desktop main
 * thread): a thread that never chose would otherwise run every op on the pure-JS cpu backend,
 * 20-40x slower than wasm, without a word. So loading this module takes TF.js's automatic choice
 * away: the cpu backend's factory is unregistered (kept here for an explicit choice) and a guard
 * backend of the highest priority stands in its place, whose initialisation never succeeds, so
 * any op before `initBackend()` throws an error that names this file. After the choice the guard
 * is never consulted again.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { runtimeAssets } from '../../runtime/assets';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendChoice {
  name: BackendName;
  /** what the user should read: why this backend and not a faster one */
  reason: string;
  tfjsVersion: string;
  gpu: boolean;
  /** what was tried before, with the failure */
  tried: { name: BackendName; error: string }[];
}

const nodeRequire = createRequire(import.meta.url);

// The cpu backend prints "Hi, looks like you are running TensorFlow.js in Node.js..." on its first
// use. Which backend runs and why is what `cider doctor` and the status bar report; the banner would
// only land in the middle of CLI output and job logs. Its first-use flag reads false from now on.
Object.defineProperty(MathBackendCPU.prototype, 'firstUse', {
  configurable: true,
  get: () => false,
  set: () => undefined,
});
let chosen: Promise<BackendChoice> | undefined;
let settled: BackendChoice | undefined;

/** The guard's name is what TF.js puts in its error when an op runs before the choice. */
export const UNCHOSEN_BACKEND = 'none-chosen: call initBackend() from src/main/ml/backends/tf.ts before any TF.js op';

interface EngineRegistry {
  registryFactory: Record<string, { factory: () => unknown; priority: number }>;
}
const registry = tf.engine() as unknown as EngineRegistry;
/** factories of backends that register themselves on import (cpu), taken out until chosen explicitly */
const withheld = new Map<string, { factory: () => unknown; priority: number }>();
function installGuard(): void {
  if (registry.registryFactory[UNCHOSEN_BACKEND]) return;
  for (const name of ['cpu', 'webgl']) {
    const entry = registry.registryFactory[name];
    if (entry) {
      withheld.set(name, entry);
      tf.removeBackend(name);
    }
  }
  tf.registerBackend(
    UNCHOSEN_BACKEND,
    () =>
      Promise.reject(
        new Error('TensorFlow.js was used before this thread chose its backend (initBackend in ml/backends/tf.ts)'),
      ),
    Number.MAX_SAFE_INTEGER,
  );
}
installGuard();

function restore(name: string): void {
  const entry = withheld.get(name);
  if (entry && !registry.registryFactory[name]) tf.registerBackend(name, entry.factory as never, entry.priority);
}

function shortError(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const first = msg.split('\n')[0];
  if (/Cannot find module '@tensorflow\/tfjs-node/.test(first))
    return 'not installed (optional dependency; its install downloads libtensorflow)';
  return first.slice(0, 200);
}

async function tryNative(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node', name: BackendName): Promise<void> {
  // Loading the package registers its backend with the @tensorflow/tfjs-core it depends on.
  nodeRequire(pkg);
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend('${name}') returned false`);
}

async function tryWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // Under Node the .wasm binaries are read from the package folder (unpacked in an installed app), never fetched.
  wasm.setWasmPaths(runtimeAssets().tfjsWasmDir());
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new Error("tf.setBackend('wasm') returned false");
}

export type BackendPreference = BackendName | 'auto';

/**
 * Initialise TensorFlow.js once per thread. `prefer` forces one backend (tests run the parity
 * suite on 'wasm' and 'cpu'); 'auto' takes the fastest that loads.
 */
export function initBackend(
  prefer: BackendPreference = (process.env.CIDER_TF_BACKEND as BackendPreference) || 'auto',
): Promise<BackendChoice> {
  if (!chosen) chosen = select(prefer).then(remember);
  return chosen;
}

function remember(c: BackendChoice): BackendChoice {
  settled = c;
  used.clear();
  return c;
}

/** This thread's choice, or undefined before `initBackend()` has finished. */
export function chosenBackend(): BackendChoice | undefined {
  return settled;
}

const used = new Set<BackendName>();

/**
 * The backend TF.js runs ops on right now, recorded as used by this thread. Called by the code
 * that does the heavy TF.js work (the BERT encoder, the CIDer forward pass, the face model) so a
 * job can report which backend actually did its work. Throws when no backend was chosen.
 */
export function noteBackendUse(): BackendName {
  if (!settled)
    throw new Error('TensorFlow.js was used before this thread chose its backend (call initBackend() first)');
  const active = tf.getBackend();
  // the two native packages both register as 'tensorflow'
  const name: BackendName =
    active === 'tensorflow'
      ? settled.name === 'tensorflow-gpu'
        ? 'tensorflow-gpu'
        : 'tensorflow'
      : (active as BackendName);
  used.add(name);
  return name;
}

/** Backends this thread's TF.js work ran on since the choice (see noteBackendUse). */
export function backendsUsed(): BackendName[] {
  return [...used];
}

/** Switch backend inside one process (tests only: parity on two backends). */
export async function useBackend(name: BackendName): Promise<BackendChoice> {
  chosen = select(name).then(remember);
  return chosen;
}

async function select(prefer: BackendPreference): Promise<BackendChoice> {
  const tried: BackendChoice['tried'] = [];
  const order: BackendName[] = prefer === 'auto' ? ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] : [prefer];
  for (const name of order) {
    try {
      if (name === 'tensorflow-gpu') await tryNative('@tensorflow/tfjs-node-gpu', 'tensorflow');
      else if (name === 'tensorflow') await tryNative('@tensorflow/tfjs-node', 'tensorflow');
      else if (name === 'wasm') await tryWasm();
      else {
        restore('cpu');
        const ok = await tf.setBackend('cpu');
        if (!ok) throw new Error("tf.setBackend('cpu') returned false");
      }
      await tf.ready();
      const reason =
        prefer !== 'auto'
          ? `chosen explicitly (${process.env.CIDER_TF_BACKEND ? 'CIDER_TF_BACKEND' : 'requested'})`
          : tried.length === 0
            ? 'fastest backend available'
            : `fallback: ${tried.map((t) => `${t.name} ${t.error}`).join('; ')}`;
      return { name, reason, tfjsVersion: tf.version.tfjs, gpu: name === 'tensorflow-gpu', tried };
    } catch (e) {
      tried.push({ name, error: shortError(e) });
    }
  }
  throw new Error(
    `no TensorFlow.js backend could be initialised: ${tried.map((t) => `${t.name}: ${t.error}`).join('; ')}`,
  );
}

export { tf };
