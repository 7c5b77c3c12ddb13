/**
 * OOD repartition of an IID dataset: pool train+valid+test, then draw new splits of the same sizes
 * so that (1) the test split's 3-class label mix moves toward a target (by default the pool's mix
 * with negative and positive swapped), and (2) within each class, the test split takes the
 * samples whose bias words (spec section 5's dictionary, computed on the pool) agree least with
 * their label, so the word-label correlation a model can learn from train holds less on test.
 * Valid is a uniform draw from the rest; train is what remains. Everything is drawn from a
 * seeded Rng, and the returned record says how the split was built and what it achieved.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Rng } from './random';
import { ImportCancelledError } from './errors';
import {
  FeatureStore,
  StoreBuilder,
  SPLITS,
  type ArrayEntry,
  type ArrayName,
  type DatasetManifest,
  type SplitManifest,
  type SplitName,
  type SplitSamples,
} from './featureStore';
import { biasWords, classCounts, tokenClassCounts } from './labels';

export interface OodOptions {
  seed: number;
  /** dataset folder to create */
  outDir: string;
  name?: string;
  /** 0 = keep the pool's label mix in test, 1 = the full swap (default 1); ignored if targetTest3 is given */
  strength?: number;
  /** target 3-class proportions of the test split (normalized) */
  targetTest3?: [number, number, number];
  /** dictionary size K (default 100) */
  biasWordCount?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface OodRecord {
  method: 'label-shift + bias-word disagreement (cider-studio v1)';
  seed: number;
  strength: number;
  source: { name: string; dir: string };
  sizes: Record<SplitName, number>;
  pool3: number[];
  targetTest3: number[];
  /** test counts asked for after capping by availability */
  plannedTest3: number[];
  achieved: Record<SplitName, { three: number[]; seven: number[] }>;
  /** mean per-sample agreement of bias words with the label (higher: words predict the label) */
  biasAgreement: Record<SplitName, number> | null;
  biasWordCount: number;
  /** new split -> source split and row of every sample, in order */
  provenance: Record<SplitName, { split: SplitName; row: number }[]>;
}

interface PoolItem {
  split: SplitName;
  row: number;
  y3: number;
  score: number;
}

