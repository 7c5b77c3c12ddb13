/**
 * Missing-modality protocols (spec section 3): seeded KEEP masks for text, audio and vision, and
 * the "missing view" they make of a batch.
 *
 * Mask conventions (shared with the training code, whose reconstruction loss needs
 * dropped = valid - keep):
 * - A keep mask is a Uint8Array of shape (B, T) row-major: 1 = a valid position that is kept,
 *   0 = a valid position that is dropped OR padding. So keep is always a subset of valid.
 * - Valid positions are prefixes: text 0..len-1 (len = attention-mask sum, [CLS] at 0, [SEP] at
 *   len-1); unaligned audio/vision 0..audioLengths[b]-1 / 0..visionLengths[b]-1; aligned
 *   audio/vision share the text's lengths (spec 1).
 * - Only text protects [CLS] and [SEP]. Audio and vision frames are all droppable, including the
 *   frames at steps 0 and len-1 of aligned data (as the reference's audio/vision masks do), except
 *   in TMFM/STMFM where one time mask is shared and so also spares steps 0 and len-1.
 * - A rate p drops a position when p > 0 and u <= p with u ~ U[0,1): the reference's rule
 *   (drop when u <= rate), plus a guard so rate 0 keeps everything even when u is exactly 0.
 *
 * Reproducibility: evaluation masks come from a root Rng (seed 1111 by default) and every sample
 * draws from its own child stream, labelled by protocol, modality and its index in the split
 * (firstSample + b). So a sample's mask does not depend on the batch size or on which batch it is
 * in, and with one seed the masks of a sweep are nested: every position dropped at rate p is also
 * dropped at any higher rate (same u, larger threshold), which keeps sweep curves smooth.
 * RMFM_same and SMM draw from the same streams as RMFM, so RMFM_same(p, p, p) == RMFM(p).
 */
import { Rng } from '../random';
import { badArgument, requireInteger, requireLength, requireRate } from './errors';
import { roundHalfToEven } from './labels';

/** Special token ids of bert-base-uncased (spec 1). */
export const PAD_ID = 0;
export const UNK_ID = 100;
export const CLS_ID = 101;
export const SEP_ID = 102;
export const MASK_ID = 103;
export const SPECIAL_TOKEN_IDS: ReadonlySet<number> = new Set([PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID]);

/** The default evaluation seed of the reference (spec 3). */
export const DEFAULT_EVAL_SEED = 1111;

export interface MissingLayout {
  /** samples in this batch (or the whole split) */
  batch: number;
  /** L: text steps */
  textSteps: number;
  /** Ta: audio steps (= L when aligned) */
  audioSteps: number;
  /** Tv: vision steps (= L when aligned) */
  visionSteps: number;
  /** per-sample valid text length (attention-mask sum, >= 2 for [CLS] and [SEP]) */
  textLengths: ArrayLike<number>;
  /** per-sample valid audio frames; required for unaligned data, ignored when aligned */
  audioLengths?: ArrayLike<number>;
  /** per-sample valid vision frames; required for unaligned data, ignored when aligned */
  visionLengths?: ArrayLike<number>;
  /** aligned data: one time axis shared by all three modalities */
  aligned: boolean;
  /** index of this batch's first sample in the split, so draws do not depend on batching (default 0) */
  firstSample?: number;
}

export interface KeepMasks {
  /** (B, L): 1 kept, 0 dropped or padding */
  text: Uint8Array;
  /** (B, Ta) */
  audio: Uint8Array;
  /** (B, Tv) */
  vision: Uint8Array;
}

export type Modality = 'text' | 'audio' | 'vision';
export const MODALITIES: readonly Modality[] = ['text', 'audio', 'vision'];

/** SMM subsets, named by the modalities KEPT (T text, A audio, V vision): the seven non-empty subsets. */
export const SMM_SUBSETS = ['T', 'A', 'V', 'TA', 'TV', 'AV', 'TAV'] as const;
export type SmmSubset = (typeof SMM_SUBSETS)[number];

export interface ModalityRates {
  text: number;
  audio: number;
  vision: number;
}

