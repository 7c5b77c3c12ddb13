"""Write CMU-MultimodalSDK-style .csd files (HDF5) with h5py: audio, vision, labels, words, and
folds. Prints a JSON with every value.  usage: make_csd.py DIR [--defect nan]"""
import json, os, sys
import h5py
import numpy as np

d = sys.argv[1]
defect = sys.argv[3] if len(sys.argv) > 3 else ''
rng = np.random.default_rng(5)
ids = ['seg%02d' % i for i in range(9)]
folds = {'train': ids[:5], 'valid': ids[5:7], 'test': ids[7:] + ['missing_id']}
exp = {'folds': folds, 'audio': {}, 'vision': {}, 'labels': {}, 'words': {}}

def write(name, root, make, dtype='f8'):
    with h5py.File(os.path.join(d, name), 'w') as f:
        g = f.create_group(root)
        data = g.create_group('data')
        for i, sid in enumerate(ids):
            feats = make(i, sid)
            s = data.create_group(sid)
            s.create_dataset('features', data=feats)
            s.create_dataset('intervals', data=np.stack([np.arange(len(feats)), np.arange(len(feats)) + 1], 1).astype('f8'))
        m = g.create_group('metadata')
        m.create_dataset('root name', data=root)
        m.create_dataset('computational sequence description', data='test fixture for ' + root)

def audio(i, sid):
    x = rng.standard_normal((3 + i, 4))
    if i == 1:
        x[0, 1] = -np.inf
    if defect == 'nan' and i == 6:
        x[2, 3] = np.nan
    clean = np.where(np.isneginf(x), 0, x).astype(np.float32)
    exp['audio'][sid] = [[None if np.isnan(v) else float(v) for v in r] for r in clean]  # JSON has no NaN
    return x
def vision(i, sid):
    x = rng.standard_normal((2 + (i * 2) % 5, 3)).astype('f4')
    exp['vision'][sid] = x.tolist()
    return x
def labels(i, sid):
    x = np.array([[[-2.5, 0.0, 1.4, -0.2, 3.0, 0.6, -1.0, 2.2, 0.0][i]]])
    exp['labels'][sid] = float(x[0, 0])
    return x
def words(i, sid):
    w = ['sp', 'this', 'is', 'sp', 'clip', str(i)]
    exp['words'][sid] = ' '.join(x for x in w if x != 'sp')
    return np.array([[x.encode()] for x in w], dtype='S')

write('CMU_MOSI_COVAREP.csd', 'COVAREP', audio)
write('CMU_MOSI_Visual_Facet_41.csd', 'FACET 4.1', vision)
write('CMU_MOSI_Opinion_Labels.csd', 'Opinion Segment Labels', labels)
write('CMU_MOSI_TimestampedWords.csd', 'words', words)
print(json.dumps(exp))
