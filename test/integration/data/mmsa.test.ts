import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { importMmsa } from '../../../src/main/data/mmsa';
import { FeatureStore, SPLITS } from '../../../src/main/data/featureStore';
import { DataImportError } from '../../../src/main/data/errors';
import { makeMmsa, pythonHas, tempDir, type MmsaExpect } from '../../helpers/datasets';

const skip = pythonHas('numpy', 'joblib')
  ? false
  : 'Debian python3 with numpy and joblib is not installed (/usr/bin/python3)';

function close(a: ArrayLike<number>, b: ArrayLike<number>, what: string) {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) if (Math.fround(b[i]) !== a[i]) assert.fail(`${what}[${i}]: ${a[i]} != ${b[i]}`);
}

async function compareAll(dir: string, expect: MmsaExpect, opts: { text?: boolean } = {}) {
  const store = await FeatureStore.open(dir);
  try {
    for (const s of SPLITS) {
      const e = expect[s];
      const r = store.split(s);
      assert.equal(r.count, e.id.length);
      const sm = await r.samples();
      assert.deepEqual(sm.ids, e.id);
      assert.deepEqual(sm.rawText, e.raw_text);
      assert.deepEqual(r.entry('audio').shape, e.audio_shape);
      assert.deepEqual(r.entry('vision').shape, e.vision_shape);
      close(await r.read('audio'), e.audio, `${s}.audio`);
      close(await r.read('vision'), e.vision, `${s}.vision`);
      close(await r.read('textBert'), e.text_bert.flat(2), `${s}.textBert`);
      close(await r.read('audioLengths'), e.audio_lengths, `${s}.audioLengths`);
      close(await r.read('visionLengths'), e.vision_lengths, `${s}.visionLengths`);
      close(await r.read('regression'), e.regression, `${s}.regression`);
      close(await r.read('labels3'), e.labels3, `${s}.labels3`);
      close(await r.read('labels7'), e.labels7, `${s}.labels7`);
      if (opts.text !== false && e.text) close(await r.read('text'), e.text, `${s}.text`);
      assert.equal(r.manifest.zeroedNegInfAudio, e.neginf);
      // a sub-range equals the slice of the whole
      if (r.count >= 3) {
        const rowA = e.audio_shape[1] * e.audio_shape[2];
        close(await r.read('audio', 1, 3), e.audio.slice(rowA, 3 * rowA), `${s}.audio[1:3]`);
        close(
          await r.readRows('vision', [2, 0]),
          [
            ...e.vision.slice(2 * e.vision_shape[1] * e.vision_shape[2], 3 * e.vision_shape[1] * e.vision_shape[2]),
            ...e.vision.slice(0, e.vision_shape[1] * e.vision_shape[2]),
          ],
          `${s}.vision[[2,0]]`,
        );
      }
    }
    return store.manifest;
  } finally {
    await store.close();
  }
}

for (const protocol of [2, 3, 4, 5]) {
  for (const spill of [false, true]) {
    test(
      `MMSA pickle, protocol ${protocol}${spill ? ', arrays streamed to disk' : ''}: every value imported`,
      { skip },
      async () => {
        const t = tempDir();
        try {
          const { file, expect } = makeMmsa(t.dir, `p${protocol}.pkl`, [
            '--protocol',
            String(protocol),
            '--neginf',
            '4',
            '--seed',
            String(protocol),
          ]);
          const out = path.join(t.dir, 'ds');
          const progress: number[] = [];
          const { manifest } = await importMmsa(file, {
            outDir: out,
            spillThreshold: spill ? 64 : undefined,
            onProgress: (p) => p.phase === 'reading' && progress.push(p.done),
          });
          assert.equal(manifest.aligned, false);
          assert.deepEqual(manifest.dims, { L: 8, Ta: 6, da: 5, Tv: 7, dv: 4, dl: 12 });
          assert.ok(
            manifest.warnings.some((w) => /4 audio values of -inf set to 0/.test(w)),
            manifest.warnings.join('; '),
          );
          assert.ok(progress.length > 0 && progress.at(-1) === fs.statSync(file).size);
          await compareAll(out, expect);
          // nothing but the dataset folder is left next to it
          assert.deepEqual(
            fs.readdirSync(t.dir).filter((f) => f.startsWith('.')),
            [],
          );
          assert.ok(!fs.existsSync(path.join(out, 'spill')));
        } finally {
          t.cleanup();
        }
      },
    );
  }
}