/** One evaluation protocol with its parameters. */
export type MissingProtocol =
  | { kind: 'RMFM'; rate: number }
  | { kind: 'RMFM_same'; rates: ModalityRates }
  | { kind: 'SMM'; keep: SmmSubset }
  | { kind: 'RMM'; rate: number }
  | { kind: 'TMFM'; rate: number }
  | { kind: 'STMFM'; rate: number };

/** Protocols with a single rate, the ones a sweep over p runs. */
export const SWEEP_PROTOCOLS = ['RMFM', 'RMM', 'TMFM', 'STMFM'] as const;
export type SweepProtocolName = (typeof SWEEP_PROTOCOLS)[number];
export const ALIGNED_ONLY_PROTOCOLS: readonly MissingProtocol['kind'][] = ['TMFM', 'STMFM'];

/** The protocol of a sweep at one rate, e.g. from `cider eval --protocol RMFM --rates 0:1:0.1`. */
export function sweepProtocol(name: string, rate: number): MissingProtocol {
  if (!(SWEEP_PROTOCOLS as readonly string[]).includes(name)) {
    throw badArgument(
      'sweepProtocol',
      'name',
      `must be one of ${SWEEP_PROTOCOLS.join(', ')} (RMFM_same and SMM take per-modality settings), got "${name}"`,
    );
  }
  requireRate('sweepProtocol', 'rate', rate);
  return { kind: name as SweepProtocolName, rate };
}

/** RMFM_same rates of an SMM subset: 0 for kept modalities, 1 for missing ones; e.g. 'T' -> (0, 1, 1). */
export function smmRates(keep: SmmSubset): ModalityRates {
  if (!(SMM_SUBSETS as readonly string[]).includes(keep))
    throw badArgument('smmRates', 'keep', `must be one of ${SMM_SUBSETS.join(', ')}, got "${String(keep)}"`);
  return { text: keep.includes('T') ? 0 : 1, audio: keep.includes('A') ? 0 : 1, vision: keep.includes('V') ? 0 : 1 };
}

interface CheckedLayout {
  batch: number;
  steps: Record<Modality, number>;
  lengths: Record<Modality, Int32Array>;
  aligned: boolean;
  firstSample: number;
}

function checkLayout(fn: string, layout: MissingLayout): CheckedLayout {
  requireInteger(fn, 'layout.batch', layout.batch, 0);
  requireInteger(fn, 'layout.textSteps', layout.textSteps, 2);
  requireInteger(fn, 'layout.audioSteps', layout.audioSteps, 1);
  requireInteger(fn, 'layout.visionSteps', layout.visionSteps, 1);
  const firstSample = layout.firstSample ?? 0;
  requireInteger(fn, 'layout.firstSample', firstSample, 0);
  const B = layout.batch;
  const toLengths = (name: string, xs: ArrayLike<number> | undefined, steps: number, min: number): Int32Array => {
    if (xs === undefined) throw badArgument(fn, `layout.${name}`, 'is required for unaligned data');
    requireLength(fn, `layout.${name}`, xs.length, B, '(B,)');
    const out = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const len = xs[b];
      if (!Number.isInteger(len) || len < min || len > steps)
        throw badArgument(fn, `layout.${name}[${b}]`, `must be an integer in ${min}..${steps}, got ${len}`);
      out[b] = len;
    }
    return out;
  };
  const text = toLengths('textLengths', layout.textLengths, layout.textSteps, 2);
  if (layout.aligned) {
    if (layout.audioSteps !== layout.textSteps || layout.visionSteps !== layout.textSteps) {
      throw badArgument(
        fn,
        'layout',
        `is aligned but audioSteps=${layout.audioSteps}, visionSteps=${layout.visionSteps} differ from textSteps=${layout.textSteps}`,
      );
    }
    return {
      batch: B,
      steps: { text: layout.textSteps, audio: layout.textSteps, vision: layout.textSteps },
      lengths: { text, audio: text, vision: text },
      aligned: true,
      firstSample,
    };
  }
  return {
    batch: B,
    steps: { text: layout.textSteps, audio: layout.audioSteps, vision: layout.visionSteps },
    lengths: {
      text,
      audio: toLengths('audioLengths', layout.audioLengths, layout.audioSteps, 0),
      vision: toLengths('visionLengths', layout.visionLengths, layout.visionSteps, 0),
    },
    aligned: false,
    firstSample,
  };
}

