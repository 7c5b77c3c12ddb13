/** The CLI flags issue 15 adds: help texts list them, bad values are refused with the flag named. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../../src/cli/main';
import { evaluationLines, parseLossWeights } from '../../src/cli/commands/training';
import type { EvaluationRecord } from '../../src/shared/contract/training';
import { UsageError } from '../../src/cli/args';

test('help lists compare-ood --checkpoint/--with/--tau-rule, train --no-mssd/--loss-weights/--selection-metric, ablate', async () => {
  const out: string[] = [];
  assert.equal(await runCli(['help'], { out: (l) => out.push(l), err: (l) => out.push(l) }), 0);
  const help = out.join('\n');
  assert.match(
    help,
    /compare-ood RUN \[--ood DATASET_ID\] \[--with RUN2\] \[--tau-rule validation\|balanced\|reference\] \[--checkpoint best\|last\]/,
  );
  assert.match(
    help,
    /\[--no-mssd\] \[--loss-weights JOINT,ATTN,RECON\] \[--selection-metric Non0_acc_2\|Acc_3\|F1_3\|Acc_7\|validation_loss\]/,
  );
  assert.match(help, /ablate --dataset DATASET/);
  assert.match(help, /import FILE\.\.\. .*\[--aligned \| --unaligned\]/);
});

test('--loss-weights takes three numbers >= 0', () => {
  assert.deepEqual(parseLossWeights('0.5,0,0.6'), { joint: 0.5, attention: 0, reconstruction: 0.6 });
  assert.equal(parseLossWeights(undefined), undefined);
  for (const bad of ['1,2', '1,-1,0', 'a,b,c', '1,2,3,4'])
    assert.throws(
      () => parseLossWeights(bad),
      (e) => e instanceof UsageError && /--loss-weights/.test(e.message),
    );
});

test('eval --tau-rule: listed in help, bad values refused with the flag named before anything runs', async () => {
  const out: string[] = [];
  assert.equal(await runCli(['help', 'eval'], { out: (l) => out.push(l), err: (l) => out.push(l) }), 0);
  const help = out.join('\n');
  assert.match(help, /\[--tau-rule validation\|balanced\|reference\]/);
  assert.match(
    help,
    /--tau-rule validation\|balanced\|reference\s+MACI: the rule whose tau gives the reported figures/,
  );
  const err: string[] = [];
  const code = await runCli(['eval', '1', '--protocol', 'MACI', '--tau-rule', 'balance'], {
    out: (l) => err.push(l),
    err: (l) => err.push(l),
  });
  assert.notEqual(code, 0);
  assert.match(err.join('\n'), /--tau-rule must be one of validation, balanced, reference, got "balance"/);
});

test("the MACI table shows every rule's tau, the rule behind the figures and the balanced strata", () => {
  const m = (acc: number) => ({ Acc_3: acc, Non0_acc_2: acc + 0.1 });
  const e: EvaluationRecord = {
    id: 7,
    runId: 1,
    split: 'test',
    protocol: 'MACI',
    seed: 1111,
    checkpoint: 'best',
    engine: 'tfjs-wasm',
    textNote: 'frozen BERT',
    auilc: null,
    createdAt: '2026-01-01T00:00:00Z',
    points: [
      {
        rate: 0,
        metrics: m(0.6),
        maci: {
          tauRule: 'balanced',
          selectedTau: 0.7,
          selectionMetric: 'Non0_acc_2',
          taus: { validation: 0, balanced: 0.7, reference: 1.2 },
          testByRule: { validation: m(0.5), balanced: m(0.6), reference: m(0.65) },
          balanced: {
            description: 'balanced validation: 2 strata by presence of "shortcut"; ESS 61.0 of 200',
            effectiveSampleSize: 61,
            n: 200,
            strata: 2,
          },
          testWithoutDebiasing: m(0.5),
          referenceProtocol: {
            label: 'reference protocol (max over tau on test)',
            values: { Acc_3: { value: 0.65, tau: 1.2 } },
          },
        },
      },
    ],
  };
  const text = evaluationLines(e).join('\n');
  assert.match(text, /tau rule: balanced validation \(the tau column\)/);
  assert.match(
    text,
    /validation 0\.0 \(0\.5000\) {2}balanced 0\.7 \(0\.6000\) {2}reference 1\.2 \(0\.6500\) {2}plain 0\.5000/,
  );
  assert.match(text, /2 strata by presence of "shortcut"; ESS 61\.0 of 200/);
  // the reported row is at the balanced tau
  assert.match(text, /^ {2}0 +0\.6000 +0\.7000 +0\.7$/m);
});
