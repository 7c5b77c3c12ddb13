/**
 * Data-parallel MSSD training step over several threads (wasm has one thread per instance under
 * Node, so using both cores means two workers; engine notes).
 *
 * The batch is cut into contiguous shares of rows. Share 0 runs on the calling thread (it owns
 * the model and the optimizer); every other share runs in a replica worker holding a copy of the
 * weights. Per pass (complete view, then missing view) the current weights are sent to the
 * replicas, each thread runs the ordinary pass functions of train/step.ts on its share with the
 * losses normalised by the WHOLE batch (exactly what micro-batch accumulation does), the replicas
 * send their gradients back, and the owner sums them in share order, applies Adam and carries on.
 * So a step equals the single-thread step over the same partition up to float summation order.
 *
 * Dropout: a forward pass draws a fixed number of dropout seeds from the step's rng (counted once
 * per pool with a one-row forward), and the rng is Mulberry32, whose state advances by a constant
 * per draw; so every replica share starts its own stream exactly where the single-thread step's
 * rng would be when it reached that share's first micro-batch, and the step's rng ends where the
 * single-thread step leaves it. With dropout on or off, a step on N threads therefore equals the
 * one-thread step with micro-batches of the shares' size (bit for bit when there are two shares
 * of one micro-batch each; otherwise up to gradient summation order). Should the rng's state not
 * be readable, each replica share falls back to a seed drawn from the rng (reproducible for a
 * given thread count only).
 *
 * Text features must be precomputed (the source has no trainable variables): a fine-tuned text
 * encoder lives on the owning thread only, and such steps run single-threaded.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { runtimeAssets } from '../../runtime/assets';
import { initBackend, tf } from '../backends/tf.js';
import { Rng } from '../random.js';
import type { CiderModel, Confounders, ViewInputs } from '../model/cider.js';
import type { Adam } from '../train/adam.js';
import {
  accumulateGrads,
  completeViewOnly,
  completeViewPass,
  disposeGrads,
  missingViewDropped,
  missingViewPass,
  releaseTeacher,
  sliceConfounders,
  sliceRows,
  stepInputRows,
  stepTensors,
  stepVariables,
  trainStep,
  type GradMap,
  type MissingViewMasks,
  type StepLosses,
  type TrainBatch,
  type TrainStepOptions,
} from '../train/step.js';
import type { Dense, FromReplica, PassOptions, ShareData, ToReplica } from './protocol.js';

export { defaultTrainWorkers, MIN_PARALLEL_BATCH } from './policy.js';

/** The replica worker's entry: the tsx bootstrap from source, replica.js beside a built entry (out/main, out/cli). */
function replicaEntry(): URL {
  return runtimeAssets().replicaEntry();
}

let live = 0;

/** Replica worker threads currently running (tests: none may outlive its pool). */
export function liveReplicaWorkers(): number {
  return live;
}

class Replica {
  private readonly worker: Worker;
  private waiting: { resolve: (m: FromReplica) => void; reject: (e: Error) => void } | null = null;
  private dead: Error | null = null;

  constructor(entry: URL) {
    this.worker = new Worker(entry);
    live++;
    this.worker.once('exit', () => live--);
    this.worker.on('message', (m: FromReplica) => {
      const w = this.waiting;
      this.waiting = null;
      this.worker.unref();
      if (!w) return;
      if (m.type === 'error') w.reject(Object.assign(new Error(`replica worker: ${m.message}`), { stack: m.stack }));
      else w.resolve(m);
    });
    const fail = (e: Error) => {
      this.dead = e;
      const w = this.waiting;
      this.waiting = null;
      w?.reject(e);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`replica worker exited (code ${code})`)));
    // an idle replica must not keep the process alive on its own (a busy one does)
    this.worker.unref();
  }

  /** Send one request; the promise settles with its reply (one request at a time). */
  request(msg: ToReplica): Promise<FromReplica> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.waiting) return Promise.reject(new Error('replica worker: a request is already pending'));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.worker.ref();
      this.worker.postMessage(msg);
    });
  }

  async terminate(): Promise<void> {
    this.waiting?.reject(new Error('replica worker terminated'));
    this.waiting = null;
    await this.worker.terminate();
  }
}

