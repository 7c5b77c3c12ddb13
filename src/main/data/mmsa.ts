/**
 * Import an MMSA-layout dataset (aligned_50.pkl / unaligned_50.pkl, or the CIDer OOD
 * repartitions saved with joblib, plain or zlib/gzip-compressed) into a feature store.
 *
 * The file is unpickled in one streaming pass; arrays of `spillThreshold` bytes or more are piped
 * straight into the store's temp folder and validated/fixed in place, so memory stays bounded
 * whatever the file size. Everything is written to a temp folder renamed into place at the end.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DataImportError, ImportCancelledError } from './errors';
import { composeResolvers, numpyGlobals, joblibGlobals, safeBuiltins, NdArray, unpickleFile } from './pickle';
import { spillTo, readHead, detectCompression } from './stream';
import {
  StoreBuilder,
  SPLITS,
  type DatasetManifest,
  type SplitManifest,
  type SplitName,
  type ArrayEntry,
} from './featureStore';
import { allNumbers, allStrings, fail, shapeStr, toInt32, writeFloat32, type Where } from './convert';
import { classCounts, label3, label7 } from './labels';

export interface ImportProgress {
  phase: 'reading' | 'validating' | 'done';
  /** bytes of the source file read (reading) or arrays written (validating) */
  done: number;
  total: number;
}

export interface ImportOptions {
  /** the dataset folder to create; must not exist */
  outDir: string;
  name?: string;
  signal?: AbortSignal;
  onProgress?: (p: ImportProgress) => void;
  /** arrays of at least this many bytes are streamed to disk while reading (default 8 MB) */
  spillThreshold?: number;
  /** keep MMSA's precomputed BERT features ('text', (N, L, 768)) if present (default true) */
  textFeatures?: boolean;
  /** NaN / infinite values other than -inf audio: refuse (default) or set to 0 and warn */
  nonFinite?: 'error' | 'zero';
  /**
   * 'auto' (default): judged from the shapes and lengths (see judgeAlignment); 'aligned' /
   * 'unaligned' override that, refused when the shapes do not permit it.
   */
  alignment?: AlignmentChoice;
}

export type AlignmentChoice = 'auto' | 'aligned' | 'unaligned';

/**
 * Why a dataset is treated as aligned or not. Aligned data (spec 1) has one time axis for the three
 * modalities: Ta = Tv = L, and per-sample audio/vision lengths, when the file has them, equal to
 * the text lengths (MMSA's aligned_50 and the CIDer OOD files carry such lengths). Anything else
 * is unaligned: its audio/vision go through the word-level alignment attention.
 */
export interface AlignmentJudgement {
  aligned: boolean;
  /** 'detected' from the data, or 'forced' by the import option */
  how: 'detected' | 'forced';
  reason: string;
}

export interface ImportResult {
  dir: string;
  manifest: DatasetManifest;
}

const RESOLVER = composeResolvers(numpyGlobals, joblibGlobals, safeBuiltins);

