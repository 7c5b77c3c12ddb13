"""Write pickles of assorted Python and numpy values (protocols 0..5) and of malicious payloads.

usage: make_pickles.py values DIR   -> DIR/values-pN.pkl for N in 0..5 and DIR/values.json
       make_pickles.py evil DIR     -> DIR/evil-*.pkl (each references a forbidden global)
"""
import collections, json, os, pickle, sys
import numpy as np

mode, out = sys.argv[1], sys.argv[2]

def arr(a):
    return {'ndarray': True, 'shape': list(a.shape), 'dtype': a.dtype.str, 'values': a.reshape(-1).tolist() if a.dtype != object else list(a.reshape(-1))}

if mode == 'values':
    v = {
        'int': 5, 'neg': -70000, 'big': 2 ** 70, 'negbig': -(2 ** 65), 'float': 1.5, 'str': 'héllo ✓', 'bytes': b'\x00\xff',
        'list': [1, 2, [3]], 'tuple': (1, 'a'), 'nested': {'a': [None, True, False]}, 'set': {1, 2}, 'frozenset': frozenset([3]),
        'od': collections.OrderedDict(a=1, b=2), 'bytearray': bytearray(b'ab'), 'long_str': 'x' * 300, 'shared': None,
        'f64': np.arange(6.0).reshape(2, 3), 'f32': np.array([0.1, -2.5], dtype=np.float32), 'i8': np.array([-1, 2], dtype=np.int8),
        'u8': np.array([0, 255], dtype=np.uint8), 'b': np.array([True, False]), 'i64': np.array([-(2 ** 40), 3]), 'i16': np.array([-300, 7], dtype=np.int16),
        'i32': np.array([[1], [2]], dtype=np.int32), 'U': np.array(['a', 'bcd', 'é✓']), 'obj': np.array(['x', 'yy'], dtype=object),
        'scalar_f': np.float64(2.5), 'scalar_i': np.int64(7), 'scalar_f32': np.float32(0.25),
        'fortran': np.asfortranarray(np.arange(6).reshape(2, 3).astype(np.float32)), 'bigendian': np.array([1.5, 2], dtype='>f8'),
        'empty': np.zeros((0, 3)), 'zero_d': np.array(4.0),
    }
    lst = [1, 2]
    v['shared'] = [lst, lst]
    for proto in range(6):
        with open(os.path.join(out, 'values-p%d.pkl' % proto), 'wb') as f:
            pickle.dump(v, f, protocol=proto)
    def plain(x):
        if isinstance(x, np.ndarray):
            return arr(x)
        if isinstance(x, np.generic):
            return x.item()
        if isinstance(x, (bytes, bytearray)):
            return {'bytes': list(x)}
        if isinstance(x, (set, frozenset)):
            return {'set': sorted(x)}
        if isinstance(x, tuple):
            return {'tuple': [plain(y) for y in x]}
        if isinstance(x, list):
            return [plain(y) for y in x]
        if isinstance(x, dict):
            return {k: plain(y) for k, y in x.items()}
        if isinstance(x, int) and abs(x) > 2 ** 53:
            return {'bigint': str(x)}
        return x
    with open(os.path.join(out, 'values.json'), 'w') as f:
        json.dump(plain(v), f)
elif mode == 'evil':
    sentinel = os.path.join(out, 'PWNED')
    class Sys:
        def __reduce__(self):
            return (os.system, ('touch ' + sentinel,))
    class Eval:
        def __reduce__(self):
            return (eval, ("open(%r, 'w').write('x')" % sentinel,))
    for proto in (0, 2, 4, 5):
        with open(os.path.join(out, 'evil-system-p%d.pkl' % proto), 'wb') as f:
            pickle.dump({'train': {'audio': np.zeros((2, 3, 4), dtype=np.float32)}, 'x': Sys()}, f, protocol=proto)
    with open(os.path.join(out, 'evil-eval.pkl'), 'wb') as f:
        pickle.dump([np.arange(3), Eval()], f, protocol=4)
    # hidden in an object array (numpy pickles the items inside the array's state)
    a = np.empty(2, dtype=object)
    a[0], a[1] = 'ok', Sys()
    with open(os.path.join(out, 'evil-objarray.pkl'), 'wb') as f:
        pickle.dump({'train': {'raw_text': a}}, f, protocol=4)
    import joblib
    joblib.dump({'train': {'audio': np.ones((3, 2), dtype=np.float32), 'id': a}}, os.path.join(out, 'evil-joblib.pkl'))
    # protocol-0 INST opcode, hand written: (S'touch ...'\nios\nsystem\n.
    with open(os.path.join(out, 'evil-inst.pkl'), 'wb') as f:
        f.write(b"(S'touch " + sentinel.encode() + b"'\nios\nsystem\n.")
    print(os.name)
