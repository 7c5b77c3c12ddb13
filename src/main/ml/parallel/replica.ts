/**
 * A replica worker of the data-parallel training step (see pool.ts): holds a copy of the CIDer
 * weights, and per pass receives the current weights and its share of the batch, runs the same
 * pass functions as the single-thread step on that share (normalised by the whole batch), and
 * returns the share's losses and gradients as Float32Arrays. It keeps its share's complete-view
 * teachers between the two passes. The optimizer lives on the owning thread only.
 */
import { parentPort } from 'node:worker_threads';
import { initBackend, tf } from '../backends/tf.js';
import { Rng } from '../random.js';
import { CiderModel, viewInputs, viewTensors } from '../model/cider.js';
import type { CiderParams } from '../model/params.js';
import { precomputedText } from '../train/text.js';
import {
  completeViewPass,
  disposeGrads,
  missingViewMasks,
  missingViewPass,
  releaseTeacher,
  type GradMap,
  type MissingViewMasks,
  type Teacher,
  type TrainBatch,
} from '../train/step.js';
import type { Confounders } from '../model/cider.js';
import type { Dense, FromReplica, PassOptions, ToReplica } from './protocol.js';

if (!parentPort) throw new Error('ml/parallel/replica.ts must run in a worker thread');
const port = parentPort;

let model: CiderModel | null = null;
interface Held {
  offset: number;
  total: number;
  batch: TrainBatch;
  masks: MissingViewMasks;
  conf: Confounders;
  owned: tf.Tensor[];
  teachers: Teacher[];
}
let held: Held | null = null;

const tensorOf = (d: Dense, dtype: 'float32' | 'int32' = 'float32') => tf.tensor(d.data, d.shape, dtype);

function release(): void {
  if (!held) return;
  for (const t of held.teachers) releaseTeacher(t);
  tf.dispose(held.owned);
  held = null;
}

function setWeights(weights: [string, Float32Array][]): void {
  const params = model!.params;
  for (const [name, data] of weights) {
    const v = params.get(name);
    if (!v) throw new Error(`replica: unknown parameter ${name}`);
    const t = tf.tensor(data, v.shape, 'float32');
    v.assign(t);
    t.dispose();
  }
}

function gradArrays(g: GradMap): [string, Float32Array][] {
  const out: [string, Float32Array][] = [];
  for (const [name, t] of g) out.push([name, Float32Array.from(t.dataSync() as Float32Array)]);
  disposeGrads(g);
  return out;
}

const rngOf = (o: PassOptions) => (o.dropoutSeed === null ? null : new Rng(o.dropoutSeed));

async function handle(msg: ToReplica): Promise<FromReplica> {
  if (msg.type === 'init') {
    const choice = await initBackend(msg.backend);
    const params: CiderParams = new Map();
    for (const [name, shape] of msg.shapes) {
      const z = tf.zeros(shape);
      params.set(name, tf.variable(z, true));
      z.dispose();
    }
    model = new CiderModel(msg.config, params);
    return { type: 'ready', backend: choice.name };
  }
  if (msg.type === 'release') {
    release();
    return { type: 'released', numTensors: tf.memory().numTensors };
  }
  if (!model) throw new Error('replica: not initialised');
  if (msg.type === 'full') {
    release();
    const s = msg.share;
    const text = tensorOf(s.text) as tf.Tensor3D;
    const textMissing = tensorOf(s.textMissing) as tf.Tensor3D;
    const B = s.textLengths.length;
    const f32 = (d: Dense) => d.data as Float32Array;
    const view = viewInputs(
      model.config,
      B,
      {
        textMask: f32(s.textMask),
        textLengths: s.textLengths,
        audio: f32(s.audio),
        audioMask: f32(s.audioMask),
        vision: f32(s.vision),
        visionMask: f32(s.visionMask),
      },
      precomputedText(text, textMissing),
    );
    const batch: TrainBatch = { ...view, labels: tensorOf(s.labels, 'int32') as tf.Tensor1D };
    const masks: MissingViewMasks = missingViewMasks(model.config, B, {
      text: f32(s.textKeep),
      audio: f32(s.audioKeep),
      vision: f32(s.visionKeep),
    });
    const conf: Confounders = {
      dictionary: tensorOf(s.dictionary) as tf.Tensor2D,
      prior: tensorOf(s.prior) as tf.Tensor1D,
    };
    const owned = [
      text,
      textMissing,
      ...viewTensors(view),
      batch.labels,
      masks.textKeep,
      masks.audioKeep,
      masks.visionKeep,
      conf.dictionary,
      conf.prior,
    ];
    held = { offset: s.offset, total: s.total, batch, masks, conf, owned, teachers: [] };
    setWeights(msg.weights);
    const r = completeViewPass(model, batch, conf, {
      rng: rngOf(msg.opts),
      microBatchSize: msg.opts.microBatchSize,
      share: { offset: s.offset, total: s.total },
    });
    held.teachers = r.teachers;
    return { type: 'full', loss: r.loss, grads: gradArrays(r.grads), numTensors: tf.memory().numTensors };
  }
  // missing view: needs the teachers of this share's complete view
  if (!held) throw new Error('replica: missing-view pass without a complete-view pass');
  setWeights(msg.weights);
  const h = held;
  try {
    const r = missingViewPass(model, h.batch, h.masks, h.conf, h.teachers, {
      rng: rngOf(msg.opts),
      microBatchSize: msg.opts.microBatchSize,
      lossWeights: msg.opts.lossWeights,
      share: { offset: h.offset, total: h.total, dropped: msg.dropped },
    });
    const grads = gradArrays(r.grads);
    return { type: 'missing', losses: r.losses, grads, numTensors: 0 };
  } finally {
    release();
  }
}

// one request at a time, in order
let queue: Promise<void> = Promise.resolve();
port.on('message', (msg: ToReplica) => {
  queue = queue.then(async () => {
    let reply: FromReplica;
    try {
      reply = await handle(msg);
      if (reply.type === 'missing') reply.numTensors = tf.memory().numTensors;
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      reply = { type: 'error', message: err.message, stack: err.stack };
    }
    port.postMessage(reply);
  });
});
