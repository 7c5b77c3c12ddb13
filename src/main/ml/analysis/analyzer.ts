/**
 * A trained run opened for per-sample analysis: the inspector (class probabilities, exact
 * modality Shapley values, last-layer attention summaries, WSAM maps) and the counterfactual text
 * editor. Everything for one sample goes through the run's inference engine as ONE small batch
 * (the 8 coalitions, or the factual and counterfactual views), in eval mode with the evaluation
 * confounders. The engine is chosen as prediction chooses it (runs/engine.ts openRunEngine: ONNX
 * Runtime when the checkpoint's export lies beside it, else TF.js), and every number shown comes
 * from its outputs: log-probabilities, the WSAM maps, and the last layer's full attention weights
 * of the one row the inspector details (InferenceOptions.attentionRows). No explanation needs
 * gradients, so none is left on TF.js; only the text features (TextProvider, BERT) are computed
 * before the engine, as for prediction.
 *
 * Removing a modality is the missing protocols' masking (spec 3) applied on top of the
 * simulator's view, through eval/missing.ts's `missingView`: text -> [UNK] except [CLS]/[SEP],
 * frames zeroed. Text features come from the run's TextProvider (runs/text.ts), so a
 * features-mode run zeroes dropped tokens' features (its `note` says so) and cannot score a
 * counterfactual text, exactly as the runs code decides.
 */
import { existsSync } from 'node:fs';
import type { TokenView } from '../../../shared/contract/analysis';
import { initBackend } from '../backends/tf';
import { FeatureStore, type SplitName } from '../../data/featureStore';
import type { CiderConfig } from '../model/config';
import { openRunEngine, type RunEngine } from '../runs/engine';
import { biasDictionary, counterfactualText, debiasedScores, tauGrid, type BiasDictionary } from '../eval/maci';
import {
  DEFAULT_EVAL_SEED,
  missingMasks,
  missingView,
  SPECIAL_TOKEN_IDS,
  MASK_ID,
  UNK_ID,
  type KeepMasks,
  type MissingLayout,
  type ModalityRates,
} from '../eval/missing';
import { loadCheckpoint, type RunState } from '../runs/checkpoint';
import { openSplit, readBatch, type BatchArrays } from '../runs/data';
import { openTextProvider, type TextProvider } from '../runs/text';
import { inspectModelFolder, WordPieceTokenizer } from '../text';
import { coalitionName, exactShapley, SHAPLEY_PLAYERS } from './shapley';
import { summariseAttention, type AttentionSummary } from './attentionSummary';

/** One sample as the model reads it, whatever it came from (a dataset row or a clip). */
export interface SampleInput {
  label: string;
  /** (3, L): ids, attention mask, segment ids */
  ids3: Int32Array;
  /** (L, dl) the dataset's precomputed text features, or null */
  features: Float32Array | null;
  /** (Ta, da), (Tv, dv) */
  audio: Float32Array;
  vision: Float32Array;
  textLength: number;
  audioLength: number;
  visionLength: number;
  truth: number | null;
  /** the sample's index in its split: evaluation masks draw from its own stream (0 for clips) */
  streamIndex: number;
  rawText: string;
}

/** The simulator's setting (same shape as the contract's MissingSetting). */
export type SimulatorSetting =
  | { mode: 'complete' }
  | { mode: 'toggles'; text: boolean; audio: boolean; vision: boolean }
  | {
      mode: 'rates';
      text: number;
      audio: number;
      vision: number;
      seed: number;
    };

/** a token as the inspector and the counterfactual editor show it: the contract's TokenView */
export type TokenInfo = TokenView;

export interface SampleExplanation {
  probabilities: number[];
  prediction: number;
  shapley: Record<(typeof SHAPLEY_PLAYERS)[number], number[]>;
  subsets: Record<string, number[]>;
  tokens: TokenInfo[];
  dropped: Record<(typeof SHAPLEY_PLAYERS)[number], number>;
  attention: AttentionSummary;
  wsam: { audio: number[][]; vision: number[][]; words: number[] } | null;
}