/** First and last droppable step of a modality for one sample (text spares [CLS] and [SEP]). */
function droppableRange(modality: Modality, len: number): [number, number] {
  return modality === 'text' ? [1, len - 2] : [0, len - 1];
}

/** 1 at every valid position (the input mask), 0 at padding; dropped = valid - keep. */
export function validityMasks(layout: MissingLayout): KeepMasks {
  const l = checkLayout('validityMasks', layout);
  const make = (m: Modality) => {
    const T = l.steps[m];
    const out = new Uint8Array(l.batch * T);
    for (let b = 0; b < l.batch; b++) out.fill(1, b * T, b * T + l.lengths[m][b]);
    return out;
  };
  return { text: make('text'), audio: make('audio'), vision: make('vision') };
}

/** Per-sample valid text lengths from (B, 3, L) text input, checking the mask is a prefix of length >= 2. */
export function textLengthsFromInput(text: ArrayLike<number>, batch: number, textSteps: number): Int32Array {
  requireLength('textLengthsFromInput', 'text', text.length, batch * 3 * textSteps, `(B=${batch}, 3, L=${textSteps})`);
  const out = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    const maskRow = b * 3 * textSteps + textSteps;
    let len = 0;
    while (len < textSteps && text[maskRow + len] === 1) len++;
    for (let t = len; t < textSteps; t++) {
      if (text[maskRow + t] !== 0)
        throw badArgument(
          'textLengthsFromInput',
          `text[${b}, 1, :]`,
          'is not a prefix attention mask (1 ... 1 0 ... 0)',
        );
    }
    if (len < 2)
      throw badArgument(
        'textLengthsFromInput',
        `text[${b}, 1, :]`,
        `has ${len} valid positions; [CLS] and [SEP] need at least 2`,
      );
    out[b] = len;
  }
  return out;
}

function rateDrops(p: number, u: number): boolean {
  return p > 0 && u <= p;
}

function rootRng(seedOrRng: number | Rng): Rng {
  if (typeof seedOrRng === 'number') {
    requireInteger('missingMasks', 'seed', seedOrRng, 0);
    return new Rng(seedOrRng);
  }
  return seedOrRng;
}

/** keep = valid, then each droppable position of each modality drops independently at its rate. */
function perPositionMasks(l: CheckedLayout, rates: ModalityRates, root: Rng): KeepMasks {
  const masks = {} as KeepMasks;
  for (const m of MODALITIES) {
    const T = l.steps[m];
    const keep = new Uint8Array(l.batch * T);
    const stream = root.child(`RMFM:${m}`);
    for (let b = 0; b < l.batch; b++) {
      const len = l.lengths[m][b];
      keep.fill(1, b * T, b * T + len);
      const sample = stream.child(String(l.firstSample + b));
      const [lo, hi] = droppableRange(m, len);
      // one draw per grid step (padding included) so the draw of step t does not depend on the length
      for (let t = 0; t < T; t++) {
        const u = sample.next();
        if (t >= lo && t <= hi && rateDrops(rates[m], u)) keep[b * T + t] = 0;
      }
    }
    masks[m] = keep;
  }
  return masks;
}

function rmmMasks(l: CheckedLayout, p: number, root: Rng): KeepMasks {
  const masks = {} as KeepMasks;
  for (const m of MODALITIES) {
    const T = l.steps[m];
    const keep = new Uint8Array(l.batch * T);
    const stream = root.child(`RMM:${m}`);
    for (let b = 0; b < l.batch; b++) {
      const len = l.lengths[m][b];
      if (rateDrops(p, stream.child(String(l.firstSample + b)).next())) {
        // a dropped text keeps only [CLS] and [SEP]; a dropped audio/vision keeps nothing
        if (m === 'text') {
          keep[b * T] = 1;
          keep[b * T + len - 1] = 1;
        }
      } else {
        keep.fill(1, b * T, b * T + len);
      }
    }
    masks[m] = keep;
  }
  return masks;
}