/** Replica workers for one model's training. Dispose it (terminates the workers). */
export class ReplicaPool {
  private constructor(
    private readonly replicas: Replica[],
    /** the model the replicas copy (its parameter names and shapes) */
    readonly model: CiderModel,
    /** dropout seeds one forward draws: complete view, missing view (reconstruction heads on) */
    readonly dropoutDraws: { full: number; missing: number },
  ) {}

  /** Threads a step uses: the caller's plus the replicas. */
  get threads(): number {
    return this.replicas.length + 1;
  }

  /**
   * Start `threads - 1` replica workers of `model` on the caller's TF.js backend. Throws when the
   * worker entry is absent (a bundle built without it) or a worker fails to start.
   */
  static async create(model: CiderModel, threads: number): Promise<ReplicaPool> {
    const entry = replicaEntry();
    if (!existsSync(fileURLToPath(entry)))
      throw new Error(`the replica worker ${fileURLToPath(entry)} is missing from this build`);
    const backend = (await initBackend()).name;
    const shapes: [string, number[]][] = [...model.params].map(([n, v]) => [n, v.shape]);
    const replicas = Array.from({ length: Math.max(0, threads - 1) }, () => new Replica(entry));
    const pool = new ReplicaPool(replicas, model, {
      full: countDropoutDraws(model, false),
      missing: countDropoutDraws(model, true),
    });
    try {
      await Promise.all(replicas.map((r) => r.request({ type: 'init', backend, config: model.config, shapes })));
    } catch (e) {
      await pool.dispose();
      throw e;
    }
    return pool;
  }

  async dispose(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.terminate()));
    this.replicas.length = 0;
  }

  /** @internal one request per replica, in share order */
  requestAll(msgs: ToReplica[]): Promise<FromReplica[]> {
    return Promise.all(msgs.map((m, i) => this.replicas[i].request(m)));
  }
}

/** Draws of an Rng, counted. */
class CountingRng extends Rng {
  count = 0;
  constructor(private readonly inner: Rng) {
    super(0);
  }
  override next(): number {
    this.count++;
    return this.inner.next();
  }
}

/** Mulberry32's state increment per draw (ml/random.ts). */
const MULBERRY_STEP = 0x6d2b79f5;

/** The state of a Mulberry32 Rng (a `new Rng(state)` continues its stream), or null. */
function rngState(rng: Rng): number | null {
  const s = (rng as unknown as { state?: unknown }).state;
  if (typeof s !== 'number') return null;
  // the stream property this relies on: a generator started at s, one draw on, is at s + step
  const a = new Rng(s);
  a.next();
  const b = new Rng((s + MULBERRY_STEP) >>> 0);
  return a.next() === b.next() ? s : null;
}

/** Dropout seeds one training-mode forward of `model` draws (a one-row forward, counted). */
function countDropoutDraws(model: CiderModel, reconstruct: boolean): number {
  const c = model.config;
  const counter = new CountingRng(new Rng(1));
  tf.tidy(() => {
    const view: ViewInputs = {
      text: tf.zeros([1, c.textLength, c.dl]) as tf.Tensor3D,
      textMask: tf.ones([1, c.textLength]) as tf.Tensor2D,
      textLengths: [c.textLength],
      audio: tf.zeros([1, c.audioLength, c.da]) as tf.Tensor3D,
      audioMask: tf.ones([1, c.audioLength]) as tf.Tensor2D,
      vision: tf.zeros([1, c.visionLength, c.dv]) as tf.Tensor3D,
      visionMask: tf.ones([1, c.visionLength]) as tf.Tensor2D,
    };
    const conf: Confounders = {
      dictionary: tf.zeros([c.classes, c.dl + c.da + c.dv]) as tf.Tensor2D,
      prior: tf.fill([c.classes], 1 / c.classes) as tf.Tensor1D,
    };
    model.forward(view, conf, { dropout: { rng: counter }, reconstruct });
  });
  return counter.count;
}

/** Forward passes (micro-batches) a share of `size` rows runs. */
function forwardsOf(size: number, microBatchSize?: number): number {
  return microBatchSize && microBatchSize > 0 ? Math.ceil(size / Math.min(microBatchSize, size)) : 1;
}

/**
 * Contiguous shares [offset, size] of a batch of B rows for `threads` threads. With micro-batches
 * the shares are whole micro-batches (a thread's share then splits into the same micro-batches
 * the single-thread step would use).
 */
