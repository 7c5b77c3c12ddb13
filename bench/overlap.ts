/**
 * Cost of the IID/OOD overlap removal (ml/analysis/overlap.ts): content hashes of a run's
 * training + validation splits and of an OOD test split built by split-ood, on a synthetic store
 * with MOSI's unaligned shapes (Ta 375 x da 5, Tv 500 x dv 20, L 50) and MOSI's split sizes.
 *
 *   node --import tsx bench/overlap.ts [--scale 1]   (scale 1 = MOSI 1284/229/686)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FeatureStore } from '../src/main/data/featureStore';
import { buildOodSplits } from '../src/main/data/ood';
import { seenSamples, unseenRows } from '../src/main/ml/analysis/overlap';
import { writeSyntheticStore } from '../test/helpers/syntheticRuns';

const i = process.argv.indexOf('--scale');
const scale = i >= 0 ? Number(process.argv[i + 1]) : 1;
const sizes = { train: Math.round(1284 * scale), valid: Math.round(229 * scale), test: Math.round(686 * scale) };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cider-bench-overlap-'));
try {
  const iidDir = path.join(dir, 'iid');
  await writeSyntheticStore(iidDir, {
    sizes,
    L: 50,
    aligned: false,
    Ta: 375,
    Tv: 500,
    da: 5,
    dv: 20,
    dl: 4,
    name: 'mosi-shaped',
  });
  const iid = await FeatureStore.open(iidDir);
  await buildOodSplits(iid, { seed: 1, outDir: path.join(dir, 'ood') });
  const ood = await FeatureStore.open(path.join(dir, 'ood'));
  const t0 = performance.now();
  const seen = await seenSamples(iid);
  const t1 = performance.now();
  const { removal } = await unseenRows(seen, ood.split('test'));
  const t2 = performance.now();
  const bytesPerSample = (375 * 5 + 500 * 20) * 4;
  console.log(
    `splits ${sizes.train}/${sizes.valid}/${sizes.test}, ${(bytesPerSample / 1024).toFixed(1)} KiB of frames per sample`,
  );
  console.log(
    `seen index (train+valid, ${sizes.train + sizes.valid} samples): ${(t1 - t0).toFixed(0)} ms (${(((t1 - t0) / (sizes.train + sizes.valid)) * 1000).toFixed(0)} ms per 1000 samples)`,
  );
  console.log(
    `OOD test check (${sizes.test} samples): ${(t2 - t1).toFixed(0)} ms; ${removal.removed} removed (train ${removal.fromSplit.train}, valid ${removal.fromSplit.valid})`,
  );
  await iid.close();
  await ood.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
