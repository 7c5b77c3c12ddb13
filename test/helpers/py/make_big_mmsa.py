"""Write a MOSEI-shaped MMSA pickle of a target size without ever holding the big arrays in memory.

The small parts (ids, raw text, token ids, labels, lengths) are pickled by CPython's own Pickler;
each big array is pickled exactly as numpy's ndarray.__reduce__ describes it
(_reconstruct + BUILD (1, shape, dtype, False, data)) through reducer_override, but with an 8-byte
marker in place of its data. The marker op is then replaced by a BINBYTES/BINBYTES8 header and the
data, generated and written chunk by chunk. FRAME opcodes are dropped (framing is optional in
protocol 4+), so the result is a genuine pickle that pickle.load reads.

usage: make_big_mmsa.py OUT --gb 2.1 [--protocol 4] [--no-text] [--check] [--summary OUT.json]
Prints (and writes to --summary) per split/array: shape, float64 sum after -inf -> 0, -inf count.
"""
import argparse, io, json, pickle, pickletools, struct, sys, time
import numpy as np

p = argparse.ArgumentParser()
p.add_argument('out')
p.add_argument('--gb', type=float, default=2.1)
p.add_argument('--protocol', type=int, default=4)
p.add_argument('--no-text', action='store_true')
p.add_argument('--check', action='store_true')
p.add_argument('--summary')
a = p.parse_args()

L, Ta, Tv, da, dv, dl = 50, 500, 500, 74, 35, 768
per = (Ta * da + Tv * dv + (0 if a.no_text else L * dl)) * 4
mosei = [16326, 1871, 4659]
total = int(a.gb * 1e9 / per) + 1
sizes = [max(1, round(total * m / sum(mosei))) for m in mosei]


class Big:
    def __init__(self, idx, shape, seed, neginf):
        self.idx, self.shape, self.seed, self.neginf = idx, shape, seed, neginf
        self.marker = b'BIG' + struct.pack('<I', idx) + b'!'


bigs = []
def big(shape, neginf=False):
    b = Big(len(bigs), shape, 1000 + len(bigs), neginf)
    bigs.append(b)
    return b


rng = np.random.default_rng(0)
words = np.array(['good', 'bad', 'movie', 'the', 'fine', 'ok', 'terrible', 'great', 'plot', 'acting'])
data = {}
for split, n in zip(['train', 'valid', 'test'], sizes):
    tb = np.zeros((n, 3, L), dtype=np.float64)
    lens = rng.integers(5, L + 1, size=n)
    for i, ln in enumerate(lens):
        tb[i, 0, :ln] = rng.integers(1000, 30000, size=ln)
        tb[i, 0, 0], tb[i, 0, ln - 1] = 101, 102
        tb[i, 1, :ln] = 1
    reg = np.round(rng.uniform(-3, 3, size=n) * 3) / 3
    d = {
        'raw_text': np.array([' '.join(rng.choice(words, size=6)) for _ in range(n)], dtype=object),
        'audio': big((n, Ta, da), neginf=True),
        'vision': big((n, Tv, dv)),
        'id': np.array(['%s_%06d' % (split, i) for i in range(n)], dtype=object),
        'text_bert': tb,
        'audio_lengths': [int(x) for x in rng.integers(1, Ta + 1, size=n)],
        'vision_lengths': [int(x) for x in rng.integers(1, Tv + 1, size=n)],
        'annotations': ['Negative' if r < 0 else 'Neutral' if r == 0 else 'Positive' for r in reg],
        'classification_labels': (np.sign(reg) + 1).astype(np.float32),
        'regression_labels': reg.astype(np.float32),
    }
    if not a.no_text:
        d['text'] = big((n, L, dl))
    data[split] = d


class P(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, Big):
            return (np.core.multiarray._reconstruct, (np.ndarray, (0,), b'b'),
                    (1, obj.shape, np.dtype('float32'), False, obj.marker))
        return NotImplemented


buf = io.BytesIO()
P(buf, protocol=a.protocol).dump(data)
small = buf.getvalue()
by_marker = {b.marker: b for b in bigs}
summary = {}
t0 = time.time()
ops = list(pickletools.genops(small))
with open(a.out, 'wb', buffering=1 << 20) as f:
    for k, (op, arg, pos) in enumerate(ops):
        end = ops[k + 1][2] if k + 1 < len(ops) else len(small)
        if op.name == 'FRAME':
            continue
        if op.name in ('SHORT_BINBYTES', 'BINBYTES') and arg in by_marker:
            b = by_marker[arg]
            n = int(np.prod(b.shape))
            nbytes = n * 4
            f.write(b'B' + struct.pack('<I', nbytes) if nbytes < 2**32 else b'\x8e' + struct.pack('<Q', nbytes))
            g = np.random.default_rng(b.seed)
            row = int(np.prod(b.shape[1:]))
            s, ninf = 0.0, 0
            for r0 in range(0, b.shape[0], 64):
                r1 = min(b.shape[0], r0 + 64)
                x = g.standard_normal((r1 - r0) * row, dtype=np.float32)
                if b.neginf:
                    x[::9973] = -np.inf  # like COVAREP's log features, which the reference zeroes
                    ninf += int(np.isneginf(x).sum())
                s += float(np.where(np.isneginf(x), 0, x).astype(np.float64).sum())
                f.write(x.tobytes())
            summary[b.idx] = {'shape': list(b.shape), 'sum': s, 'neginf': ninf}
            continue
        f.write(small[pos:end])

names = {}
for split in data:
    for field, v in data[split].items():
        if isinstance(v, Big):
            names[v.idx] = (split, field)
out = {}
for idx, sm in summary.items():
    split, field = names[idx]
    out.setdefault(split, {})[field] = sm
out['sizes'] = dict(zip(['train', 'valid', 'test'], sizes))
out['bytes'] = __import__('os').path.getsize(a.out)
out['seconds'] = time.time() - t0
if a.check:
    with open(a.out, 'rb') as f:
        back = pickle.load(f)
    for split in back:
        for field in ('audio', 'vision', 'text'):
            if field in back[split]:
                x = back[split][field]
                assert list(x.shape) == out[split][field]['shape'], (split, field)
                assert abs(float(np.where(np.isneginf(x), 0, x).astype(np.float64).sum()) - out[split][field]['sum']) < 1e-3 * max(1, abs(out[split][field]['sum']))
    out['checked'] = True
if a.summary:
    with open(a.summary, 'w') as f:
        json.dump(out, f)
print(json.dumps(out))
