import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../../src/main/ml/random';
import {
  type KeepMasks,
  type MissingLayout,
  type MissingProtocol,
  MODALITIES,
  SMM_SUBSETS,
  UNK_ID,
  dropFractions,
  missingMasks,
  missingView,
  smmRates,
  sweepProtocol,
  textLengthsFromInput,
  trainingMissingMasks,
  validityMasks,
} from '../../../../src/main/ml/eval/missing';

/** A split with random lengths; unaligned uses MOSI's step counts. */
function makeLayout(aligned: boolean, batch = 200, seed = 7): MissingLayout {
  const rng = new Rng(seed);
  const L = 50;
  const textLengths = Array.from({ length: batch }, () => rng.int(2, L + 1));
  if (aligned) return { batch, textSteps: L, audioSteps: L, visionSteps: L, textLengths, aligned };
  return {
    batch,
    textSteps: L,
    audioSteps: 375,
    visionSteps: 500,
    textLengths,
    audioLengths: Array.from({ length: batch }, () => rng.int(0, 376)),
    visionLengths: Array.from({ length: batch }, () => rng.int(0, 501)),
    aligned,
  };
}

const steps = (layout: MissingLayout) => ({
  text: layout.textSteps,
  audio: layout.audioSteps,
  vision: layout.visionSteps,
});

function protocolsFor(aligned: boolean, rate: number): MissingProtocol[] {
  const out: MissingProtocol[] = [
    { kind: 'RMFM', rate },
    { kind: 'RMFM_same', rates: { text: rate, audio: 1 - rate, vision: rate / 2 } },
    { kind: 'RMM', rate },
    ...SMM_SUBSETS.map((keep) => ({ kind: 'SMM' as const, keep })),
  ];
  if (aligned) out.push({ kind: 'TMFM', rate }, { kind: 'STMFM', rate });
  return out;
}

function assertInvariants(layout: MissingLayout, keep: KeepMasks, what: string): void {
  const valid = validityMasks(layout);
  const T = steps(layout);
  for (const m of MODALITIES) {
    assert.equal(keep[m].length, layout.batch * T[m], `${what}: ${m} shape`);
    for (let i = 0; i < keep[m].length; i++) {
      // padding is never "kept": keep is a subset of valid, so dropped = valid - keep is exact
      if (valid[m][i] === 0) assert.equal(keep[m][i], 0, `${what}: ${m} padding ${i}`);
    }
  }
  for (let b = 0; b < layout.batch; b++) {
    const len = layout.textLengths[b];
    assert.equal(keep.text[b * T.text], 1, `${what}: [CLS] of sample ${b}`);
    assert.equal(keep.text[b * T.text + len - 1], 1, `${what}: [SEP] of sample ${b}`);
  }
}

test('CLS/SEP are never dropped and padding is never kept, for every protocol and rate', () => {
  for (const aligned of [false, true]) {
    const layout = makeLayout(aligned, 60);
    for (const rate of [0, 0.1, 0.5, 0.9, 1]) {
      for (const p of protocolsFor(aligned, rate))
        assertInvariants(layout, missingMasks(layout, p), `${aligned ? 'aligned' : 'unaligned'} ${JSON.stringify(p)}`);
    }
  }
  assertInvariants(makeLayout(false, 60), trainingMissingMasks(makeLayout(false, 60), new Rng(3)), 'training');
});

test('rate 0 keeps every valid position; rate 1 drops every droppable one', () => {
  for (const aligned of [false, true]) {
    const layout = makeLayout(aligned, 50);
    const valid = validityMasks(layout);
    for (const kind of aligned ? (['RMFM', 'RMM', 'TMFM', 'STMFM'] as const) : (['RMFM', 'RMM'] as const)) {
      assert.deepEqual(missingMasks(layout, { kind, rate: 0 }), valid, `${kind} at 0`);
      const all = missingMasks(layout, { kind, rate: 1 });
      const fractions = dropFractions(layout, all);
      // text: everything but [CLS]/[SEP] dropped
      assert.equal(fractions.text, 1, `${kind} text at 1`);
      for (let b = 0; b < layout.batch; b++) {
        const kept = all.text.subarray(b * 50, (b + 1) * 50).reduce((s, x) => s + x, 0);
        assert.equal(kept, 2, `${kind}: only [CLS] and [SEP] remain in sample ${b}`);
      }
      // TMFM/STMFM share the text's time mask, so audio/vision also keep steps 0 and len-1
      if (kind === 'RMFM' || kind === 'RMM') {
        assert.equal(
          all.audio.reduce((s, x) => s + x, 0),
          0,
          `${kind} audio at 1`,
        );
        assert.equal(
          all.vision.reduce((s, x) => s + x, 0),
          0,
          `${kind} vision at 1`,
        );
      }
    }
  }
});