export function shareRows(B: number, threads: number, microBatchSize?: number): [number, number][] {
  const unit = microBatchSize && microBatchSize > 0 && microBatchSize < B ? microBatchSize : 1;
  const units = Math.ceil(B / unit);
  const n = Math.max(1, Math.min(threads, units));
  const out: [number, number][] = [];
  let u = 0;
  for (let i = 0; i < n; i++) {
    const take = Math.floor(units / n) + (i < units % n ? 1 : 0);
    const start = u * unit;
    const end = Math.min(B, (u + take) * unit);
    out.push([start, end - start]);
    u += take;
  }
  return out;
}

function dense(t: tf.Tensor): Dense {
  return { data: t.dataSync() as Float32Array | Int32Array, shape: t.shape.slice() };
}

/** Everything a replica needs for its rows, read out of the batch's tensors. */
function shareData(
  batch: TrainBatch,
  masks: MissingViewMasks,
  conf: Confounders,
  offset: number,
  size: number,
  total: number,
): ShareData {
  let out: ShareData | undefined;
  tf.tidy(() => {
    const keep = sliceRows(masks.textKeep, offset, size);
    const c = sliceConfounders(conf, offset, size);
    out = {
      offset,
      total,
      text: dense(batch.text.full(offset, size, true)),
      textMissing: dense(batch.text.missing(offset, size, keep, true)),
      textMask: dense(sliceRows(batch.textMask, offset, size)),
      textLengths: Array.from(batch.textLengths).slice(offset, offset + size),
      audio: dense(sliceRows(batch.audio, offset, size)),
      audioMask: dense(sliceRows(batch.audioMask, offset, size)),
      vision: dense(sliceRows(batch.vision, offset, size)),
      visionMask: dense(sliceRows(batch.visionMask, offset, size)),
      labels: dense(sliceRows(batch.labels, offset, size)),
      textKeep: dense(keep),
      audioKeep: dense(sliceRows(masks.audioKeep, offset, size)),
      visionKeep: dense(sliceRows(masks.visionKeep, offset, size)),
      dictionary: dense(c.dictionary),
      prior: dense(c.prior),
    };
  });
  return out!;
}

function weightsOf(model: CiderModel): [string, Float32Array][] {
  return [...model.params].map(([n, v]) => [n, v.dataSync() as Float32Array]);
}

function addReplicaGrads(into: GradMap, grads: [string, Float32Array][], vars: Map<string, tf.Variable>): void {
  const add: GradMap = new Map();
  for (const [name, data] of grads) add.set(name, tf.tensor(data, vars.get(name)!.shape, 'float32'));
  accumulateGrads(into, add);
}

/** Await replies of the expected type; a rejection is rethrown after `onError`. */
async function replies<T extends FromReplica['type']>(
  p: Promise<FromReplica[]>,
  type: T,
): Promise<Extract<FromReplica, { type: T }>[]> {
  const rs = await p;
  for (const r of rs) if (r.type !== type) throw new Error(`replica worker answered ${r.type} to ${type}`);
  return rs as Extract<FromReplica, { type: T }>[];
}

/**
 * One MSSD step (as trainStep) with the batch's rows split over the pool's threads. Falls back
 * to trainStep when the batch yields a single share or the text source is trainable.
 */
