/**
 * The face model adapter: @vladmandic/human (BlazeFace detector, FaceMesh 468 landmarks, an
 * emotion classifier, head pose from the mesh) with the weights its npm package ships in models/,
 * on TensorFlow.js's wasm backend, the same @tensorflow/tfjs-core instance the engine uses.
 *
 * Two things Human does not do under plain Node without tfjs-node, and this file does:
 *  - its package "exports" map names "dist/human.node-wasm" without "./", which Node rejects, so
 *    the wasm build is required by its file path next to the package's main entry;
 *  - it loads models with the global fetch, and Node's fetch has no file: URLs, so while this
 *    module is loaded in a thread, file: URLs are answered from disk (every other URL goes to the
 *    original fetch). Only job workers load it.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { runtimeAssets } from '../../runtime/assets';
import { initBackend, noteBackendUse } from './tf';

const nodeRequire = createRequire(import.meta.url);

export const FACE_MODEL_PACKAGE = '@vladmandic/human';
export const EMOTIONS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] as const;

export interface FaceResult {
  score: number;
  /** [x, y, w, h] in pixels of the input frame */
  box: [number, number, number, number];
  emotion: { score: number; emotion: string }[];
  rotation?: { angle: { pitch: number; yaw: number; roll: number } } | null;
  /** named landmark groups (lipsUpperInner, leftEyeUpper0, ...), [x, y, z] points */
  annotations: Record<string, [number, number, number?][]>;
  mesh: [number, number, number?][];
}

export interface FaceDetector {
  version: string;
  detect(rgb: Uint8Array, width: number, height: number): Promise<FaceResult | null>;
}

interface HumanLike {
  version: string;
  load(): Promise<void>;
  detect(input: tf.Tensor): Promise<{ face: FaceResult[] }>;
}

let fetchPatched = false;
function answerFileUrlsFromDisk(): void {
  if (fetchPatched) return;
  fetchPatched = true;
  const original = globalThis.fetch;
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith('file:')) return original(input, init);
    const data = await readFile(new URL(url));
    return new Response(data, {
      status: 200,
      headers: { 'content-type': url.endsWith('.json') ? 'application/json' : 'application/octet-stream' },
    });
  };
}

let loading: Promise<FaceDetector> | undefined;

/** Load the face model once per thread (about 4 MB of weights, a fraction of a second). */
export function loadFaceDetector(): Promise<FaceDetector> {
  loading ??= (async () => {
    // the thread's backend comes from the one place that chooses it; Human is told to use it
    const choice = await initBackend();
    answerFileUrlsFromDisk();
    const assets = runtimeAssets();
    const { dist, models } = assets.faceModel();
    const { Human } = nodeRequire(join(dist, 'human.node-wasm.js')) as {
      Human: new (config: Record<string, unknown>) => HumanLike;
    };
    const wasmDir = assets.tfjsWasmDir();
    const human = new Human({
      backend: choice.name === 'cpu' ? 'cpu' : choice.name === 'wasm' ? 'wasm' : 'tensorflow',
      wasmPath: wasmDir,
      modelBasePath: pathToFileURL(models).href + '/',
      debug: false,
      async: true,
      warmup: 'none',
      // every frame is analysed afresh: no skipping of "similar" frames
      cacheSensitivity: 0,
      face: {
        enabled: true,
        detector: { rotation: true, maxDetected: 1, minConfidence: 0.3, skipFrames: 0, skipTime: 0 },
        mesh: { enabled: true },
        iris: { enabled: false },
        description: { enabled: false },
        emotion: { enabled: true, minConfidence: 0, skipFrames: 0, skipTime: 0 },
        antispoof: { enabled: false },
        liveness: { enabled: false },
      },
      body: { enabled: false },
      hand: { enabled: false },
      object: { enabled: false },
      gesture: { enabled: false },
      segmentation: { enabled: false },
      filter: { enabled: false },
    });
    await human.load();
    return {
      version: `human-${human.version}`,
      async detect(rgb, width, height) {
        noteBackendUse();
        const input = tf.tensor3d(rgb, [height, width, 3], 'int32');
        try {
          const r = await human.detect(input);
          return r.face[0] ?? null;
        } finally {
          input.dispose();
        }
      },
    };
  })();
  return loading;
}
