"""Write a small dataset in MMSA's pickle layout (what aligned_50.pkl / unaligned_50.pkl hold),
plus a JSON file with every value, so the tests can compare the import field by field.

usage: make_mmsa.py OUT --expect OUT.json [--protocol N] [--format pickle|joblib|joblib-zlib|joblib-gzip]
                    [--sizes 5,3,4] [--aligned [--aligned-lengths]] [--L 8] [--Ta 6] [--Tv 7] [--da 5] [--dv 4]
                    [--neginf K] [--defect NAME] [--seed S] [--dtype float32|float64] [--no-text]
Defects: nan-vision, long-length, label-range, missing-valid, shape-audio, posinf-audio
"""
import argparse, json, pickle, sys
import numpy as np

p = argparse.ArgumentParser()
p.add_argument('out')
p.add_argument('--expect', required=True)
p.add_argument('--protocol', type=int, default=4)
p.add_argument('--format', default='pickle')
p.add_argument('--sizes', default='5,3,4')
p.add_argument('--aligned', action='store_true')
p.add_argument('--L', type=int, default=8)
p.add_argument('--Ta', type=int, default=6)
p.add_argument('--Tv', type=int, default=7)
p.add_argument('--da', type=int, default=5)
p.add_argument('--dv', type=int, default=4)
p.add_argument('--neginf', type=int, default=0)
p.add_argument('--defect', default='')
p.add_argument('--seed', type=int, default=0)
p.add_argument('--dtype', default='float32')
p.add_argument('--no-text', action='store_true')
# aligned files that carry audio/vision lengths equal to the text lengths (MMSA aligned_50, CIDer OOD)
p.add_argument('--aligned-lengths', action='store_true')
a = p.parse_args()

rng = np.random.default_rng(a.seed)
sizes = [int(x) for x in a.sizes.split(',')]
L = a.L
Ta, Tv = (L, L) if a.aligned else (a.Ta, a.Tv)
words = ['good', 'bad', 'movie', 'the', 'fine', 'ok', 'terrible', 'great', 'plot', 'é']
data, expect = {}, {}
for split, n in zip(['train', 'valid', 'test'], sizes):
    ids = np.array(['vid%d_%s_%d' % (i % 3, split, i) for i in range(n)], dtype=object)
    raw = np.array([' '.join(rng.choice(words, size=rng.integers(2, L - 2))) for _ in range(n)], dtype=object)
    tb = np.zeros((n, 3, L), dtype=np.float64)
    for i in range(n):
        ln = int(rng.integers(3, L + 1))
        tb[i, 0, :ln] = rng.integers(1000, 3000, size=ln)
        tb[i, 0, 0] = 101
        tb[i, 0, ln - 1] = 102
        tb[i, 1, :ln] = 1
    audio = rng.standard_normal((n, Ta, a.da)).astype(a.dtype)
    vision = rng.standard_normal((n, Tv, a.dv)).astype(a.dtype)
    if a.aligned:
        alen = tb[:, 1, :].sum(1).astype(int).tolist()
        vlen = alen
    else:
        alen = [int(x) for x in rng.integers(1, Ta + 1, size=n)]
        vlen = [int(x) for x in rng.integers(1, Tv + 1, size=n)]
    neg = 0
    if a.neginf and split == 'train':
        flat = audio.reshape(-1)
        idx = rng.choice(flat.size, size=a.neginf, replace=False)
        flat[idx] = -np.inf
        neg = a.neginf
    # scores on MOSI's grid: multiples of 1/3 incl. exact 0 and halves (rounding ties)
    reg = rng.choice(np.array([-3, -2.5, -1.6666666, -0.5, 0, 0, 0.3333333, 1.5, 2.5, 3.0]), size=n).astype(np.float32)
    if a.defect == 'nan-vision' and split == 'valid':
        vision[1, 2, 3 % a.dv] = np.nan
    if a.defect == 'posinf-audio' and split == 'test':
        audio[0, 0, 0] = np.inf
    if a.defect == 'long-length' and split == 'train':
        alen[2] = Ta + 5
    if a.defect == 'label-range' and split == 'test':
        reg[1] = 3.5
    if a.defect == 'shape-audio' and split == 'valid':
        audio = audio[:, :, :-1].copy()
    d = {
        'raw_text': raw, 'audio': audio, 'vision': vision, 'id': ids,
        'text_bert': tb, 'annotations': ['Negative' if r < 0 else 'Neutral' if r == 0 else 'Positive' for r in reg],
        'classification_labels': np.sign(reg).astype(np.float32) + 1,
        'regression_labels': reg,
    }
    if not a.no_text:
        d['text'] = rng.standard_normal((n, L, 12)).astype(np.float32)
    if not a.aligned or a.aligned_lengths:
        d['audio_lengths'] = alen
        d['vision_lengths'] = vlen
    data[split] = d
    clean = audio.copy()
    clean[np.isneginf(clean)] = 0
    expect[split] = {
        'id': ids.tolist(), 'raw_text': raw.tolist(), 'text_bert': tb.astype(int).tolist(),
        'audio': clean.astype(np.float32).reshape(-1).tolist(), 'vision': vision.astype(np.float32).reshape(-1).tolist(),
        'audio_shape': list(audio.shape), 'vision_shape': list(vision.shape),
        'audio_lengths': [int(x) for x in alen], 'vision_lengths': [int(x) for x in vlen],
        'regression': reg.tolist(),
        'labels3': [0 if r < 0 else 1 if r == 0 else 2 for r in reg.tolist()],
        'labels7': [int(x) for x in (np.round(np.clip(reg, -3, 3)) + 3).tolist()],
        'neginf': neg,
        'text': d['text'].reshape(-1).tolist() if 'text' in d else None,
    }
if a.defect == 'missing-valid':
    del data['valid']

if a.format == 'pickle':
    with open(a.out, 'wb') as f:
        pickle.dump(data, f, protocol=a.protocol)
else:
    import joblib
    comp = {'joblib': 0, 'joblib-zlib': ('zlib', 3), 'joblib-gzip': ('gzip', 3)}[a.format]
    joblib.dump(data, a.out, compress=comp, protocol=a.protocol)
def finite(x):
    # JSON has no NaN/inf: defect fixtures carry None where the file holds a non-finite value
    if isinstance(x, float) and not np.isfinite(x):
        return None
    if isinstance(x, list):
        return [finite(y) for y in x]
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    return x
with open(a.expect, 'w') as f:
    json.dump(finite(expect) if a.defect else expect, f)