export async function trainStepParallel(
  pool: ReplicaPool,
  model: CiderModel,
  optimizer: Adam,
  batch: TrainBatch,
  masks: MissingViewMasks,
  conf: Confounders,
  opts: TrainStepOptions = {},
): Promise<StepLosses> {
  if (pool.model !== model) throw new Error('trainStepParallel: the pool replicates another model');
  const B = batch.labels.shape[0];
  const shares = shareRows(B, pool.threads, opts.microBatchSize);
  if (shares.length < 2 || batch.text.variables.size > 0) return trainStep(model, optimizer, batch, masks, conf, opts);
  const vars = stepVariables(model, batch.text);
  const [, own] = shares[0];
  const others = shares.slice(1);
  const dropped = missingViewDropped(model, batch, masks);
  const data = others.map(([o, s]) => shareData(batch, masks, conf, o, s, B));
  // the calling thread's share as a batch of its own
  const mine = stepInputRows({ batch, masks, conf }, 0, own);
  const originals = new Set<tf.Tensor>(stepTensors({ batch, masks, conf }));
  const sliced = stepTensors(mine).filter((t) => !originals.has(t));
  /**
   * Dropout streams of one pass: the replicas' seeds, and what the calling thread runs its share
   * with (`done` then moves the step's rng past the replicas' draws and checks the count).
   */
  const dropoutFor = (drawsPerForward: number) => {
    const base = { microBatchSize: opts.microBatchSize, lossWeights: opts.lossWeights };
    const rng = opts.rng;
    if (!rng)
      return {
        replicas: others.map((): PassOptions => ({ ...base, dropoutSeed: null })),
        rng: null,
        done: () => undefined,
      };
    const s0 = rngState(rng);
    if (s0 === null)
      return {
        replicas: others.map((): PassOptions => ({ ...base, dropoutSeed: rng.int(0, 2 ** 31 - 1) })),
        rng,
        done: () => undefined,
      };
    const ownForwards = forwardsOf(own, opts.microBatchSize);
    let forwards = ownForwards;
    const replicas = others.map(([, size]): PassOptions => {
      const seed = (s0 + Math.imul(forwards * drawsPerForward, MULBERRY_STEP)) >>> 0;
      forwards += forwardsOf(size, opts.microBatchSize);
      return { ...base, dropoutSeed: seed };
    });
    const counter = new CountingRng(rng);
    const done = () => {
      if (counter.count !== ownForwards * drawsPerForward)
        throw new Error(
          `trainStepParallel: a forward drew ${counter.count / ownForwards} dropout seeds, ${drawsPerForward} were counted; the threads' dropout streams would overlap`,
        );
      for (let i = ownForwards * drawsPerForward; i < forwards * drawsPerForward; i++) rng.next();
    };
    return { replicas, rng: counter as Rng, done };
  };
  const share = { offset: 0, total: B };
  let fullGrads: GradMap = new Map();
  let teachers: ReturnType<typeof completeViewPass>['teachers'] = [];
  let pending: Promise<unknown> | null = null;
  try {
    // 1. complete view
    const weights1 = weightsOf(model);
    const drop1 = dropoutFor(pool.dropoutDraws.full);
    const p1 = pool.requestAll(
      data.map((share, i) => ({ type: 'full', weights: weights1, share, opts: drop1.replicas[i] })),
    );
    pending = p1.catch(() => undefined);
    const full = completeViewPass(model, mine.batch, mine.conf, { ...opts, rng: drop1.rng, share });
    fullGrads = full.grads;
    teachers = full.teachers;
    drop1.done();
    let taskFull = full.loss;
    for (const r of await replies(p1, 'full')) {
      taskFull += r.loss;
      addReplicaGrads(fullGrads, r.grads, vars);
    }
    pending = null;
    optimizer.step(vars, fullGrads);
    if (opts.mssd === false) return completeViewOnly(taskFull);
    if (opts.accumulateFullViewGrad === false) disposeGrads(fullGrads);

    // 2. missing view, on the updated weights
    const weights2 = weightsOf(model);
    const drop2 = dropoutFor(pool.dropoutDraws.missing);
    const p2 = pool.requestAll(
      data.map((_, i) => ({ type: 'missing', weights: weights2, dropped, opts: drop2.replicas[i] })),
    );
    pending = p2.catch(() => undefined);
    const miss = missingViewPass(model, mine.batch, mine.masks, mine.conf, teachers, {
      ...opts,
      rng: drop2.rng,
      share: { ...share, dropped },
    });
    const losses = { ...miss.losses };
    try {
      drop2.done();
      for (const r of await replies(p2, 'missing')) {
        for (const k of Object.keys(losses) as (keyof typeof losses)[]) losses[k] += r.losses[k];
        addReplicaGrads(miss.grads, r.grads, vars);
      }
      pending = null;
      // Reference quirk: step 2 applies both passes' gradients (see trainStep)
      accumulateGrads(miss.grads, fullGrads);
      fullGrads.clear();
      optimizer.step(vars, miss.grads);
    } finally {
      disposeGrads(miss.grads);
    }
    return { taskFull, ...losses };
  } finally {
    // a failed step: wait for the replicas to finish what they were doing, then drop their share
    if (pending) await pending;
    disposeGrads(fullGrads);
    for (const t of teachers) releaseTeacher(t);
    tf.dispose(sliced);
  }
}