for (const format of ['joblib', 'joblib-zlib', 'joblib-gzip']) {
  for (const protocol of [2, 4, 5]) {
    test(`CIDer OOD ${format} dump (protocol ${protocol}): every value imported`, { skip }, async () => {
      const t = tempDir();
      try {
        const { file, expect } = makeMmsa(t.dir, `ood.${format}`, [
          '--format',
          format,
          '--protocol',
          String(protocol),
          '--sizes',
          '6,2,3',
          '--seed',
          '7',
        ]);
        const out = path.join(t.dir, 'ds');
        const { manifest } = await importMmsa(file, { outDir: out, spillThreshold: protocol === 4 ? 100 : undefined });
        assert.equal(manifest.source.kind, 'joblib');
        await compareAll(out, expect);
      } finally {
        t.cleanup();
      }
    });
  }
}

test('aligned_50 layout (no lengths, Ta = Tv = L): lengths are the text lengths', { skip }, async () => {
  const t = tempDir();
  try {
    const { file, expect } = makeMmsa(t.dir, 'aligned_50.pkl', ['--aligned', '--dtype', 'float64', '--no-text']);
    const out = path.join(t.dir, 'ds');
    const { manifest } = await importMmsa(file, { outDir: out });
    assert.equal(manifest.aligned, true);
    assert.equal(manifest.dims.Ta, 8);
    await compareAll(out, expect);
  } finally {
    t.cleanup();
  }
});

test('labels: 3-class by sign, 7-class by round-half-even of the clipped score', { skip }, async () => {
  const t = tempDir();
  try {
    const { file, expect } = makeMmsa(t.dir, 'x.pkl', ['--sizes', '40,10,10']);
    const { manifest } = await importMmsa(file, { outDir: path.join(t.dir, 'ds') });
    for (const s of SPLITS) {
      const c3 = [0, 0, 0];
      for (const l of expect[s].labels3) c3[l]++;
      assert.deepEqual(manifest.splits[s].labelCounts.three, c3);
    }
    // the importer's labels, derived here from the importer's own scores: -2.5 -> -2 (class 1),
    // 2.5 -> 2 (class 5), 1.5 -> 2 (class 5), beyond +-3 clipped
    const halfEven = (x: number) => (Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x));
    const store = await FeatureStore.open(path.join(t.dir, 'ds'));
    let halves = 0;
    try {
      for (const s of SPLITS) {
        const r = store.split(s);
        const scores = await r.regression();
        const l3 = await r.labels3();
        const l7 = await r.labels7();
        assert.equal(scores.length, expect[s].regression.length);
        scores.forEach((y, i) => {
          assert.equal(l3[i], y < 0 ? 0 : y > 0 ? 2 : 1, `${s} #${i} score ${y}: 3-class`);
          assert.equal(l7[i], halfEven(Math.min(3, Math.max(-3, y))) + 3, `${s} #${i} score ${y}: 7-class`);
          if (Math.abs(y % 1) === 0.5) halves++;
        });
      }
    } finally {
      await store.close();
    }
    assert.ok(halves > 0, 'the fixture has scores at .5, where rounding half to even matters');
  } finally {
    t.cleanup();
  }
});

async function expectFailure(args: string[], re: RegExp, fields: { split?: string; field?: string }, name = 'bad.pkl') {
  const t = tempDir();
  try {
    const { file } = makeMmsa(t.dir, name, args);
    const out = path.join(t.dir, 'ds');
    await assert.rejects(importMmsa(file, { outDir: out, spillThreshold: 256 }), (e: unknown) => {
      assert.ok(e instanceof DataImportError, String(e));
      assert.match(e.message, re);
      assert.equal(e.file, name);
      assert.equal(e.split, fields.split);
      assert.equal(e.field, fields.field);
      return true;
    });
    // a failed import leaves nothing behind
    assert.deepEqual(fs.readdirSync(t.dir).sort(), [name, `${name}.expect.json`].sort());
  } finally {
    t.cleanup();
  }
}

