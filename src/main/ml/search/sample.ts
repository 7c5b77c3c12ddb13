/**
 * Seeded random search over the CIDer space (spec section 4). Trial k draws from
 * Rng(seed).child('trial:k') alone, so the plan of N trials is a prefix of the plan of N+1 and
 * the service can show a trial's settings before its run exists.
 */
import { AppError } from '../../../shared/errors';
import type { SearchSpace, TrialParams } from '../../../shared/contract/search';
import type { TrainingOptions } from '../../../shared/contract/training';
import { Rng } from '../random';

const DROPOUTS = ['relu', 'residual', 'attention', 'embedding', 'output'] as const;
const WEIGHTS = ['joint', 'attention', 'reconstruction'] as const;

/** heads must divide the model width (head width d/H) */
export function usableHeads(space: SearchSpace, d: number): number[] {
  const heads = space.heads.filter((h) => d % h === 0);
  if (!heads.length)
    throw new AppError(
      'INVALID_INPUT',
      `no head count in [${space.heads.join(', ')}] divides the model width d = ${d}`,
    );
  return heads;
}

export function sampleTrial(space: SearchSpace, d: number, seed: number, trial: number): TrialParams {
  const rng = new Rng(seed).child(`trial:${trial}`);
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(0, xs.length)];
  const heads = usableHeads(space, d);
  const layers = pick(space.layers);
  const head = pick(heads);
  const dropouts = Object.fromEntries(DROPOUTS.map((k) => [k, pick(space.dropouts)])) as TrialParams['dropouts'];
  const lossWeights = Object.fromEntries(
    WEIGHTS.map((k) => [k, pick(space.lossWeights)]),
  ) as TrialParams['lossWeights'];
  return { layers, heads: head, dropouts, lossWeights };
}

/** trials 1..n */
export function planTrials(space: SearchSpace, base: TrainingOptions, seed: number, n: number): TrialParams[] {
  return Array.from({ length: n }, (_, i) => sampleTrial(space, base.model.d, seed, i + 1));
}

export function applyTrial(base: TrainingOptions, p: TrialParams): TrainingOptions {
  return {
    ...base,
    lossWeights: { ...p.lossWeights },
    model: { ...base.model, layers: p.layers, heads: p.heads, dropouts: { ...p.dropouts } },
  };
}

/** a run's options read back as trial params */
export function trialParamsOf(o: TrainingOptions): TrialParams {
  return {
    layers: o.model.layers,
    heads: o.model.heads,
    dropouts: { ...o.model.dropouts },
    lossWeights: { ...o.lossWeights },
  };
}
