#!/usr/bin/python3
"""Write a safetensors file's tensors as a PyTorch checkpoint without torch installed.

Reproduces torch.save's zip layout (torch/serialization.py, _save): <archive>/data.pkl is a
protocol-2 pickle of an OrderedDict state dict (with the `_metadata` attribute state_dict()
sets); each tensor reduces to torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
requires_grad, OrderedDict()); each storage is a persistent id
('storage', torch.FloatStorage, key, 'cpu', numel) whose bytes are <archive>/data/<key>;
plus <archive>/byteorder and <archive>/version. Fake `torch` modules make pickle emit the same
GLOBAL opcodes torch would.

usage: torch_bin_writer.py SRC.safetensors OUT.bin [--half NAME]... [--deflate] [--share A B]
"""
import collections
import json
import pickle
import struct
import sys
import types
import zipfile

torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")
torch._utils = torch_utils
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils


def _storage_class(name):
    cls = type(name, (), {})
    cls.__module__ = "torch"
    cls.__qualname__ = name
    setattr(torch, name, cls)
    return cls


FloatStorage = _storage_class("FloatStorage")
HalfStorage = _storage_class("HalfStorage")
LongStorage = _storage_class("LongStorage")
IntStorage = _storage_class("IntStorage")


def _rebuild_tensor_v2(*args):  # never called: only referenced by name in the pickle
    raise RuntimeError("not torch")


_rebuild_tensor_v2.__module__ = "torch._utils"
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2


class Storage:
    def __init__(self, key, cls, numel, data):
        self.key, self.cls, self.numel, self.data = key, cls, numel, data


class Tensor:
    def __init__(self, storage, offset, shape):
        self.storage, self.offset, self.shape = storage, offset, tuple(shape)
        stride, s = [], 1
        for d in reversed(self.shape):
            stride.insert(0, s)
            s *= d
        self.stride = tuple(stride)

    def __reduce_ex__(self, proto):
        return (_rebuild_tensor_v2, (self.storage, self.offset, self.shape, self.stride, False, collections.OrderedDict()))


class TorchLikePickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", obj.cls, obj.key, "cpu", obj.numel)
        return None


def main(argv):
    src, out = argv[0], argv[1]
    half, deflate, share = set(), False, None
    i = 2
    while i < len(argv):
        if argv[i] == "--half":
            half.add(argv[i + 1]); i += 2
        elif argv[i] == "--deflate":
            deflate = True; i += 1
        elif argv[i] == "--share":
            share = (argv[i + 1], argv[i + 2]); i += 3
        else:
            raise SystemExit("unknown argument " + argv[i])
    raw = open(src, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    base = 8 + n
    state = collections.OrderedDict()
    state._metadata = collections.OrderedDict([("", {"version": 1})])
    storages = []
    shared = None
    for name in sorted(header):
        info = header[name]
        a, b = info["data_offsets"]
        data = raw[base + a:base + b]
        numel = 1
        for d in info["shape"]:
            numel *= d
        if info["dtype"] == "F32" and name in half:
            floats = struct.unpack("<%df" % numel, data)
            data = struct.pack("<%de" % numel, *floats)
            cls = HalfStorage
        elif info["dtype"] == "F32":
            cls = FloatStorage
        elif info["dtype"] == "I64":
            cls = LongStorage
        elif info["dtype"] == "I32":
            cls = IntStorage
        else:
            raise SystemExit("dtype %s not handled" % info["dtype"])
        if share and name in share:
            # two tensors in one storage, the second at an offset, as views or tied weights are saved
            if shared is None:
                shared = Storage(str(len(storages)), cls, 0, b"")
                storages.append(shared)
            offset = shared.numel
            shared.numel += numel
            shared.data += data
            state[name] = Tensor(shared, offset, info["shape"])
            continue
        st = Storage(str(len(storages)), cls, numel, data)
        storages.append(st)
        state[name] = Tensor(st, 0, info["shape"])
    import io
    buf = io.BytesIO()
    TorchLikePickler(buf, protocol=2).dump(state)
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(out, "w", compression=method) as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        z.writestr("archive/byteorder", "little")
        for st in storages:
            z.writestr("archive/data/" + st.key, st.data)
        z.writestr("archive/version", "3\n")


if __name__ == "__main__":
    main(sys.argv[1:])