test('empirical drop rates are close to p', () => {
  const layout = makeLayout(true, 400);
  for (const p of [0.2, 0.5, 0.8]) {
    // about 400 * 24 droppable text steps: the standard error of the fraction is under 0.006
    const rmfm = dropFractions(layout, missingMasks(layout, { kind: 'RMFM', rate: p }));
    for (const m of MODALITIES) assert.ok(Math.abs(rmfm[m] - p) < 0.03, `RMFM ${m} at ${p}: ${rmfm[m]}`);
    const tmfm = dropFractions(layout, missingMasks(layout, { kind: 'TMFM', rate: p }));
    assert.ok(Math.abs(tmfm.text - p) < 0.03, `TMFM at ${p}: ${tmfm.text}`);
    // RMM: fraction of samples whose whole modality is dropped (400 samples: standard error < 0.025)
    const rmm = missingMasks(layout, { kind: 'RMM', rate: p });
    let droppedAudio = 0;
    for (let b = 0; b < layout.batch; b++) if (rmm.audio[b * 50] === 0) droppedAudio++;
    assert.ok(Math.abs(droppedAudio / layout.batch - p) < 0.08, `RMM audio at ${p}: ${droppedAudio / layout.batch}`);
  }
  // training masks: P(u <= r) with r, u ~ U(0,1) is 1/2
  const train = dropFractions(layout, trainingMissingMasks(layout, new Rng(1111)));
  for (const m of MODALITIES) assert.ok(Math.abs(train[m] - 0.5) < 0.03, `training ${m}: ${train[m]}`);
});

test('the same seed gives identical masks, another seed different ones, and batching does not matter', () => {
  const layout = makeLayout(false, 120);
  const p: MissingProtocol = { kind: 'RMFM', rate: 0.4 };
  assert.deepEqual(missingMasks(layout, p), missingMasks(layout, p, 1111));
  assert.deepEqual(missingMasks(layout, p, 5), missingMasks(layout, p, new Rng(5)));
  assert.notDeepEqual(missingMasks(layout, p, 1111), missingMasks(layout, p, 1112));
  // the second half computed as its own batch equals the second half of the whole split
  const whole = missingMasks(layout, p);
  const half: MissingLayout = {
    ...layout,
    batch: 60,
    firstSample: 60,
    textLengths: Array.from(layout.textLengths).slice(60),
    audioLengths: Array.from(layout.audioLengths!).slice(60),
    visionLengths: Array.from(layout.visionLengths!).slice(60),
  };
  const part = missingMasks(half, p);
  for (const m of MODALITIES) assert.deepEqual(part[m], whole[m].slice(60 * steps(layout)[m]), m);
});

test('masks of one seed are nested across rates, and RMFM_same(p,p,p) equals RMFM(p)', () => {
  const layout = makeLayout(false, 80);
  const low = missingMasks(layout, { kind: 'RMFM', rate: 0.3 });
  const high = missingMasks(layout, { kind: 'RMFM', rate: 0.6 });
  for (const m of MODALITIES) for (let i = 0; i < low[m].length; i++) assert.ok(high[m][i] <= low[m][i], `${m} ${i}`);
  assert.deepEqual(missingMasks(layout, { kind: 'RMFM_same', rates: { text: 0.3, audio: 0.3, vision: 0.3 } }), low);
});

test('SMM keeps exactly the named modalities', () => {
  assert.deepEqual(smmRates('T'), { text: 0, audio: 1, vision: 1 });
  assert.deepEqual(smmRates('AV'), { text: 1, audio: 0, vision: 0 });
  const layout = makeLayout(false, 30);
  const valid = validityMasks(layout);
  const textOnly = missingMasks(layout, { kind: 'SMM', keep: 'T' });
  assert.deepEqual(textOnly.text, valid.text);
  assert.equal(
    textOnly.audio.reduce((s, x) => s + x, 0),
    0,
  );
  assert.equal(
    textOnly.vision.reduce((s, x) => s + x, 0),
    0,
  );
  assert.throws(() => smmRates('X' as never), /keep must be one of T, A, V, TA, TV, AV, TAV/);
});

test('TMFM and STMFM share one time mask; STMFM drops one contiguous block of round((len-2)p) steps', () => {
  const layout = makeLayout(true, 100);
  const t = missingMasks(layout, { kind: 'TMFM', rate: 0.5 });
  assert.deepEqual(t.audio, t.text);
  assert.deepEqual(t.vision, t.text);
  // len 7 at p = 0.5: (7-2)*0.5 = 2.5 -> Python round -> 2 (half to even), start in [1, 5)
  // len 12 at p = 0.25: 10*0.25 = 2.5 -> 2; len 10 at p = 0.5: 8*0.5 = 4
  for (const [len, p, block] of [
    [7, 0.5, 2],
    [12, 0.25, 2],
    [10, 0.5, 4],
    [2, 0.9, 0],
  ]) {
    const small: MissingLayout = {
      batch: 40,
      textSteps: 12,
      audioSteps: 12,
      visionSteps: 12,
      textLengths: new Array(40).fill(len),
      aligned: true,
    };
    const s = missingMasks(small, { kind: 'STMFM', rate: p });
    assert.deepEqual(s.audio, s.text);
    const starts = new Set<number>();
    for (let b = 0; b < 40; b++) {
      const row = Array.from(s.text.subarray(b * 12, b * 12 + len));
      const dropped = row.flatMap((k, i) => (k === 0 ? [i] : []));
      assert.equal(dropped.length, block, `len ${len} p ${p}`);
      if (block > 0) {
        assert.equal(dropped[dropped.length - 1] - dropped[0] + 1, block, 'contiguous');
        assert.ok(dropped[0] >= 1 && dropped[0] < len - block, `start ${dropped[0]}`);
        starts.add(dropped[0]);
      }
    }
    if (len === 7) assert.deepEqual([...starts].sort(), [1, 2, 3, 4], 'every start in [1, len - block) occurs');
  }
});

