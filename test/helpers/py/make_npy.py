"""Write .npy fixtures: confounder vectors (float64), priors (float32), v1/v2/v3 headers, odd dtypes.

usage: make_npy.py DIR   (prints a JSON of every file's expected shape, dtype and values)
"""
import json, os, sys
import numpy as np
from numpy.lib import format as fmt

d = sys.argv[1]
rng = np.random.default_rng(3)
out = {}
def save(name, a, version=None):
    p = os.path.join(d, name)
    if version is None:
        np.save(p, a)
    else:
        with open(p, 'wb') as f:
            fmt.write_array(f, a, version=version)
    out[name] = {'shape': list(a.shape), 'dtype': a.dtype.str, 'values': a.reshape(-1).tolist() if a.dtype != object else list(a.reshape(-1))}

save('confounder_iid_binary_train_unaligned.npy', rng.standard_normal(768 + 74 + 35))
save('prior_iid_binary_train.npy', np.array([0.3, 0.2, 0.5], dtype=np.float32))
save('prior_seven.npy', np.full(7, 1 / 7, dtype=np.float32))
save('v2.npy', np.arange(12, dtype='>i4').reshape(3, 4), version=(2, 0))
save('v3.npy', np.array(['é', 'ab']), version=(3, 0))
save('fortran.npy', np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)))
save('objects.npy', np.array(['x', 'yy'], dtype=object)) if False else None
a = np.empty(2, dtype=object); a[0] = 'x'; a[1] = 'yy'
np.save(os.path.join(d, 'objects.npy'), a, allow_pickle=True)
out['objects.npy'] = {'shape': [2], 'dtype': '|O', 'values': ['x', 'yy']}
nan = rng.standard_normal(877); nan[5] = np.nan
np.save(os.path.join(d, 'confounder_nan.npy'), nan)
np.save(os.path.join(d, 'confounder_short.npy'), rng.standard_normal(800))
np.save(os.path.join(d, 'prior_bad.npy'), np.ones(4, dtype=np.float32))
full = open(os.path.join(d, 'confounder_iid_binary_train_unaligned.npy'), 'rb').read()
open(os.path.join(d, 'truncated.npy'), 'wb').write(full[:len(full) - 100])
print(json.dumps(out))
