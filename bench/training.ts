/**
 * Training-loop benchmark: one epoch of a real run (runs/train.ts: batches read from a feature
 * store on disk, RMFM masks, the MSSD step, validation) on a synthetic MOSI-shaped unaligned
 * dataset (L=50, Ta=375, Tv=500, dl=768, da=5, dv=20; paper model d=32, 3 layers, 8 heads) at the
 * authors' batch size, on the active backend. Prints ms per training batch, samples per second,
 * validation time and peak memory. Too slow for CI on wasm (a B=128 step takes tens of seconds).
 *
 *   node --import tsx bench/training.ts [--train 256] [--valid 128] [--batch 128] [--micro 64]
 */
import path from 'node:path';
import { initBackend } from '../src/main/ml/backends/tf.js';
import { runTraining } from '../src/main/ml/runs/train.js';
import { trainingOptionsSchema } from '../src/shared/contract/training.js';
import { tempDir } from '../test/helpers/datasets.js';
import { writeSyntheticStore } from '../test/helpers/syntheticRuns.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const train = Number(arg('train', '256'));
const valid = Number(arg('valid', '128'));
const batch = Number(arg('batch', '128'));
const micro = Number(arg('micro', '64'));

const backend = await initBackend();
const tmp = tempDir('cider-bench-train-');
try {
  let t = performance.now();
  const { dir } = await writeSyntheticStore(path.join(tmp.dir, 'mosi-shaped'), {
    sizes: { train, valid, test: 8 },
    aligned: false,
    L: 50,
    Ta: 375,
    Tv: 500,
    da: 5,
    dv: 20,
    dl: 768,
  });
  console.log(
    `backend ${backend.name} (${backend.reason}); dataset written in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  const stamps: number[] = [];
  // CPU time of this process too: on a shared machine wall time measures the neighbours
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const cpuStamps: number[] = [];
  let peakRss = process.memoryUsage().rss;
  t = performance.now();
  const cpu0 = cpu();
  let trainDone = 0;
  let trainCpu = 0;
  await runTraining({
    datasetDir: dir,
    runDir: path.join(tmp.dir, 'run'),
    options: trainingOptionsSchema.parse({
      batchSize: batch,
      maxEpochs: 1,
      microBatchSize: micro > 0 ? micro : undefined,
    }),
    onStart: (s) =>
      console.log(`${s.parameters} parameters, ${s.batches} batches of ${batch} (micro-batches of ${micro || batch})`),
    onBatch: (p) => {
      stamps.push(performance.now());
      cpuStamps.push(cpu());
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      console.log(
        `  batch ${p.batch}/${p.batches}: wall ${((stamps.at(-1)! - (stamps.at(-2) ?? t)) / 1000).toFixed(1)} s, cpu ${((cpuStamps.at(-1)! - (cpuStamps.at(-2) ?? cpu0)) / 1000).toFixed(1)} s (the first includes opening the data and the confounder pass), loss ${p.losses.total.toFixed(4)}`,
      );
      trainDone = performance.now();
      trainCpu = cpu();
    },
    onEpoch: (e) => {
      const trainMs = trainDone - t;
      console.log(
        `training: ${(trainMs / stamps.length).toFixed(0)} ms per batch of ${batch}, ${((train / trainMs) * 1000).toFixed(1)} samples/s`,
      );
      if (cpuStamps.length > 1)
        console.log(
          `steady state: cpu ${((cpuStamps.at(-1)! - cpuStamps[0]) / (cpuStamps.length - 1) / 1000).toFixed(1)} s per batch of ${batch}`,
        );
      console.log(
        `validation (${valid} samples, complete view): wall ${((performance.now() - trainDone) / 1000).toFixed(1)} s, cpu ${((cpu() - trainCpu) / 1000).toFixed(1)} s; epoch ${(e.durationMs / 1000).toFixed(1)} s`,
      );
    },
  });
  console.log(
    `peak RSS ${(Math.max(peakRss, process.memoryUsage().rss) / 2 ** 20).toFixed(0)} MB (max ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB)`,
  );
} finally {
  tmp.cleanup();
}