/** Aligned protocols: build one (B, L) time mask and copy it to the three modalities. */
function sharedTimeMasks(l: CheckedLayout, kind: 'TMFM' | 'STMFM', p: number, root: Rng): KeepMasks {
  const L = l.steps.text;
  const time = new Uint8Array(l.batch * L);
  const stream = root.child(`${kind}:time`);
  for (let b = 0; b < l.batch; b++) {
    const len = l.lengths.text[b];
    time.fill(1, b * L, b * L + len);
    const sample = stream.child(String(l.firstSample + b));
    if (kind === 'TMFM') {
      for (let t = 0; t < L; t++) {
        const u = sample.next();
        if (t >= 1 && t <= len - 2 && rateDrops(p, u)) time[b * L + t] = 0;
      }
    } else {
      // Python's round (half to even) as in the reference; the block spans start..start+blockLength-1
      // and start < len - blockLength, so it never reaches [SEP] at len-1 nor [CLS] at 0.
      const blockLength = roundHalfToEven((len - 2) * p);
      if (blockLength > 0) {
        const start = sample.int(1, len - blockLength);
        time.fill(0, b * L + start, b * L + start + blockLength);
      }
    }
  }
  return { text: time, audio: time.slice(), vision: time.slice() };
}

/**
 * Evaluation keep masks of one protocol, seeded (default 1111). Throws for TMFM/STMFM on unaligned
 * data: they need one time axis shared by the three modalities.
 */
export function missingMasks(
  layout: MissingLayout,
  protocol: MissingProtocol,
  seed: number | Rng = DEFAULT_EVAL_SEED,
): KeepMasks {
  const fn = 'missingMasks';
  const l = checkLayout(fn, layout);
  const root = rootRng(seed);
  switch (protocol.kind) {
    case 'RMFM':
      requireRate(fn, 'protocol.rate', protocol.rate);
      return perPositionMasks(l, { text: protocol.rate, audio: protocol.rate, vision: protocol.rate }, root);
    case 'RMFM_same':
      requireRate(fn, 'protocol.rates.text', protocol.rates.text);
      requireRate(fn, 'protocol.rates.audio', protocol.rates.audio);
      requireRate(fn, 'protocol.rates.vision', protocol.rates.vision);
      return perPositionMasks(l, protocol.rates, root);
    case 'SMM':
      return perPositionMasks(l, smmRates(protocol.keep), root);
    case 'RMM':
      requireRate(fn, 'protocol.rate', protocol.rate);
      return rmmMasks(l, protocol.rate, root);
    case 'TMFM':
    case 'STMFM':
      requireRate(fn, 'protocol.rate', protocol.rate);
      if (!l.aligned) {
        throw badArgument(
          fn,
          'protocol',
          `${protocol.kind} needs aligned data (one time mask shared by text, audio and vision), but this data is unaligned ` +
            `(L=${l.steps.text}, Ta=${l.steps.audio}, Tv=${l.steps.vision}); use RMFM, RMFM_same, SMM or RMM`,
        );
      }
      return sharedTimeMasks(l, protocol.kind, protocol.rate, root);
    default:
      throw badArgument(
        fn,
        'protocol.kind',
        `must be one of RMFM, RMFM_same, SMM, RMM, TMFM, STMFM, got "${String((protocol as { kind: unknown }).kind)}"`,
      );
  }
}

/**
 * RMFM training masks (spec 3/4): every droppable position draws its own rate r ~ U(0,1) and is
 * dropped when u ~ U(0,1) <= r. Draws are taken in order from `rng`, which advances, so passing
 * the same stream at every step gives a fresh mask per sample per step; seed that stream from the
 * run's seed (e.g. new Rng(1111).child('missing')) and the run reproduces.
 */