/** import MMSA pickles and joblib dumps (the format is detected from the content) */
export async function importMmsa(file: string, opts: ImportOptions): Promise<ImportResult> {
  const label = path.basename(file);
  if (!fs.existsSync(file)) throw new DataImportError({ file: label }, 'file not found');
  const total = (await fs.promises.stat(file)).size;
  const head = await readHead(file, 4);
  const compression = detectCompression(head);
  if (compression === 'none' && head[0] !== 0x80 && head[0] !== 0x28 && head[0] !== 0x7d && head[0] !== 0x5d) {
    if (head[0] === 0x5a && head[1] === 0x46)
      throw new DataImportError(
        { file: label },
        'joblib files older than 0.10 (ZF format) are not supported',
        'UNSUPPORTED',
      );
    throw new DataImportError({ file: label }, 'not a pickle or joblib file (unknown header)');
  }
  const b = await StoreBuilder.create(opts.outDir);
  const spillDir = path.join(b.tmpDir, 'spill');
  await fs.promises.mkdir(spillDir);
  try {
    const root = await unpickleFile(file, {
      file: label,
      resolveGlobal: RESOLVER,
      spill: spillTo(spillDir, opts.spillThreshold ?? 8 << 20),
      signal: opts.signal,
      onProgress: (done, t) => opts.onProgress?.({ phase: 'reading', done, total: t }),
    });
    opts.onProgress?.({ phase: 'reading', done: total, total });
    const manifest = await buildStore(root, b, {
      file: label,
      name: opts.name ?? path.basename(opts.outDir),
      kind: compression !== 'none' || (await usesJoblib(file)) ? 'joblib' : 'mmsa-pickle',
      sourceFiles: [path.resolve(file)],
      bytes: total,
      opts,
    });
    await fs.promises.rm(spillDir, { recursive: true, force: true });
    if (opts.signal?.aborted) throw new ImportCancelledError(label);
    const dir = await b.commit(manifest);
    opts.onProgress?.({ phase: 'done', done: 1, total: 1 });
    return { dir, manifest };
  } catch (e) {
    await b.abort();
    throw e;
  }
}

async function usesJoblib(file: string): Promise<boolean> {
  // joblib names its wrapper class near the start of the stream
  const h = await readHead(file, 4096);
  return h.includes('NumpyArrayWrapper');
}

interface BuildContext {
  file: string;
  name: string;
  kind: DatasetManifest['source']['kind'];
  sourceFiles: string[];
  bytes: number;
  opts: ImportOptions;
}

function get(d: Map<unknown, unknown>, key: string): unknown {
  return d.get(key);
}