test('TMFM and STMFM refuse unaligned data with a clear error', () => {
  const layout = makeLayout(false, 4);
  assert.throws(() => missingMasks(layout, { kind: 'TMFM', rate: 0.1 }), /TMFM needs aligned data .* Ta=375, Tv=500/);
  assert.throws(() => missingMasks(layout, { kind: 'STMFM', rate: 0.1 }), /STMFM needs aligned data/);
});

test('bad arguments are named', () => {
  const layout = makeLayout(false, 4);
  assert.throws(() => missingMasks(layout, { kind: 'RMFM', rate: 1.5 }), /protocol.rate must be a rate in \[0, 1\]/);
  assert.throws(
    () => missingMasks({ ...layout, audioLengths: undefined }, { kind: 'RMFM', rate: 0.1 }),
    /layout.audioLengths is required for unaligned data/,
  );
  assert.throws(
    () => missingMasks({ ...layout, textLengths: [1, 2, 3, 4] }, { kind: 'RMFM', rate: 0.1 }),
    /layout.textLengths\[0\] must be an integer in 2..50/,
  );
  assert.throws(() => sweepProtocol('SMM', 0.1), /name must be one of RMFM, RMM, TMFM, STMFM/);
  assert.deepEqual(sweepProtocol('RMM', 0.2), { kind: 'RMM', rate: 0.2 });
});

test('missingView: dropped tokens become [UNK], dropped frames zero, padding and masks untouched', () => {
  // two samples, L = 5, Ta = 3 (da = 2), Tv = 2 (dv = 1); padding carries non-zero junk on purpose
  const text = new Int32Array([
    101, 7, 8, 102, 0, /* mask */ 1, 1, 1, 1, 0, /* segments */ 0, 0, 0, 0, 0, 101, 9, 102, 0, 0, /* mask */ 1, 1, 1, 0,
    0, /* segments */ 0, 0, 0, 0, 0,
  ]);
  assert.deepEqual(Array.from(textLengthsFromInput(text, 2, 5)), [4, 3]);
  const layout: MissingLayout = {
    batch: 2,
    textSteps: 5,
    audioSteps: 3,
    visionSteps: 2,
    textLengths: [4, 3],
    audioLengths: [3, 2],
    visionLengths: [1, 2],
    aligned: false,
  };
  const audio = new Float32Array([1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 9, 9]);
  const vision = new Float32Array([1, 9, 2, 3]);
  const keep: KeepMasks = {
    text: new Uint8Array([1, 0, 1, 1, 0, 1, 0, 1, 0, 0]),
    audio: new Uint8Array([1, 0, 1, 0, 1, 0]),
    vision: new Uint8Array([0, 0, 1, 1]),
  };
  const view = missingView({ text, audio, vision }, layout, keep);
  assert.deepEqual(Array.from(view.text), [
    101,
    UNK_ID,
    8,
    102,
    0,
    1,
    1,
    1,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    101,
    UNK_ID,
    102,
    0,
    0,
    1,
    1,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
  assert.deepEqual(Array.from(view.audio), [1, 1, 0, 0, 3, 3, 0, 0, 5, 5, 9, 9]);
  assert.deepEqual(Array.from(view.vision), [0, 9, 2, 3]);
  assert.deepEqual(Array.from(text.subarray(0, 5)), [101, 7, 8, 102, 0], 'the input is not modified');
  const keepsPadding = { ...keep, text: new Uint8Array([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]) };
  assert.throws(() => missingView({ text, audio, vision }, layout, keepsPadding), /keep.text keeps padding position 4/);
  assert.throws(
    () => textLengthsFromInput(new Int32Array([101, 102, 0, 1, 0, 1, 0, 0, 0]), 1, 3),
    /not a prefix attention mask/,
  );
});

test('training masks advance their stream and reproduce from the same seed', () => {
  const layout = makeLayout(false, 20);
  const a = new Rng(1111).child('missing');
  const b = new Rng(1111).child('missing');
  const first = trainingMissingMasks(layout, a);
  assert.deepEqual(first, trainingMissingMasks(layout, b));
  assert.notDeepEqual(first, trainingMissingMasks(layout, a));
});