export function trainingMissingMasks(layout: MissingLayout, rng: Rng): KeepMasks {
  const l = checkLayout('trainingMissingMasks', layout);
  const masks = {} as KeepMasks;
  for (const m of MODALITIES) {
    const T = l.steps[m];
    const keep = new Uint8Array(l.batch * T);
    for (let b = 0; b < l.batch; b++) {
      const len = l.lengths[m][b];
      keep.fill(1, b * T, b * T + len);
      const [lo, hi] = droppableRange(m, len);
      for (let t = lo; t <= hi; t++) {
        const r = rng.next();
        const u = rng.next();
        if (u <= r) keep[b * T + t] = 0;
      }
    }
    masks[m] = keep;
  }
  return masks;
}

/** A batch as the model reads it. */
export interface MultimodalBatch {
  /** (B, 3, L) int32: token ids, attention mask, segment ids */
  text: Int32Array;
  /** (B, Ta, da) */
  audio: Float32Array;
  /** (B, Tv, dv) */
  vision: Float32Array;
}

function checkMask(fn: string, name: string, keep: Uint8Array, valid: Uint8Array, shape: string): void {
  requireLength(fn, name, keep.length, valid.length, shape);
  for (let i = 0; i < keep.length; i++) {
    if (keep[i] === 1 && valid[i] !== 1)
      throw badArgument(fn, name, `keeps padding position ${i}; a keep mask must be a subset of the valid positions`);
  }
}

/**
 * The missing view of a batch: dropped text tokens become [UNK] (100) with the attention mask left
 * at 1 (the model still attends to them, as in the reference), dropped audio/vision frames are
 * zeroed; padding and kept positions are untouched. Returns new arrays.
 */
export function missingView(input: MultimodalBatch, layout: MissingLayout, keep: KeepMasks): MultimodalBatch {
  const fn = 'missingView';
  const l = checkLayout(fn, layout);
  const valid = validityMasks(layout);
  const B = l.batch;
  const L = l.steps.text;
  requireLength(fn, 'input.text', input.text.length, B * 3 * L, `(B=${B}, 3, L=${L})`);
  checkMask(fn, 'keep.text', keep.text, valid.text, `(B=${B}, L=${L})`);
  checkMask(fn, 'keep.audio', keep.audio, valid.audio, `(B=${B}, Ta=${l.steps.audio})`);
  checkMask(fn, 'keep.vision', keep.vision, valid.vision, `(B=${B}, Tv=${l.steps.vision})`);
  const text = input.text.slice();
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < L; t++) {
      if (valid.text[b * L + t] === 1 && keep.text[b * L + t] === 0) text[b * 3 * L + t] = UNK_ID;
    }
  }
  const zeroFrames = (name: 'audio' | 'vision', frames: Float32Array): Float32Array => {
    const T = l.steps[name];
    if (B === 0) return frames.slice();
    if (frames.length % (B * T) !== 0)
      throw badArgument(fn, `input.${name}`, `has ${frames.length} values, not a multiple of B*T=${B}*${T}`);
    const dim = frames.length / (B * T);
    const out = frames.slice();
    const k = keep[name];
    const v = valid[name];
    for (let i = 0; i < B * T; i++) if (v[i] === 1 && k[i] === 0) out.fill(0, i * dim, (i + 1) * dim);
    return out;
  };
  return { text, audio: zeroFrames('audio', input.audio), vision: zeroFrames('vision', input.vision) };
}

/** Fraction of droppable positions that a mask drops, per modality (for tests and the UI's summary). */
export function dropFractions(layout: MissingLayout, keep: KeepMasks): ModalityRates {
  const l = checkLayout('dropFractions', layout);
  const out = { text: NaN, audio: NaN, vision: NaN };
  for (const m of MODALITIES) {
    const T = l.steps[m];
    let droppable = 0;
    let dropped = 0;
    for (let b = 0; b < l.batch; b++) {
      const [lo, hi] = droppableRange(m, l.lengths[m][b]);
      for (let t = lo; t <= hi; t++) {
        droppable++;
        if (keep[m][b * T + t] === 0) dropped++;
      }
    }
    out[m] = droppable === 0 ? NaN : dropped / droppable;
  }
  return out;
}