async function buildStore(root: unknown, b: StoreBuilder, c: BuildContext): Promise<DatasetManifest> {
  const file = c.file;
  if (!(root instanceof Map))
    throw new DataImportError({ file }, 'the top level is not a dict of splits (train/valid/test)');
  const have = [...root.keys()].map(String);
  const missing = SPLITS.filter((s) => !root.has(s));
  if (missing.length)
    throw new DataImportError(
      { file, split: missing[0] },
      `missing split${missing.length > 1 ? 's' : ''} ${missing.map((s) => `'${s}'`).join(', ')} (the file has: ${have.join(', ') || 'nothing'})`,
    );

  const warnings: string[] = [];
  const adopted = new Set<string>();
  let dims: DatasetManifest['dims'] | null = null;
  let aligned: boolean | null = null;
  let alignment: AlignmentJudgement | null = null;
  const splits = {} as Record<SplitName, SplitManifest>;
  let step = 0;
  for (const split of SPLITS) {
    const d = root.get(split);
    const w = (field: string): Where => ({ file, split, field });
    if (!(d instanceof Map)) throw new DataImportError({ file, split }, 'is not a dict of fields');
    const need = (field: string): unknown => {
      const v = get(d, field);
      if (v === undefined)
        throw new DataImportError(
          { file, split, field },
          `missing (the split has: ${[...d.keys()].map(String).join(', ')})`,
        );
      return v;
    };
    const audio = need('audio');
    const vision = need('vision');
    for (const [f, a] of [
      ['audio', audio],
      ['vision', vision],
    ] as const) {
      if (!(a instanceof NdArray) || a.shape.length !== 3)
        throw fail(
          w(f),
          `expected a 3-D array (N, T, d), got ${a instanceof NdArray ? `shape ${shapeStr(a.shape)}` : typeof a}`,
        );
    }
    const A = audio as NdArray;
    const V = vision as NdArray;
    const N = A.shape[0];
    if (V.shape[0] !== N) throw fail(w('vision'), `has ${V.shape[0]} samples but audio has ${N}`);
    const [, Ta, da] = A.shape;
    const [, Tv, dv] = V.shape;

    // token ids (B, 3, L): ids, mask, segment ids
    let textBert: Int32Array | null = null;
    let L: number | null = null;
    const tbv = get(d, 'text_bert');
    if (tbv !== undefined) {
      if (!(tbv instanceof NdArray) || tbv.shape.length !== 3 || tbv.shape[0] !== N || tbv.shape[1] !== 3)
        throw fail(
          w('text_bert'),
          `expected shape (${N}, 3, L), got ${tbv instanceof NdArray ? shapeStr(tbv.shape) : typeof tbv}`,
        );
      L = tbv.shape[2];
      textBert = await toInt32(tbv, w('text_bert'), 0, 2 ** 31 - 1, [3, L]);
      for (let i = 0; i < N; i++)
        for (let t = 0; t < L; t++) {
          const m = textBert[i * 3 * L + L + t];
          if (m !== 0 && m !== 1)
            throw fail(w('text_bert'), `attention mask value ${m} at sample ${i}, position ${t} is not 0 or 1`);
        }
    } else warnings.push(`${split}: no text_bert token ids; the text must be tokenized before training`);

    let textF: NdArray | null = null;
    const tv = get(d, 'text');
    if (tv !== undefined && c.opts.textFeatures !== false) {
      if (!(tv instanceof NdArray) || tv.shape.length !== 3 || tv.shape[0] !== N)
        throw fail(
          w('text'),
          `expected shape (${N}, L, 768), got ${tv instanceof NdArray ? shapeStr(tv.shape) : typeof tv}`,
        );
      if (L !== null && tv.shape[1] !== L) throw fail(w('text'), `has ${tv.shape[1]} steps but text_bert has L = ${L}`);
      textF = tv;
    }

    const thisDims = { L, Ta, da, Tv, dv, dl: textF ? textF.shape[2] : null };
    if (!dims) dims = thisDims;
    else
      for (const k of ['L', 'Ta', 'da', 'Tv', 'dv'] as const)
        if (dims[k] !== thisDims[k])
          throw fail(
            w(k === 'L' ? 'text_bert' : k[0] === 'v' || k === 'Tv' ? 'vision' : 'audio'),
            `${k} = ${thisDims[k]} but split 'train' has ${k} = ${dims[k]}`,
          );

    const ids =
      get(d, 'id') !== undefined
        ? allStrings(get(d, 'id'), w('id'))
        : Array.from({ length: N }, (_, i) => `${split}-${i}`);
    if (ids.length !== N) throw fail(w('id'), `has ${ids.length} entries for ${N} samples`);
    const rawText =
      get(d, 'raw_text') !== undefined ? allStrings(get(d, 'raw_text'), w('raw_text')) : new Array<string>(N).fill('');
    if (rawText.length !== N) throw fail(w('raw_text'), `has ${rawText.length} entries for ${N} samples`);

    // lengths: given for unaligned data (and often for aligned data too, equal to the text lengths)
    const textLengths = new Int32Array(N);
    if (textBert)
      for (let i = 0; i < N; i++) for (let t = 0; t < L!; t++) textLengths[i] += textBert[i * 3 * L! + L! + t];
    const given = async (field: 'audio_lengths' | 'vision_lengths', T: number): Promise<Int32Array | null> => {
      const v = get(d, field);
      if (v === undefined) return null;
      const { values } = await allNumbers(v, w(field));
      if (values.length !== N) throw fail(w(field), `has ${values.length} entries for ${N} samples`);
      const out = new Int32Array(N);
      for (let i = 0; i < N; i++) {
        const x = values[i];
        if (!Number.isInteger(x) || x < 0)
          throw fail(w(field), `sample ${i} (id '${ids[i]}') has length ${x}, not a non-negative integer`);
        if (x > T) throw fail(w(field), `sample ${i} (id '${ids[i]}') has length ${x} but the array holds ${T} frames`);
        out[i] = x;
      }
      return out;
    };
    const givenAudio = await given('audio_lengths', Ta);
    const givenVision = await given('vision_lengths', Tv);
    const judged = judgeAlignment({
      split,
      L,
      Ta,
      Tv,
      textLengths: textBert ? textLengths : null,
      audioLengths: givenAudio,
      visionLengths: givenVision,
      choice: c.opts.alignment ?? 'auto',
      file,
    });
    const thisAligned = judged.aligned;
    if (aligned === null) {
      aligned = thisAligned;
      alignment = judged;
    } else if (aligned !== thisAligned)
      throw new DataImportError(
        { file, split },
        `is ${thisAligned ? 'aligned' : 'unaligned'} (${judged.reason}) but split 'train' is not (${alignment!.reason})`,
      );
    if (thisAligned && judged.how === 'forced' && (givenAudio || givenVision))
      warnings.push(`${split}: aligned by choice; the file's audio/vision lengths are replaced by the text lengths`);
    const lengths = (g: Int32Array | null, field: string, T: number): Int32Array => {
      if (thisAligned && textBert) return textLengths.slice();
      if (g) return g;
      if (!thisAligned) warnings.push(`${split}: no ${field}; every sample uses all ${T} frames`);
      return new Int32Array(N).fill(T);
    };
    const audioLengths = lengths(givenAudio, 'audio_lengths', Ta);
    const visionLengths = lengths(givenVision, 'vision_lengths', Tv);

    const { values: reg, shape: regShape } = await allNumbers(need('regression_labels'), w('regression_labels'));
    if (reg.length !== N || (regShape.length > 1 && regShape.slice(1).some((x) => x !== 1)))
      throw fail(w('regression_labels'), `expected ${N} scores, got shape ${shapeStr(regShape)}`);
    for (let i = 0; i < N; i++) {
      const r = reg[i];
      if (!Number.isFinite(r)) throw fail(w('regression_labels'), `sample ${i} (id '${ids[i]}') has score ${r}`);
      if (r < -3 || r > 3)
        throw fail(w('regression_labels'), `sample ${i} (id '${ids[i]}') has score ${r}, outside [-3, 3]`);
    }
    const l3 = Uint8Array.from(reg, label3);
    const l7 = Uint8Array.from(reg, label7);

    const annotations = get(d, 'annotations');
    let ann: string[] | undefined;
    if (annotations !== undefined) {
      try {
        ann = allStrings(annotations, w('annotations'));
        if (ann.length !== N) ann = undefined;
      } catch {
        ann = undefined;
      }
    }

    // the big arrays
    const arrays: SplitManifest['arrays'] = {};
    const f32 = async (name: 'audio' | 'vision' | 'text', arr: NdArray, field: string) => {
      if (c.opts.signal?.aborted) throw new ImportCancelledError(file);
      const rel = b.rel(split, name);
      const res = await writeFloat32(arr, b.abs(rel), w(field), {
        rowShape: arr.shape.slice(1),
        negInfToZero: name === 'audio',
        nonFinite: c.opts.nonFinite ?? 'error',
        signal: c.opts.signal,
        adopted,
      });
      if (res.zeroedOther) warnings.push(`${split}: ${res.zeroedOther} NaN/infinite ${field} values set to 0`);
      arrays[name] = {
        file: rel,
        dtype: 'float32',
        shape: arr.shape.slice(),
        offset: 0,
        byteLength: res.byteLength,
        stats: res.stats,
      } satisfies ArrayEntry;
      c.opts.onProgress?.({ phase: 'validating', done: ++step, total: SPLITS.length * 3 });
      return res;
    };
    const ares = await f32('audio', A, 'audio');
    if (ares.zeroedNegInf)
      warnings.push(`${split}: ${ares.zeroedNegInf} audio values of -inf set to 0 (as the reference does)`);
    await f32('vision', V, 'vision');
    if (textF) await f32('text', textF, 'text');
    if (textBert) arrays.textBert = await b.writeTyped(b.rel(split, 'textBert'), 'int32', [N, 3, L!], textBert);
    arrays.audioLengths = await b.writeTyped(b.rel(split, 'audioLengths'), 'int32', [N], audioLengths);
    arrays.visionLengths = await b.writeTyped(b.rel(split, 'visionLengths'), 'int32', [N], visionLengths);
    arrays.regression = await b.writeTyped(b.rel(split, 'regression'), 'float32', [N], Float32Array.from(reg));
    arrays.labels3 = await b.writeTyped(b.rel(split, 'labels3'), 'uint8', [N], l3);
    arrays.labels7 = await b.writeTyped(b.rel(split, 'labels7'), 'uint8', [N], l7);
    const samplesFile = `${split}/samples.json`;
    await b.writeJson(samplesFile, { ids, rawText, ...(ann ? { annotations: ann } : {}) });
    splits[split] = {
      count: N,
      arrays,
      samplesFile,
      labelCounts: { three: classCounts(l3, 3), seven: classCounts(l7, 7) },
      zeroedNegInfAudio: ares.zeroedNegInf,
    };
  }
  return {
    format: 'cider-feature-store',
    version: 1,
    name: c.name,
    createdAt: new Date().toISOString(),
    source: { kind: c.kind, files: c.sourceFiles, bytes: c.bytes },
    aligned: aligned!,
    alignment: { aligned: alignment!.aligned, how: alignment!.how, reason: alignment!.reason },
    dims: dims!,
    splits,
    warnings,
  };
}