export interface DebiasedPoint {
  tau: number;
  probabilities: number[];
  prediction: number;
}

export interface SampleCounterfactual {
  available: boolean;
  reason: string | null;
  automatic: TokenInfo[];
  scored: TokenInfo[];
  factual: number[];
  counterfactual: number[] | null;
  taus: number[];
  debiased: DebiasedPoint[];
}

export class AnalysisError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AnalysisError';
  }
}

const round = (x: number, digits = 5) => Number(x.toFixed(digits));
const softmax = (scores: ArrayLike<number>): number[] => {
  const m = Math.max(...Array.from(scores));
  const e = Array.from(scores, (s) => Math.exp(s - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
};
const argmax = (xs: readonly number[]) => xs.reduce((best, x, i) => (x > xs[best] ? i : best), 0);

/** Lower-cased words and punctuation, the split the datasets service aligns ids with (services/datasets.ts basicWords). */
function rawWords(text: string): string[] {
  const clean = text
    .toLowerCase()
    .normalize('NFD')
    .replace(/\p{Mn}/gu, '');
  return clean.match(/[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu) ?? [];
}

export interface AnalyzerOpenOptions {
  checkpointFile: string;
  /** the run's dataset: the bias-word dictionary comes from its TRAINING split */
  datasetDir: string;
  cacheDir?: string;
  /** which engine: 'auto' (default) as prediction chooses, or one forced (tests, CIDER_ENGINE) */
  prefer?: 'auto' | 'onnx' | 'tfjs';
}

export class RunAnalyzer {
  readonly state: RunState;
  readonly config: CiderConfig;
  readonly classes: number;
  readonly L: number;
  private constructor(
    /** the run's inference engine with the evaluation confounders (averaged dictionary, uniform prior) */
    readonly run: RunEngine,
    readonly text: TextProvider,
    readonly dictionary: BiasDictionary,
    readonly tokenizer: WordPieceTokenizer | null,
    state: RunState,
  ) {
    this.state = state;
    this.config = run.engine.config;
    this.classes = this.config.classes;
    this.L = this.config.textLength;
  }

  /** 'onnx' or 'tfjs-<backend>': shown with every explanation */
  get engine(): string {
    return this.run.name;
  }

  /** Open a run's checkpoint and its engine; the bias-word dictionary comes from the TRAINING split of `datasetDir` (the run's dataset). */
  static async open(o: AnalyzerOpenOptions): Promise<RunAnalyzer> {
    // the text provider (BERT) runs on TF.js whichever engine runs CIDer
    await initBackend();
    const ckpt = loadCheckpoint(o.checkpointFile);
    const { options, ciderConfig: cfg } = ckpt.state;
    const store = await FeatureStore.open(o.datasetDir);
    let text: TextProvider | undefined;
    let run: RunEngine | undefined;
    try {
      const train = await openSplit(store, 'train', options.task);
      const dictionary = biasDictionary(train.ids3, train.count, train.L, { classes: train.labels }, options.task);
      text = await openTextProvider({
        spec: options.text,
        L: cfg.textLength,
        datasetDl: train.dl,
        cacheDir: o.cacheDir,
        bertWeights: ckpt.bert ?? undefined,
      });
      run = await openRunEngine(o.checkpointFile, ckpt, o.prefer);
      if (!run.engine.explains) {
        // an export made before the explanation outputs: predict with it, explain on TF.js
        if (o.prefer === 'onnx')
          throw new AnalysisError(
            `${run.detail}: the export has no attention_weights output; re-export the checkpoint`,
          );
        const old = run;
        run = undefined;
        await old.engine.dispose();
        run = await openRunEngine(o.checkpointFile, ckpt, 'tfjs');
        run.detail += ` (the ONNX export predates the explanation outputs: re-export the checkpoint to explain on ONNX Runtime)`;
      }
      let tokenizer: WordPieceTokenizer | null = null;
      if (options.text.kind !== 'features') {
        const report = await inspectModelFolder(options.text.modelDir);
        if (report.files.vocab && existsSync(report.files.vocab))
          tokenizer = WordPieceTokenizer.fromVocabFile(report.files.vocab, report.tokenizerOptions);
      }
      return new RunAnalyzer(run, text, dictionary, tokenizer, ckpt.state);
    } catch (e) {
      text?.dispose();
      await run?.engine.dispose();
      throw e;
    } finally {
      await store.close();
    }
  }

  async dispose(): Promise<void> {
    this.text.dispose();
    await this.run.engine.dispose();
  }

  /** One row of a dataset split (the run's dataset or another with the same shapes, e.g. its OOD version). */
  async datasetSample(datasetDir: string, split: SplitName, index: number): Promise<SampleInput> {
    const store = await FeatureStore.open(datasetDir);
    try {
      const s = await openSplit(store, split, this.state.options.task);
      if (index >= s.count)
        throw new AnalysisError(`split ${split} has ${s.count} samples; index ${index} is out of range`);
      this.checkShapes(`dataset ${store.manifest.name}`, s.L, s.Ta, s.da, s.Tv, s.dv);
      const b = await readBatch(s, [index], this.text.kind === 'features');
      const { ids, rawText } = await s.reader.samples();
      return {
        label: `${store.manifest.name} ${split} #${index}${ids[index] ? ` (${ids[index]})` : ''}`,
        ids3: b.ids3,
        features: b.features,
        audio: b.audio,
        vision: b.vision,
        textLength: b.textLengths[0],
        audioLength: b.audioLengths[0],
        visionLength: b.visionLengths[0],
        truth: b.labels[0],
        streamIndex: index,
        rawText: rawText[index] ?? '',
      };
    } finally {
      await store.close();
    }
  }

  checkShapes(what: string, L: number, Ta: number, da: number, Tv: number, dv: number): void {
    const c = this.config;
    if (L !== c.textLength || Ta !== c.audioLength || Tv !== c.visionLength || da !== c.da || dv !== c.dv) {
      throw new AnalysisError(
        `${what} has L=${L}, Ta=${Ta}, da=${da}, Tv=${Tv}, dv=${dv}; the run's model reads L=${c.textLength}, Ta=${c.audioLength}, da=${c.da}, Tv=${c.visionLength}, dv=${c.dv}`,
      );
    }
  }

  private layout(s: SampleInput, textLength = s.textLength): MissingLayout {
    const c = this.config;
    return {
      batch: 1,
      textSteps: c.textLength,
      audioSteps: c.audioLength,
      visionSteps: c.visionLength,
      textLengths: [textLength],
      audioLengths: [s.audioLength],
      visionLengths: [s.visionLength],
      aligned: c.aligned,
      firstSample: s.streamIndex,
    };
  }

  private masksFor(s: SampleInput, rates: ModalityRates, seed: number): KeepMasks {
    return missingMasks(this.layout(s), { kind: 'RMFM_same', rates }, seed);
  }

  /** Keep masks of the simulator's view. */
  baseKeep(s: SampleInput, setting: SimulatorSetting): KeepMasks {
    if (setting.mode === 'complete') return this.masksFor(s, { text: 0, audio: 0, vision: 0 }, DEFAULT_EVAL_SEED);
    if (setting.mode === 'toggles')
      return this.masksFor(
        s,
        {
          text: setting.text ? 0 : 1,
          audio: setting.audio ? 0 : 1,
          vision: setting.vision ? 0 : 1,
        },
        DEFAULT_EVAL_SEED,
      );
    return this.masksFor(s, { text: setting.text, audio: setting.audio, vision: setting.vision }, setting.seed);
  }

  /** Replicate one sample into a batch of views. */
  private batchOf(
    s: SampleInput,
    views: {
      ids3: Int32Array;
      audio: Float32Array;
      vision: Float32Array;
      textLength: number;
    }[],
  ): BatchArrays {
    const c = this.config;
    const B = views.length;
    const L = c.textLength;
    const ids3 = new Int32Array(B * 3 * L);
    const audio = new Float32Array(B * s.audio.length);
    const vision = new Float32Array(B * s.vision.length);
    const features = s.features ? new Float32Array(B * s.features.length) : null;
    const textMask = new Float32Array(B * L);
    const audioMask = new Float32Array(B * c.audioLength);
    const visionMask = new Float32Array(B * c.visionLength);
    views.forEach((v, b) => {
      ids3.set(v.ids3, b * 3 * L);
      audio.set(v.audio, b * s.audio.length);
      vision.set(v.vision, b * s.vision.length);
      if (features && s.features) features.set(s.features, b * s.features.length);
      textMask.fill(1, b * L, b * L + v.textLength);
      audioMask.fill(1, b * c.audioLength, b * c.audioLength + s.audioLength);
      visionMask.fill(1, b * c.visionLength, b * c.visionLength + s.visionLength);
    });
    return {
      rows: views.map(() => s.streamIndex),
      size: B,
      ids3,
      features,
      audio,
      vision,
      textLengths: Int32Array.from(views, (v) => v.textLength),
      audioLengths: new Int32Array(B).fill(s.audioLength),
      visionLengths: new Int32Array(B).fill(s.visionLength),
      labels: new Int32Array(B).fill(s.truth ?? 0),
      textMask,
      audioMask,
      visionMask,
    };
  }

  /**
   * Log-probabilities of every view (B, C), and for row `detailRow` the last layer's attention
   * weights (H, 3L, 3L) and the WSAM maps (L, Ta), (L, Tv), all from the engine. The 'reference'
   * positional quirk makes a prediction depend on the row's batch position, so such models run
   * one view per call (all at offset 0).
   */
  private async forward(
    batch: BatchArrays,
    changed: Uint8Array,
    detailRow: number | null,
  ): Promise<{
    logProbs: Float32Array;
    attention?: Float32Array;
    wsamAudio?: Float32Array;
    wsamVision?: Float32Array;
  }> {
    const c = this.config;
    const B = batch.size;
    const features = await this.text.altered(batch, batch.ids3, changed);
    let text: Float32Array;
    try {
      text = (await features.data()) as Float32Array;
    } finally {
      features.dispose();
    }
    const groups = c.positional === 'reference' ? Array.from({ length: B }, (_, b) => [b, 1]) : [[0, B]];
    const logProbs = new Float32Array(B * c.classes);
    const out: {
      logProbs: Float32Array;
      attention?: Float32Array;
      wsamAudio?: Float32Array;
      wsamVision?: Float32Array;
    } = { logProbs };
    for (const [start, size] of groups) {
      const rows = (a: Float32Array, per: number) => a.subarray(start * per, (start + size) * per);
      const detail = detailRow !== null && detailRow >= start && detailRow < start + size ? detailRow - start : null;
      const o = await this.run.engine.infer(
        {
          size,
          text: rows(text, c.textLength * c.dl),
          textMask: rows(batch.textMask, c.textLength),
          textLengths: batch.textLengths.subarray(start, start + size),
          audio: rows(batch.audio, c.audioLength * c.da),
          audioMask: rows(batch.audioMask, c.audioLength),
          vision: rows(batch.vision, c.visionLength * c.dv),
          visionMask: rows(batch.visionMask, c.visionLength),
          offset: 0,
        },
        this.run.conf,
        { chunkSize: size, attention: detail !== null, attentionRows: detail === null ? [] : [detail] },
      );
      logProbs.set(o.logProbs, start * c.classes);
      if (detail !== null) {
        out.attention = o.attentionWeights;
        const map = (w: Float32Array | undefined, T: number) =>
          w?.slice(detail * c.textLength * T, (detail + 1) * c.textLength * T);
        out.wsamAudio = map(o.wsamAudio, c.audioLength);
        out.wsamVision = map(o.wsamVision, c.visionLength);
      }
    }
    return out;
  }

  /** Token strings: the run's BERT vocabulary, else the sample's raw words when they line up one to one, else '#id'. */
  tokens(s: SampleInput, ids: ArrayLike<number>, length: number, keep?: Uint8Array): TokenInfo[] {
    const bias = new Set(this.dictionary.ids);
    let words: string[] | null = null;
    if (!this.tokenizer) {
      const w = rawWords(s.rawText);
      let n = 0;
      for (let t = 0; t < length; t++) if (!SPECIAL_TOKEN_IDS.has(ids[t])) n++;
      if (w.length === n && n > 0) words = w;
    }
    let k = 0;
    const names: Record<number, string> = {
      0: '[PAD]',
      [UNK_ID]: '[UNK]',
      101: '[CLS]',
      102: '[SEP]',
      [MASK_ID]: '[MASK]',
    };
    return Array.from({ length }, (_, t) => {
      const id = ids[t];
      const special = SPECIAL_TOKEN_IDS.has(id);
      const token = special ? names[id] : (this.tokenizer?.idToToken[id] ?? (words ? words[k] : `#${id}`));
      if (!special) k++;
      return {
        position: t,
        id,
        token,
        special,
        bias: bias.has(id),
        dropped: keep ? keep[t] === 0 && t > 0 && t < length - 1 : false,
      };
    });
  }

  /** The simulator's missing view of a sample and its text-changed positions. */
  private viewOf(s: SampleInput, keep: KeepMasks) {
    const mv = missingView({ text: s.ids3, audio: s.audio, vision: s.vision }, this.layout(s), keep);
    // dropped = valid - keep, as runs/predict.ts: a token that already was [UNK] still counts as dropped
    const replaced = Uint8Array.from({ length: this.L }, (_, t) => (t < s.textLength && keep.text[t] === 0 ? 1 : 0));
    return {
      ids3: mv.text,
      audio: mv.audio,
      vision: mv.vision,
      textLength: s.textLength,
      replaced,
    };
  }

  /** Text positions whose features must change: the view's dropped tokens, plus any edited position. */
  private changedOf(
    s: SampleInput,
    views: { ids3: Int32Array; textLength: number; replaced?: Uint8Array }[],
  ): Uint8Array {
    const L = this.L;
    const out = new Uint8Array(views.length * L);
    views.forEach((v, b) => {
      for (let t = 0; t < L; t++) {
        const inOld = t < s.textLength;
        const inNew = t < v.textLength;
        out[b * L + t] = inOld !== inNew || (inNew && v.ids3[t] !== s.ids3[t]) || v.replaced?.[t] ? 1 : 0;
      }
    });
    return out;
  }

  async explain(s: SampleInput, setting: SimulatorSetting): Promise<SampleExplanation> {
    const c = this.config;
    const base = this.baseKeep(s, setting);
    const views = Array.from({ length: 8 }, (_, S) => {
      const coalition = this.masksFor(
        s,
        { text: S & 1 ? 0 : 1, audio: S & 2 ? 0 : 1, vision: S & 4 ? 0 : 1 },
        DEFAULT_EVAL_SEED,
      );
      const keep: KeepMasks = {
        text: coalition.text.map((x, i) => x & base.text[i]),
        audio: coalition.audio.map((x, i) => x & base.audio[i]),
        vision: coalition.vision.map((x, i) => x & base.vision[i]),
      };
      return this.viewOf(s, keep);
    });
    const batch = this.batchOf(s, views);
    const out = await this.forward(batch, this.changedOf(s, views), 7);
    const probs = views.map((_, S) => Array.from(out.logProbs.subarray(S * c.classes, (S + 1) * c.classes), Math.exp));
    const phi = exactShapley(probs);
    const full = probs[7];
    const frac = (keep: Uint8Array, lo: number, hi: number) => {
      let n = 0;
      let d = 0;
      for (let t = lo; t <= hi; t++) {
        n++;
        if (keep[t] === 0) d++;
      }
      return n ? d / n : 0;
    };
    const wsam =
      out.wsamAudio && out.wsamVision
        ? (() => {
            const words = Array.from({ length: Math.max(0, s.textLength - 2) }, (_, i) => i + 1);
            const rows = (w: Float32Array, T: number, len: number) =>
              words.map((t) => Array.from(w.subarray(t * T, t * T + len), (x) => round(x)));
            return {
              audio: rows(out.wsamAudio!, c.audioLength, s.audioLength),
              vision: rows(out.wsamVision!, c.visionLength, s.visionLength),
              words,
            };
          })()
        : null;
    return {
      probabilities: full,
      prediction: argmax(full),
      shapley: { text: phi[0], audio: phi[1], vision: phi[2] },
      subsets: Object.fromEntries(probs.map((p, S) => [coalitionName(S), p])),
      tokens: this.tokens(s, views[7].ids3, s.textLength, base.text),
      dropped: {
        text: frac(base.text, 1, s.textLength - 2),
        audio: frac(base.audio, 0, s.audioLength - 1),
        vision: frac(base.vision, 0, s.visionLength - 1),
      },
      attention: summariseAttention(out.attention!, c.heads, c.textLength, s.textLength),
      wsam,
    };
  }

  /** ids (3, L) of an edited text [CLS] ... [SEP]: mask 1 over its length, segment ids 0. */
  idsOf(tokenIds: readonly number[]): Int32Array {
    const L = this.L;
    if (tokenIds.length > L)
      throw new AnalysisError(`the edited text has ${tokenIds.length} tokens; the model reads at most L=${L}`);
    if (tokenIds.length < 2) throw new AnalysisError('the edited text needs at least [CLS] and [SEP]');
    const out = new Int32Array(3 * L);
    tokenIds.forEach((id, t) => {
      out[t] = id;
      out[L + t] = 1;
    });
    return out;
  }

  async counterfactual(
    s: SampleInput,
    setting: SimulatorSetting,
    edited?: readonly number[],
  ): Promise<SampleCounterfactual> {
    const C = this.classes;
    const base = this.baseKeep(s, setting);
    const factual = this.viewOf(s, base);
    const auto = counterfactualText(factual.ids3, 1, this.L, this.dictionary);
    const cf = edited
      ? {
          ...factual,
          ids3: this.idsOf(edited),
          textLength: edited.length,
          replaced: undefined,
        }
      : { ...factual, ids3: auto };
    const automatic = this.tokens(s, auto, s.textLength);
    const scored = this.tokens(s, cf.ids3, cf.textLength);
    const taus = tauGrid();
    if (!this.text.recomputes) {
      const out = await this.forward(this.batchOf(s, [factual]), this.changedOf(s, [factual]), null);
      const p = Array.from(out.logProbs, Math.exp);
      return {
        available: false,
        reason: `${this.text.note}. A counterfactual text needs the features of [MASK]ed words, which only a BERT model gives (train with frozen:PATH or finetune:PATH).`,
        automatic,
        scored,
        factual: p,
        counterfactual: null,
        taus,
        debiased: [],
      };
    }
    const views = [factual, cf];
    const out = await this.forward(this.batchOf(s, views), this.changedOf(s, views), null);
    const lf = out.logProbs.subarray(0, C);
    const lc = out.logProbs.subarray(C, 2 * C);
    const debiased = taus.map((tau) => {
      const p = softmax(debiasedScores(lf, lc, tau));
      return { tau, probabilities: p, prediction: argmax(p) };
    });
    return {
      available: true,
      reason: null,
      automatic,
      scored,
      factual: Array.from(lf, Math.exp),
      counterfactual: Array.from(lc, Math.exp),
      taus,
      debiased,
    };
  }
}