/** largest-remainder rounding of proportions to integer counts summing to n */
function apportion(p: number[], n: number): number[] {
  const s = p.reduce((a, b) => a + b, 0);
  const raw = p.map((x) => (x / s) * n);
  const out = raw.map(Math.floor);
  const order = raw.map((x, i) => [x - Math.floor(x), i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; out.reduce((a, b) => a + b, 0) < n; k++) out[order[k % order.length][1]]++;
  return out;
}

export async function buildOodSplits(
  src: FeatureStore,
  opts: OodOptions,
): Promise<{ dir: string; manifest: DatasetManifest; record: OodRecord }> {
  const rng = new Rng(opts.seed);
  const m = src.manifest;
  const sizes = Object.fromEntries(SPLITS.map((s) => [s, m.splits[s].count])) as Record<SplitName, number>;
  const L = m.dims.L;
  const K = opts.biasWordCount ?? 100;

  // pool with labels and (if token ids exist) bias-word agreement scores
  const pool: PoolItem[] = [];
  const tokens: Partial<Record<SplitName, Int32Array>> = {};
  for (const s of SPLITS) {
    const r = src.split(s);
    const y = await r.labels3();
    if (r.has('textBert')) tokens[s] = (await r.read('textBert')) as Int32Array;
    for (let i = 0; i < r.count; i++) pool.push({ split: s, row: i, y3: y[i], score: 0 });
  }
  const hasTokens = L !== null && SPLITS.every((s) => tokens[s]);
  if (hasTokens) {
    const counts = new Map<number, number[]>();
    for (const s of SPLITS) {
      const items = pool.filter((p) => p.split === s);
      const labels = new Uint8Array(items.length);
      items.forEach((p, k) => (labels[k] = p.y3));
      for (const [id, c] of tokenClassCounts(tokens[s]!, L, labels, 3)) {
        const acc = counts.get(id);
        if (acc) for (let k = 0; k < 3; k++) acc[k] += c[k];
        else counts.set(id, c.slice());
      }
    }
    const dict = new Map(biasWords(counts, 3, K).map((w) => [w.id, w.counts]));
    for (const p of pool) {
      const t = tokens[p.split]!;
      const base = p.row * 3 * L;
      let sum = 0;
      let n = 0;
      for (let j = 0; j < L; j++) {
        if (!t[base + L + j]) continue;
        const c = dict.get(t[base + j]);
        if (!c) continue;
        const mean = (c[0] + c[1] + c[2]) / 3;
        sum += Math.log((c[p.y3] + 1) / (mean + 1));
        n++;
      }
      p.score = n ? sum / n : 0;
    }
  }

  const pool3 = classCounts(
    pool.map((p) => p.y3),
    3,
  );
  const strength = opts.strength ?? 1;
  const poolP = pool3.map((c) => c / pool.length);
  const target = opts.targetTest3
    ? opts.targetTest3.map((x) => x / opts.targetTest3!.reduce((a, b) => a + b, 0))
    : poolP.map((p, i) => (1 - strength) * p + strength * poolP[2 - i]);
  // cap by availability, giving the shortfall to classes that still have samples
  const planned = apportion(target, sizes.test);
  for (let pass = 0; pass < 3; pass++) {
    let spare = 0;
    for (let c = 0; c < 3; c++)
      if (planned[c] > pool3[c]) {
        spare += planned[c] - pool3[c];
        planned[c] = pool3[c];
      }
    for (let c = 0; c < 3 && spare > 0; c++) {
      const room = pool3[c] - planned[c];
      const add = Math.min(room, spare);
      planned[c] += add;
      spare -= add;
    }
  }

  // test: per class, the lowest agreement scores, jittered by seeded noise so the draw is random but shifted
  const byClass: PoolItem[][] = [[], [], []];
  for (const p of pool) byClass[p.y3].push(p);
  const scores = pool.map((p) => p.score);
  const meanS = scores.reduce((a, b) => a + b, 0) / scores.length;
  const sdS = Math.sqrt(scores.reduce((a, b) => a + (b - meanS) ** 2, 0) / scores.length) || 1;
  const noise = rng.child('test-noise');
  const test: PoolItem[] = [];
  const rest: PoolItem[] = [];
  for (let c = 0; c < 3; c++) {
    const keyed = byClass[c].map((p) => ({ p, key: hasTokens ? p.score + 0.5 * sdS * noise.normal() : noise.next() }));
    keyed.sort((a, b) => a.key - b.key);
    keyed.forEach((k, i) => (i < planned[c] ? test : rest).push(k.p));
  }
  rng.child('valid').shuffle(rest);
  const valid = rest.slice(0, sizes.valid);
  const train = rest.slice(sizes.valid);
  const order = (xs: PoolItem[]) =>
    xs.sort((a, b) => SPLITS.indexOf(a.split) - SPLITS.indexOf(b.split) || a.row - b.row);
  const parts: Record<SplitName, PoolItem[]> = { train: order(train), valid: order(valid), test: order(test) };

  // write the new store
  const b = await StoreBuilder.create(opts.outDir);
  try {
    const splits = {} as Record<SplitName, SplitManifest>;
    const achieved = {} as OodRecord['achieved'];
    const samples: Partial<Record<SplitName, SplitSamples>> = {};
    for (const s of SPLITS) samples[s] = await src.split(s).samples();
    const names = (Object.keys(m.splits.train.arrays) as ArrayName[]).filter((n) => m.splits.train.arrays[n]);
    let done = 0;
    const total = SPLITS.length * names.length;
    for (const ns of SPLITS) {
      const items = parts[ns];
      const arrays: SplitManifest['arrays'] = {};
      for (const name of names) {
        if (opts.signal?.aborted) throw new ImportCancelledError(src.dir);
        const e0 = m.splits.train.arrays[name]!;
        const rel = b.rel(ns, name);
        const fh = await fs.promises.open(b.abs(rel), 'w');
        const st = { n: 0, sum: 0, sumsq: 0, min: Infinity, max: -Infinity };
        let bytes = 0;
        try {
          for (let k = 0; k < items.length;) {
            let j = k + 1;
            while (j < items.length && j - k < 64 && items[j].split === items[k].split) j++;
            const rows = items.slice(k, j).map((p) => p.row);
            const data = await src.split(items[k].split).readRows(name, rows);
            if (e0.dtype === 'float32')
              for (let i = 0; i < data.length; i++) {
                const v = data[i];
                st.n++;
                st.sum += v;
                st.sumsq += v * v;
                if (v < st.min) st.min = v;
                if (v > st.max) st.max = v;
              }
            await fh.write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
            bytes += data.byteLength;
            k = j;
          }
        } finally {
          await fh.close();
        }
        const mean = st.n ? st.sum / st.n : 0;
        const entry: ArrayEntry = {
          file: rel,
          dtype: e0.dtype,
          shape: [items.length, ...e0.shape.slice(1)],
          offset: 0,
          byteLength: bytes,
        };
        if (e0.stats)
          entry.stats = {
            min: st.n ? st.min : 0,
            max: st.n ? st.max : 0,
            mean,
            std: Math.sqrt(Math.max(0, st.n ? st.sumsq / st.n - mean * mean : 0)),
          };
        arrays[name] = entry;
        opts.onProgress?.(++done, total);
      }
      const sm: SplitSamples = { ids: [], rawText: [] };
      const hasAnn = SPLITS.every((s) => samples[s]!.annotations);
      if (hasAnn) sm.annotations = [];
      for (const p of items) {
        const from = samples[p.split]!;
        sm.ids.push(from.ids[p.row]);
        sm.rawText.push(from.rawText[p.row]);
        if (hasAnn) sm.annotations!.push(from.annotations![p.row]);
      }
      await b.writeJson(`${ns}/samples.json`, sm);
      const l3 = new Uint8Array(items.length);
      const l7 = new Uint8Array(items.length);
      for (const s of SPLITS) {
        const y3 = await src.split(s).labels3();
        const y7 = await src.split(s).labels7();
        items.forEach((p, i) => {
          if (p.split === s) {
            l3[i] = y3[p.row];
            l7[i] = y7[p.row];
          }
        });
      }
      achieved[ns] = { three: classCounts(l3, 3), seven: classCounts(l7, 7) };
      const zeroed = 0; // counts of the source are per source split; not meaningful after mixing
      splits[ns] = {
        count: items.length,
        arrays,
        samplesFile: `${ns}/samples.json`,
        labelCounts: achieved[ns],
        zeroedNegInfAudio: zeroed,
      };
    }
    const mean = (xs: PoolItem[]) => (xs.length ? xs.reduce((a, p) => a + p.score, 0) / xs.length : 0);
    const record: OodRecord = {
      method: 'label-shift + bias-word disagreement (cider-studio v1)',
      seed: opts.seed,
      strength,
      source: { name: m.name, dir: path.resolve(src.dir) },
      sizes,
      pool3,
      targetTest3: target,
      plannedTest3: planned,
      achieved,
      biasAgreement: hasTokens ? { train: mean(parts.train), valid: mean(parts.valid), test: mean(parts.test) } : null,
      biasWordCount: K,
      provenance: Object.fromEntries(
        SPLITS.map((s) => [s, parts[s].map((p) => ({ split: p.split, row: p.row }))]),
      ) as OodRecord['provenance'],
    };
    const manifest: DatasetManifest = {
      ...m,
      name: opts.name ?? path.basename(opts.outDir),
      createdAt: new Date().toISOString(),
      source: { kind: 'ood-split', files: [path.resolve(src.dir)], bytes: 0 },
      splits,
      warnings: [...m.warnings.filter((w) => !/^(train|valid|test):/.test(w))],
      ood: record,
      extras: undefined,
    };
    const dir = await b.commit(manifest);
    return { dir, manifest, record };
  } catch (e) {
    await b.abort();
    throw e;
  }
}
