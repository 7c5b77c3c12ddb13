/**
 * Adam with PyTorch semantics and state keyed by parameter NAME.
 *
 * Why not tf.train.adam: it keeps its moments by position in the gradient list, and the CIDer
 * passes yield gradients for different parameter sets (the reconstruction heads only get
 * gradients in the missing-view pass), which breaks it. Like PyTorch, a parameter without a
 * gradient in a step is skipped entirely (its own step counter does not advance).
 *
 * Update (torch.optim.Adam, amsgrad off): g = grad + wd * p (L2, not AdamW);
 * m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; t += 1;
 * p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 */
import { tf } from '../backends/tf.js';

export interface ParamGroup {
  name: string;
  lr: number;
  weightDecay: number;
  /** does this group own the parameter? The first matching group wins. */
  match: (paramName: string) => boolean;
}

export interface AdamOptions {
  groups: ParamGroup[];
  beta1?: number;
  beta2?: number;
  /** PyTorch's default 1e-8 (tfjs defaults to 1e-7) */
  eps?: number;
}

interface SlotState {
  m: tf.Variable;
  v: tf.Variable;
  step: number;
}

/** BERT's fine-tuning convention: no decay on biases and LayerNorm weights. */
export function isNoDecay(name: string): boolean {
  return /bias|LayerNorm\.weight|LayerNorm\.bias/.test(name);
}

/**
 * The paper's groups (spec 4): BERT (`isBert`) at lr 5e-5 with weight decay 0.001 except
 * bias/LayerNorm; everything else at lr 1e-3 without decay.
 */
export function ciderParamGroups(
  isBert: (name: string) => boolean,
  lr = { bert: 5e-5, other: 1e-3 },
  bertDecay = 0.001,
): ParamGroup[] {
  return [
    { name: 'bert-decay', lr: lr.bert, weightDecay: bertDecay, match: (n) => isBert(n) && !isNoDecay(n) },
    { name: 'bert-no-decay', lr: lr.bert, weightDecay: 0, match: (n) => isBert(n) && isNoDecay(n) },
    { name: 'other', lr: lr.other, weightDecay: 0, match: () => true },
  ];
}

export class Adam {
  readonly groups: ParamGroup[];
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  private state = new Map<string, SlotState>();

  constructor(opts: AdamOptions) {
    if (!opts.groups.length) throw new Error('Adam: at least one parameter group is needed');
    this.groups = opts.groups;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
  }

  groupOf(name: string): ParamGroup {
    const g = this.groups.find((gr) => gr.match(name));
    if (!g) throw new Error(`Adam: no parameter group matches ${name}`);
    return g;
  }

  /** Steps taken by a parameter (0 if it never had a gradient). */
  stepsOf(name: string): number {
    return this.state.get(name)?.step ?? 0;
  }

  /**
   * Apply one update. `grads` maps parameter names to gradients; names absent from it are
   * skipped. Gradients are not disposed (the caller owns them).
   */
  step(vars: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>): void {
    for (const [name, g] of grads) {
      const p = vars.get(name);
      if (!p) throw new Error(`Adam: gradient for unknown parameter ${name}`);
      if (!g.shape.every((s, i) => s === p.shape[i]) || g.rank !== p.rank)
        throw new Error(
          `Adam: gradient of ${name} has shape [${g.shape.join(', ')}], parameter is [${p.shape.join(', ')}]`,
        );
      const group = this.groupOf(name);
      let s = this.state.get(name);
      if (!s) {
        s = {
          m: tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
          v: tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
          step: 0,
        };
        this.state.set(name, s);
      }
      s.step += 1;
      const t = s.step;
      const slot = s;
      tf.tidy(() => {
        const grad = group.weightDecay ? tf.add(g, tf.mul(p, group.weightDecay)) : g;
        const m = tf.add(tf.mul(slot.m, this.beta1), tf.mul(grad, 1 - this.beta1));
        const v = tf.add(tf.mul(slot.v, this.beta2), tf.mul(tf.square(grad), 1 - this.beta2));
        const stepSize = group.lr / (1 - Math.pow(this.beta1, t));
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(1 - Math.pow(this.beta2, t))), this.eps);
        slot.m.assign(m);
        slot.v.assign(v);
        p.assign(tf.sub(p, tf.mul(tf.div(m, denom), stepSize)));
      });
    }
  }

  /** Moments and step counts by name, e.g. to checkpoint a run. */
  async exportState(): Promise<Map<string, { m: Float32Array; v: Float32Array; step: number }>> {
    const out = new Map<string, { m: Float32Array; v: Float32Array; step: number }>();
    for (const [name, s] of this.state)
      out.set(name, { m: (await s.m.data()) as Float32Array, v: (await s.v.data()) as Float32Array, step: s.step });
    return out;
  }

  /**
   * Restore moments and step counts saved by exportState (resuming a run). Existing state is
   * replaced; `vars` gives each parameter's shape, and a saved slot of another size is refused.
   */
  importState(
    vars: Map<string, tf.Variable>,
    saved: Map<string, { m: Float32Array; v: Float32Array; step: number }>,
  ): void {
    this.dispose();
    for (const [name, s] of saved) {
      const p = vars.get(name);
      if (!p) throw new Error(`Adam: saved state for unknown parameter ${name}`);
      if (s.m.length !== p.size || s.v.length !== p.size)
        throw new Error(`Adam: saved state of ${name} has ${s.m.length} values, parameter has ${p.size}`);
      const m = tf.tensor(s.m, p.shape, 'float32');
      const v = tf.tensor(s.v, p.shape, 'float32');
      this.state.set(name, { m: tf.variable(m, false), v: tf.variable(v, false), step: s.step });
      tf.dispose([m, v]);
    }
  }

  dispose(): void {
    for (const s of this.state.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.state.clear();
  }
}
