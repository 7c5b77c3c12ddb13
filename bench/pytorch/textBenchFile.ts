/**
 * The figures bench/textpath.ts writes (bench/results/textpath.json) and the one place they feed
 * the app: FINETUNE_BENCH in src/shared/textBench.ts (the Training tab's fine-tuning estimate and
 * its ratio to PyTorch). `bench/textpath.ts --write` (after measuring) or `--write-from FILE` calls
 * writeTextBench. Not a bench itself (bench/run.ts only runs bench/*.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';

export interface TextpathFigures {
  date: string;
  samples: number;
  rates: number;
  L: number;
  cores: number;
  /** encoder alone, batch 32, ms (median): ONNX Runtime fused form, standard form, TF.js */
  onnxMs: number;
  onnxStandardMs: number;
  tfjsMs: number;
  tfjsBackend: string;
  /** the sweep job, wall seconds */
  sweepS: number;
  /** one fine-tuning step (forward + backward) of BERT-base at fineTuneBatch on TF.js, ms */
  fineTuneMs: number;
  fineTuneBatch: number;
  peakRssMb: number;
  /** load averages (1, 5, 15 min) right after each figure */
  load: Record<'onnx' | 'onnxStandard' | 'tfjs' | 'fineTune' | 'sweep', number[]>;
  torch: {
    torch: string;
    python: string;
    threads: number;
    encoder_ms_b32: number;
    sweep_s: number;
    finetune_ms_b8: number;
    peak_rss_mb: number;
    load_end: number[];
  } | null;
}

/** Rewrite FINETUNE_BENCH's values in `file` (src/shared/textBench.ts); returns what it did. */
export function writeTextBench(file: string, f: TextpathFigures): string {
  if (!(f.fineTuneMs > 0) || f.fineTuneBatch !== 8)
    throw new Error(`${file}: no fine-tuning figure at batch 8 to write`);
  const src = readFileSync(file, 'utf8');
  const start = src.indexOf('export const FINETUNE_BENCH');
  const open = src.indexOf('} = {', start);
  const close = src.indexOf('\n};', open);
  if (start < 0 || open < 0 || close < 0) throw new Error(`${file}: FINETUNE_BENCH's object literal not found`);
  const day = f.date.slice(0, 10);
  const load = Number(f.load.fineTune[0].toFixed(1));
  const torchMs = f.torch ? Math.round(f.torch.finetune_ms_b8) : null;
  const body = `} = {
  /** BERT-base, L = ${f.L} */
  batch: ${f.fineTuneBatch},
  /** TF.js ${f.tfjsBackend}, ms per step (bench/textpath.ts, ${day}, ${f.cores} cores at load average ~${load}) */
  tfjsMs: ${Math.round(f.fineTuneMs)},
  /** PyTorch${f.torch ? ` ${f.torch.torch} (${f.torch.threads} threads)` : ''}, ms per step in the same bench run; null: not measured yet */
  torchMs: ${torchMs},
  /** load average of the machine when measured (shared 2-core CI machine) */
  loadAverage: ${load},
  /** hidden size, layers: the shape measured */
  hidden: 768,
  layers: 12,`;
  writeFileSync(file, src.slice(0, open) + body + src.slice(close));
  return `${file}: FINETUNE_BENCH = TF.js ${Math.round(f.fineTuneMs)} ms, PyTorch ${torchMs ?? 'not measured'} ms per step at batch ${f.fineTuneBatch} (${day}, load ~${load})`;
}