test('NaN in vision is refused with file, split, field and position', { skip }, () =>
  expectFailure(
    ['--defect', 'nan-vision'],
    /^bad\.pkl: split 'valid', field 'vision': 1 NaN value; the first at sample 1, index \[2, 3\]/,
    { split: 'valid', field: 'vision' },
  ),
);
test('+inf in audio is refused (only -inf is zeroed)', { skip }, () =>
  expectFailure(['--defect', 'posinf-audio'], /field 'audio': 1 \+inf value; the first at sample 0, index \[0, 0\]/, {
    split: 'test',
    field: 'audio',
  }),
);
test('a length longer than the array is refused', { skip }, () =>
  expectFailure(
    ['--defect', 'long-length'],
    /split 'train', field 'audio_lengths': sample 2 \(id 'vid2_train_2'\) has length 11 but the array holds 6 frames/,
    { split: 'train', field: 'audio_lengths' },
  ),
);
test('a label out of [-3, 3] is refused', { skip }, () =>
  expectFailure(
    ['--defect', 'label-range'],
    /field 'regression_labels': sample 1 .* has score 3\.5, outside \[-3, 3\]/,
    { split: 'test', field: 'regression_labels' },
  ),
);
test('a missing split is refused', { skip }, () =>
  expectFailure(['--defect', 'missing-valid'], /missing split 'valid' \(the file has: train, test\)/, {
    split: 'valid',
    field: undefined,
  }),
);
test('a feature dimension that differs between splits is refused', { skip }, () =>
  expectFailure(['--defect', 'shape-audio'], /split 'valid', field 'audio': da = 4 but split 'train' has da = 5/, {
    split: 'valid',
    field: 'audio',
  }),
);

test('NaN can be zeroed on request, with a warning', { skip }, async () => {
  const t = tempDir();
  try {
    const { file } = makeMmsa(t.dir, 'nan.pkl', ['--defect', 'nan-vision']);
    const { manifest } = await importMmsa(file, { outDir: path.join(t.dir, 'ds'), nonFinite: 'zero' });
    assert.ok(manifest.warnings.some((w) => /valid: 1 NaN\/infinite vision values set to 0/.test(w)));
  } finally {
    t.cleanup();
  }
});

for (const [format, spill] of [
  ['pickle', 256],
  ['pickle', undefined],
  ['joblib', 256],
  ['joblib-zlib', undefined],
] as const) {
  test(
    `a truncated ${format} file is refused and leaves nothing behind${spill ? ' (streaming)' : ''}`,
    { skip },
    async () => {
      const t = tempDir();
      try {
        const { file } = makeMmsa(t.dir, 'trunc.bin', ['--format', format, '--sizes', '20,5,5']);
        const full = fs.readFileSync(file);
        for (const frac of [0.1, 0.5, 0.97]) {
          fs.writeFileSync(file, full.subarray(0, Math.floor(full.length * frac)));
          const out = path.join(t.dir, 'ds');
          await assert.rejects(importMmsa(file, { outDir: out, spillThreshold: spill }), (e: unknown) => {
            assert.ok(e instanceof DataImportError, String(e));
            assert.match(e.message, /^trunc\.bin: .*(truncated|corrupt)/);
            return true;
          });
          assert.deepEqual(fs.readdirSync(t.dir).sort(), ['trunc.bin', 'trunc.bin.expect.json']);
        }
      } finally {
        t.cleanup();
      }
    },
  );
}

test('a corrupt byte is refused with the opcode position', { skip }, async () => {
  const t = tempDir();
  try {
    const { file } = makeMmsa(t.dir, 'c.pkl', ['--protocol', '2']);
    const b = fs.readFileSync(file);
    b[2] = 0xff;
    fs.writeFileSync(file, b);
    await assert.rejects(
      importMmsa(file, { outDir: path.join(t.dir, 'ds') }),
      /c\.pkl: unknown pickle opcode 0xff: the file is corrupt or not a pickle \(pickle opcode 0xff at byte 2\)/,
    );
  } finally {
    t.cleanup();
  }
});

test('cancelling through the AbortSignal leaves nothing behind', { skip }, async () => {
  const t = tempDir();
  try {
    const { file } = makeMmsa(t.dir, 'big.pkl', [
      '--sizes',
      '300,50,50',
      '--Ta',
      '200',
      '--Tv',
      '200',
      '--da',
      '40',
      '--dv',
      '40',
    ]);
    const ac = new AbortController();
    const out = path.join(t.dir, 'ds');
    await assert.rejects(
      importMmsa(file, {
        outDir: out,
        signal: ac.signal,
        spillThreshold: 4096,
        onProgress: (p) => p.phase === 'validating' && ac.abort(),
      }),
      (e: unknown) => (e as { code?: string }).code === 'CANCELLED',
    );
    assert.deepEqual(fs.readdirSync(t.dir).sort(), ['big.pkl', 'big.pkl.expect.json']);
  } finally {
    t.cleanup();
  }
});

test('an existing dataset folder is never overwritten', { skip }, async () => {
  const t = tempDir();
  try {
    const { file } = makeMmsa(t.dir, 'a.pkl');
    const out = path.join(t.dir, 'ds');
    fs.mkdirSync(out);
    await assert.rejects(importMmsa(file, { outDir: out }), /already exists/);
  } finally {
    t.cleanup();
  }
});