const firstDiff = (a: Int32Array, b: Int32Array): number => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
};

/**
 * Aligned or not, and why (see AlignmentJudgement). The shapes must permit alignment (token ids
 * present, Ta = Tv = L); given lengths must equal the text lengths sample by sample. A forced
 * 'aligned' is refused when the shapes do not permit it; a forced 'unaligned' is always possible
 * (the alignment attention accepts any frame count).
 */
export function judgeAlignment(o: {
  split: string;
  L: number | null;
  Ta: number;
  Tv: number;
  textLengths: Int32Array | null;
  audioLengths: Int32Array | null;
  visionLengths: Int32Array | null;
  choice: AlignmentChoice;
  file: string;
}): AlignmentJudgement {
  const { L, Ta, Tv } = o;
  const shapeProblem =
    L === null || !o.textLengths
      ? 'the file has no text_bert token ids, so the text length L is unknown'
      : Ta !== L || Tv !== L
        ? `the time axes differ (L = ${L}, Ta = ${Ta}, Tv = ${Tv})`
        : null;
  if (o.choice === 'unaligned')
    return {
      aligned: false,
      how: 'forced',
      reason: `--unaligned chosen at import${shapeProblem ? ` (${shapeProblem})` : ` (L = Ta = Tv = ${L})`}`,
    };
  if (shapeProblem) {
    if (o.choice === 'aligned')
      throw new DataImportError(
        { file: o.file, split: o.split },
        `cannot be imported as aligned: ${shapeProblem}; aligned data needs Ta = Tv = L`,
      );
    return { aligned: false, how: 'detected', reason: `unaligned: ${shapeProblem}` };
  }
  if (o.choice === 'aligned')
    return { aligned: true, how: 'forced', reason: `--aligned chosen at import (L = Ta = Tv = ${L})` };
  for (const [name, g] of [
    ['audio_lengths', o.audioLengths],
    ['vision_lengths', o.visionLengths],
  ] as const) {
    if (!g) continue;
    const i = firstDiff(g, o.textLengths!);
    if (i >= 0)
      return {
        aligned: false,
        how: 'detected',
        reason: `unaligned: L = Ta = Tv = ${L} but ${o.split} ${name}[${i}] = ${g[i]} differs from the text length ${o.textLengths![i]}`,
      };
  }
  const given = [o.audioLengths && 'audio_lengths', o.visionLengths && 'vision_lengths'].filter(Boolean);
  return {
    aligned: true,
    how: 'detected',
    reason: given.length
      ? `aligned: L = Ta = Tv = ${L} and ${given.join(' and ')} equal the text lengths`
      : `aligned: L = Ta = Tv = ${L} and no audio/vision lengths (they are the text lengths)`,
  };
}
