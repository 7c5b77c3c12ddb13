"""PyTorch side of bench/textpath.ts: the real task of a robustness sweep with a BERT model, as a
plain PyTorch implementation does it (transformers is not installable here, so BERT is written with
torch.nn below, HF BertModel's equations; CIDer is OUR port, bench/pytorch/cider_reference.py).

Work, all on random weights (BERT-base shape: 12 x 768, 12 heads, 3072; CIDer at MOSI unaligned
shapes) and random MOSI-shaped samples (L=50, Ta=375, Tv=500, da=5, dv=20):
  - encoder alone: one BERT forward at batch 32, eval mode, no_grad (median of --steps);
  - sweep: for each of --rates RMFM rates (0 .. 1), the --samples test samples' missing view
    (dropped tokens become [UNK], dropped audio/vision frames zeroed) and counterfactual view
    (non-dictionary words become [MASK]) are encoded by BERT in batches of 32 and predicted by
    CIDer in eval mode, then accuracy is computed: from token ids to metrics. Every row is encoded
    every time (what the straightforward implementation does);
  - fine-tuning: one BERT-base train step at batch 8 (dropout on), forward + backward, loss = mean
    of the squared features (no task head); the optimizer update is left out, as on our side.
Peak RSS of the process is reported. Last stdout line: `TORCH_SWEEP_JSON {...}`.

Threads: torch.set_num_threads(--threads), default os.cpu_count(). Debian's torch 1.13 here starts
with get_num_threads() = 1, so a plain script would use one core; both figures are printed.

    /usr/bin/python3 bench/pytorch/bert_sweep.py [--samples 686] [--rates 11] [--threads CPUS] [--steps 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def build_bert(torch, nn, H=768, layers=12, heads=12, inter=3072, vocab=30522, max_pos=512):
    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.k, self.v = nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H)
            self.o = nn.Linear(H, H)
            self.ln1 = nn.LayerNorm(H, eps=1e-12)
            self.i = nn.Linear(H, inter)
            self.o2 = nn.Linear(inter, H)
            self.ln2 = nn.LayerNorm(H, eps=1e-12)
            self.drop = nn.Dropout(0.1)

        def forward(self, x, ext):
            B, L, _ = x.shape
            dh = H // heads

            def split(t):
                return t.view(B, L, heads, dh).transpose(1, 2)

            q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
            s = q @ k.transpose(-1, -2) / math.sqrt(dh) + ext
            p = self.drop(torch.softmax(s, -1))
            c = (p @ v).transpose(1, 2).reshape(B, L, H)
            a = self.ln1(self.drop(self.o(c)) + x)
            return self.ln2(self.drop(self.o2(torch.nn.functional.gelu(self.i(a)))) + a)

    class Bert(nn.Module):
        def __init__(self):
            super().__init__()
            self.word = nn.Embedding(vocab, H)
            self.pos = nn.Embedding(max_pos, H)
            self.token_type = nn.Embedding(2, H)
            self.ln = nn.LayerNorm(H, eps=1e-12)
            self.drop = nn.Dropout(0.1)
            self.layers = nn.ModuleList([Layer() for _ in range(layers)])
            for m in self.modules():
                if isinstance(m, (nn.Linear, nn.Embedding)):
                    nn.init.normal_(m.weight, 0, 0.02)
                if isinstance(m, nn.Linear):
                    nn.init.zeros_(m.bias)

        def forward(self, ids, mask, types):
            L = ids.shape[1]
            x = self.word(ids) + self.pos.weight[:L] + self.token_type(types)
            x = self.drop(self.ln(x))
            ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
            for layer in self.layers:
                x = layer(x, ext)
            return x

    return Bert()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=686)
    ap.add_argument("--rates", type=int, default=11)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    a = ap.parse_args()
    import torch
    from torch import nn

    sys.path.insert(0, HERE)
    from cider_reference import Cider, CiderConfig, eval_confounders

    default_threads = torch.get_num_threads()
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}: set_num_threads({a.threads}) (os.cpu_count() {os.cpu_count()}, torch's default "
          f"was {default_threads}); now get_num_threads() = {torch.get_num_threads()}", file=sys.stderr, flush=True)
    torch.manual_seed(1111)
    gen = torch.Generator().manual_seed(1111)
    N, L, Ta, Tv, da, dv = a.samples, 50, 375, 500, 5, 20
    bert = build_bert(torch, nn).eval()
    cfg = CiderConfig(aligned=False, classes=3, text_len=L, audio_len=Ta, vision_len=Tv, dl=768, da=da, dv=dv,
                      d=32, layers=3, heads=8, positional="reference")
    cider = Cider(cfg).eval()
    test_conf = eval_confounders(torch.randn(cfg.classes, cfg.dl + da + dv, generator=gen) * 0.5, cfg.classes)

    # samples: [CLS] w .. w [SEP] with 10..50 real tokens, words from a 2,000-id range
    tl = torch.randint(10, L + 1, (N,), generator=gen)
    pos = torch.arange(L).unsqueeze(0)
    tmask = (pos < tl.unsqueeze(1)).long()
    ids = torch.randint(1000, 3000, (N, L), generator=gen) * tmask
    ids[:, 0] = 101
    ids[torch.arange(N), tl - 1] = 102
    al, vl = torch.randint(50, Ta + 1, (N,), generator=gen), torch.randint(50, Tv + 1, (N,), generator=gen)
    am = (torch.arange(Ta).unsqueeze(0) < al.unsqueeze(1)).float()
    vm = (torch.arange(Tv).unsqueeze(0) < vl.unsqueeze(1)).float()
    audio = torch.randn(N, Ta, da, generator=gen)
    vision = torch.randn(N, Tv, dv, generator=gen)
    labels = torch.randint(0, 3, (N,), generator=gen)
    bias_words = torch.zeros(30522, dtype=torch.bool)
    bias_words[torch.randint(1000, 3000, (300,), generator=gen)] = True
    types = torch.zeros(N, L, dtype=torch.long)

    def encode(x, m):
        out = []
        with torch.no_grad():
            for s in range(0, x.shape[0], a.batch):
                out.append(bert(x[s:s + a.batch], m[s:s + a.batch], types[s:s + a.batch]))
        return torch.cat(out)

    # encoder alone at batch 32
    xb, mb = ids[:a.batch], tmask[:a.batch]
    encode(xb, mb)
    walls = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        encode(xb, mb)
        walls.append((time.perf_counter() - t0) * 1000)
    encoder_ms = statistics.median(walls)
    print(f"encoder alone, batch {a.batch}: {encoder_ms:.0f} ms", file=sys.stderr, flush=True)

    # the sweep: missing + counterfactual views at every rate, from token ids to metrics
    rates = [i / (a.rates - 1) for i in range(a.rates)] if a.rates > 1 else [0.0]
    c0, t0 = time.process_time(), time.perf_counter()
    accs = []
    special = (ids == 101) | (ids == 102)
    for r in rates:
        real = tmask.bool() & ~special
        drop_t = (torch.rand(N, L, generator=gen) < r) & real
        miss = torch.where(drop_t, torch.full_like(ids, 100), ids)
        cf = torch.where(real & ~bias_words[ids], torch.full_like(ids, 103), miss)
        keep_a = 1 - ((torch.rand(N, Ta, generator=gen) < r).float() * am)
        keep_v = 1 - ((torch.rand(N, Tv, generator=gen) < r).float() * vm)
        fm, fc = encode(miss, tmask), encode(cf, tmask)
        preds = []
        with torch.no_grad():
            for s in range(0, N, a.batch):
                e = slice(s, s + a.batch)
                args = (tmask[e].float(), tl[e], audio[e] * keep_a[e].unsqueeze(-1), am[e],
                        vision[e] * keep_v[e].unsqueeze(-1), vm[e], *test_conf)
                pm = cider(fm[e], *args)["pred"]
                pc = cider(fc[e], *args)["pred"]
                preds.append((pm - pc).argmax(-1))
        accs.append(float((torch.cat(preds) == labels).float().mean()))
    sweep_s = time.perf_counter() - t0
    sweep_cpu = time.process_time() - c0
    print(f"sweep: {sweep_s:.1f} s", file=sys.stderr, flush=True)

    # one fine-tuning step of BERT-base at batch 8
    bert.train()
    x8, m8, t8 = ids[:8], tmask[:8], types[:8]

    def step():
        bert.zero_grad(set_to_none=True)
        loss = bert(x8, m8, t8).pow(2).mean()
        loss.backward()

    step()
    fwalls = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        fwalls.append((time.perf_counter() - t0) * 1000)
    out = dict(torch=torch.__version__, threads=torch.get_num_threads(), default_threads=default_threads,
               python=sys.executable, load_end=list(os.getloadavg()), samples=N, rates=len(rates), encoder_ms_b32=encoder_ms,
               encoder_walls=[round(w, 1) for w in walls], sweep_s=sweep_s, sweep_cpu_s=sweep_cpu,
               bert_rows=2 * N * len(rates), accuracy=accs, finetune_ms_b8=statistics.median(fwalls),
               peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(f"PyTorch {out['torch']} ({sys.executable}), {out['threads']} threads (set_num_threads; default was "
          f"{default_threads}): BERT-base batch {a.batch} {encoder_ms:.0f} ms; sweep "
          f"{N} samples x {len(rates)} rates (missing + counterfactual) {sweep_s:.1f} s; fine-tune step B=8 "
          f"{out['finetune_ms_b8']:.0f} ms; peak RSS {out['peak_rss_mb']:.0f} MB")
    print("TORCH_SWEEP_JSON " + json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
