/** The CLI flags issue 15 adds: help texts list them, bad values are refused with the flag named. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../../src/cli/main';
import { parseLossWeights } from '../../src/cli/commands/training';
import { UsageError } from '../../src/cli/args';

test('help lists compare-ood --checkpoint/--with/--tau-rule, train --no-mssd/--loss-weights/--selection-metric, ablate', async () => {
  const out: string[] = [];
  assert.equal(await runCli(['help'], { out: (l) => out.push(l), err: (l) => out.push(l) }), 0);
  const help = out.join('\n');
  assert.match(
    help,
    /compare-ood RUN \[--ood DATASET_ID\] \[--with RUN2\] \[--tau-rule validation\|reference\] \[--checkpoint best\|last\]/,
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
