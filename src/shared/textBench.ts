/**
 * What fine-tuning BERT costs here, as measured by bench/textpath.ts (README, "Benchmarks"): one
 * BERT-base fine-tuning step (forward + backward) at batch 8, L = 50, on TensorFlow.js wasm (one
 * thread: the data-parallel path applies to CIDer at batch >= 32, not to BERT) beside the same
 * step in PyTorch on the same CPU in the same bench run. The Training tab estimates a fine-tuning
 * run's time from these figures until the run's own batch timings are in. Pure data: no Node, no DOM.
 */
export const FINETUNE_BENCH: {
  batch: number;
  tfjsMs: number;
  torchMs: number | null;
  loadAverage: number;
  hidden: number;
  layers: number;
} = {
  /** BERT-base, L = 50 */
  batch: 8,
  /** TF.js wasm, ms per step (bench/textpath.ts, 2026-12-07, 2 cores at load average ~2.5) */
  tfjsMs: 7966,
  /** PyTorch 1.13.0a0 (2 threads), ms per step in the same bench run; null: not measured yet */
  torchMs: 3032,
  /** load average of the machine when measured (shared 2-core CI machine) */
  loadAverage: 2.5,
  /** hidden size, layers: the shape measured */
  hidden: 768,
  layers: 12,
};

/** TF.js time / PyTorch time for the same fine-tuning step (> 1: we are slower); null until measured. */
export const FINETUNE_VS_TORCH: number | null =
  FINETUNE_BENCH.torchMs === null ? null : FINETUNE_BENCH.tfjsMs / FINETUNE_BENCH.torchMs;

/**
 * Estimated ms per training batch of a BERT-base fine-tuning run at `batchSize` (the step scales
 * about linearly with the batch at these sizes), before the run has timings of its own.
 */
export function fineTuneBatchEstimateMs(batchSize: number): number {
  return (FINETUNE_BENCH.tfjsMs * batchSize) / FINETUNE_BENCH.batch;
}
