#!/usr/bin/python3
"""Independent numpy reference of Hugging Face BertModel's forward pass (last_hidden_state).

Written from the equations in transformers/models/bert/modeling_bert.py, not from our
TypeScript: float64 throughout, weights read straight from model.safetensors (struct + json,
no safetensors package), Linear as x @ W.T + b with W stored (out, in) as PyTorch does, the
extended attention mask (1 - mask) * finfo(float32).min broadcast over heads and query rows,
exact erf GELU, LayerNorm with biased variance.

usage: bert_reference.py MODEL_DIR IDS.json OUT.f64
  IDS.json: {"ids": [[...]], "mask": [[...]], "segments": [[...]]}   (B lists of L ints)
  OUT.f64: B*L*H little-endian float64, row-major
"""
import json
import math
import struct
import sys

import numpy as np


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        dt = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "I32": "<i4"}[info["dtype"]]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=dt).reshape(info["shape"]).astype(np.float64)
    return out


def erf(x):
    # math.erf is the C library's erf (exact to double precision); vectorise it
    return np.vectorize(math.erf)(x)


def gelu(x):
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def main(model_dir, ids_file, out_file):
    cfg = json.load(open(model_dir + "/config.json"))
    W = {}
    for k, v in read_safetensors(model_dir + "/model.safetensors").items():
        W[k[5:] if k.startswith("bert.") else k] = v
    inp = json.load(open(ids_file))
    ids = np.array(inp["ids"], dtype=np.int64)
    mask = np.array(inp["mask"], dtype=np.float64)
    seg = np.array(inp["segments"], dtype=np.int64)
    B, L = ids.shape
    H = cfg["hidden_size"]
    nh = cfg["num_attention_heads"]
    dh = H // nh
    eps = cfg.get("layer_norm_eps", 1e-12)

    def linear(x, name):
        return x @ W[name + ".weight"].T + W[name + ".bias"]

    pos = np.arange(L)
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][pos][None] + W["embeddings.token_type_embeddings.weight"][seg]
    x = layer_norm(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"], eps)
    ext = (1.0 - mask)[:, None, None, :] * float(np.finfo(np.float32).min)
    for l in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % l

        def heads(t):
            return t.reshape(B, L, nh, dh).transpose(0, 2, 1, 3)

        q = heads(linear(x, p + "attention.self.query"))
        k = heads(linear(x, p + "attention.self.key"))
        v = heads(linear(x, p + "attention.self.value"))
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh) + ext
        s = s - s.max(-1, keepdims=True)
        e = np.exp(s)
        probs = e / e.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(B, L, H)
        a = layer_norm(linear(ctx, p + "attention.output.dense") + x, W[p + "attention.output.LayerNorm.weight"], W[p + "attention.output.LayerNorm.bias"], eps)
        inter = gelu(linear(a, p + "intermediate.dense"))
        x = layer_norm(linear(inter, p + "output.dense") + a, W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"], eps)
    x.astype("<f8").tofile(out_file)


if __name__ == "__main__":
    main(*sys.argv[1:4])
