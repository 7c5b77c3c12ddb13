#!/usr/bin/python3
"""PyTorch reference for the parity test; runs only where torch is installed.

Loads the tiny BERT's pytorch_model.bin with torch.load(weights_only=True) and runs
transformers.BertModel when transformers is importable (eval mode, eager attention), otherwise
the same equations written with torch ops (nn.functional.linear / layer_norm / gelu / softmax).

usage: bert_torch_parity.py MODEL_DIR IDS.json OUT.f64   (same files as bert_reference.py)
"""
import json
import math
import sys

import torch
import torch.nn.functional as F


def main(model_dir, ids_file, out_file):
    cfg = json.load(open(model_dir + "/config.json"))
    sd = torch.load(model_dir + "/pytorch_model.bin", map_location="cpu", weights_only=True)
    sd = {(k[5:] if k.startswith("bert.") else k): v.float() for k, v in sd.items()}
    inp = json.load(open(ids_file))
    ids = torch.tensor(inp["ids"], dtype=torch.long)
    mask = torch.tensor(inp["mask"], dtype=torch.long)
    seg = torch.tensor(inp["segments"], dtype=torch.long)
    with torch.no_grad():
        try:
            from transformers import BertConfig, BertModel
        except ImportError:
            BertModel = None
        if BertModel is not None:
            model = BertModel(BertConfig(**cfg), add_pooling_layer=False, attn_implementation="eager").eval()
            missing, _ = model.load_state_dict({k: v for k, v in sd.items() if not k.startswith("pooler")}, strict=False)
            assert not [m for m in missing if "position_ids" not in m], missing
            out = model(input_ids=ids, attention_mask=mask, token_type_ids=seg).last_hidden_state
        else:
            B, L = ids.shape
            H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
            dh, eps = H // nh, cfg["layer_norm_eps"]
            lin = lambda x, n: F.linear(x, sd[n + ".weight"], sd[n + ".bias"])
            ln = lambda x, n: F.layer_norm(x, (H,), sd[n + ".weight"], sd[n + ".bias"], eps)
            x = sd["embeddings.word_embeddings.weight"][ids] + sd["embeddings.position_embeddings.weight"][torch.arange(L)][None] + sd["embeddings.token_type_embeddings.weight"][seg]
            x = ln(x, "embeddings.LayerNorm")
            ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
            for l in range(cfg["num_hidden_layers"]):
                p = "encoder.layer.%d." % l
                hd = lambda t: t.view(B, L, nh, dh).transpose(1, 2)
                q, k, v = (hd(lin(x, p + "attention.self." + n)) for n in ("query", "key", "value"))
                probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh) + ext, -1)
                ctx = (probs @ v).transpose(1, 2).reshape(B, L, H)
                a = ln(lin(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
                x = ln(lin(F.gelu(lin(a, p + "intermediate.dense")), p + "output.dense") + a, p + "output.LayerNorm")
            out = x
    out.double().numpy().astype("<f8").tofile(out_file)


if __name__ == "__main__":
    main(*sys.argv[1:4])
