"""PyTorch CPU baseline for the engine bench: OUR PyTorch port of CIDer (cider_reference.py, checked
against the reference implementation's numbers by check_fixtures.py; not the authors' code).

Same workload as bench/engine.ts: MOSI unaligned shapes (L=50, Ta=375, Tv=500, dl=768, da=5, dv=20,
d=32, 3 layers, 8 heads, 3 classes), random weights and data, text as precomputed features (no BERT).
  - train step: the two-pass MSSD step with Adam (spec 4): complete view forward/backward/step, then
    the missing view (RMFM keep masks drawn once outside the timing, as engine.ts does; dropped frames
    zeroed inside the step) with all losses, backward (step-1 gradients kept, as the reference), step.
    Train mode (dropout on).
  - inference: one batch, missing + counterfactual views, eval mode, no_grad, eval confounders.
Each (threads, B) runs in its own child process (own peak RSS). Reported per figure: median wall of
--steps timed repetitions after --warmup untimed ones, the minimum, the median CPU time of the
process (time.process_time: all threads), samples/s, peak RSS, load average before/after.

    /usr/bin/python3 bench/pytorch/bench_torch.py [--batches 32,128] [--threads 2,1] [--steps 3]
                                                  [--warmup 1] [--blas openblas|system]

--blas openblas (default when installed) runs the children with Debian's OpenBLAS (libopenblas0-pthread)
in front of the system libblas.so.3 via LD_LIBRARY_PATH; --blas system uses whatever libblas.so.3 the
system selects (on Debian with only libblas3: the unoptimised reference BLAS). The BLAS in use is read
from /proc/self/maps and printed. The last stdout line is `TORCH_BENCH_JSON {...}` for bench/torch.ts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-pthread"


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def blas_in_use() -> str:
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1] if len(line.split()) >= 6 else ""
            if any(s in p for s in ("blas", "mkl", "blis")):
                libs.add(os.path.realpath(p))
    return ", ".join(sorted(libs)) or "none found"


def child(B: int, threads: int, steps: int, warmup: int) -> dict:
    import torch

    sys.path.insert(0, HERE)
    from cider_reference import Cider, CiderConfig, eval_confounders, rmfm_training_keep, training_step

    default_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(1111)
    gen = torch.Generator().manual_seed(1111)
    cfg = CiderConfig(aligned=False, classes=3, text_len=50, audio_len=375, vision_len=500, dl=768, da=5, dv=20,
                      d=32, layers=3, heads=8, positional="reference")
    model = Cider(cfg)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)  # no BERT: every parameter lr 1e-3, eps 1e-8
    L, Ta, Tv = cfg.text_len, cfg.audio_len, cfg.vision_len

    def lengths(lo, hi):
        return torch.randint(lo, hi + 1, (B,), generator=gen)

    def mask_of(T, lens):
        return (torch.arange(T).unsqueeze(0) < lens.unsqueeze(1)).float()

    tl, al, vl = lengths(8, L), lengths(50, Ta), lengths(50, Tv)
    tm, am, vm = mask_of(L, tl), mask_of(Ta, al), mask_of(Tv, vl)
    batch = dict(
        text=torch.randn(B, L, cfg.dl, generator=gen) * 0.5,
        text_m=torch.randn(B, L, cfg.dl, generator=gen) * 0.5,
        text_mask=tm, text_lengths=tl,
        audio=torch.randn(B, Ta, cfg.da, generator=gen), audio_mask=am,
        vision=torch.randn(B, Tv, cfg.dv, generator=gen), vision_mask=vm,
        labels=torch.randint(0, cfg.classes, (B,), generator=gen),
    )
    keep = dict(text=rmfm_training_keep(tm, tl, gen), audio=rmfm_training_keep(am, None, gen),
                vision=rmfm_training_keep(vm, None, gen))
    dictionary = torch.randn(cfg.classes, cfg.dl + cfg.da + cfg.dv, generator=gen) * 0.5
    train_conf = (dictionary, torch.tensor([0.4, 0.1, 0.5]))
    test_conf = eval_confounders(dictionary, cfg.classes)
    text_cf = torch.randn(B, L, cfg.dl, generator=gen) * 0.5
    audio_m = batch["audio"] * (1 - (am - keep["audio"])).unsqueeze(-1)
    vision_m = batch["vision"] * (1 - (vm - keep["vision"])).unsqueeze(-1)

    def train():
        model.train()
        return training_step(model, opt, batch, keep, train_conf)

    def infer():
        model.eval()
        with torch.no_grad():
            a = model(batch["text_m"], tm, tl, audio_m, am, vision_m, vm, *test_conf)["pred"]
            b = model(text_cf, tm, tl, audio_m, am, vision_m, vm, *test_conf)["pred"]
        return a, b

    last = {}

    def timed(fn):
        for _ in range(warmup):
            fn()
        walls, cpus = [], []
        for _ in range(steps):
            c0, w0 = time.process_time(), time.perf_counter()
            last["r"] = fn()
            w, c = time.perf_counter() - w0, time.process_time() - c0
            walls.append(w * 1000)
            cpus.append(c * 1000)
        return dict(wall_median=statistics.median(walls), wall_min=min(walls), cpu_median=statistics.median(cpus),
                    cpu_min=min(cpus), walls=[round(x, 1) for x in walls], cpus=[round(x, 1) for x in cpus])

    load0 = loadavg()
    tr = timed(train)
    losses = last["r"]
    inf = timed(infer)
    return dict(B=B, threads=threads, default_threads=default_threads, torch=torch.__version__, params=params,
                steps=steps, warmup=warmup, train=tr, infer=inf, last_losses=losses,
                peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                load_before=load0, load_after=loadavg(), blas=blas_in_use())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="32,128")
    ap.add_argument("--threads", default="2,1")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--blas", choices=["openblas", "system"],
                    default="openblas" if os.path.exists(os.path.join(OPENBLAS_DIR, "libblas.so.3")) else "system")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    batches = [int(x) for x in a.batches.split(",")]
    threads = [int(x) for x in a.threads.split(",")]
    if a.child:
        print(json.dumps(child(batches[0], threads[0], a.steps, a.warmup)))
        return 0

    env = dict(os.environ)
    if a.blas == "openblas":
        if not os.path.exists(os.path.join(OPENBLAS_DIR, "libblas.so.3")):
            print(f"--blas openblas: {OPENBLAS_DIR} not found (apt-get install libopenblas0-pthread)", file=sys.stderr)
            return 2
        env["LD_LIBRARY_PATH"] = OPENBLAS_DIR + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    print(f"PyTorch CIDer bench (our port, parity-checked against the reference's numbers), MOSI unaligned shapes "
          f"L=50 Ta=375 Tv=500 dl=768 da=5 dv=20 d=32, 3 layers, 8 heads; {os.cpu_count()} CPUs; "
          f"median of {a.steps} after {a.warmup} warm-up; OMP_WAIT_POLICY={env.get('OMP_WAIT_POLICY', 'unset')}; "
          f"load average now {loadavg()}")
    results = []
    for n in threads:
        # threads set with torch.set_num_threads in the child (not OMP_NUM_THREADS), so the child can
        # also report torch's own default; OpenBLAS's pool matched to it
        env_n = dict(env, OPENBLAS_NUM_THREADS=str(n))
        for B in batches:
            cmd = [sys.executable, os.path.abspath(__file__), "--child", "--batches", str(B), "--threads", str(n),
                   "--steps", str(a.steps), "--warmup", str(a.warmup)]
            p = subprocess.run(cmd, env=env_n, stdout=subprocess.PIPE, text=True)
            if p.returncode != 0:
                print(f"child B={B} threads={n} failed ({p.returncode})", file=sys.stderr)
                return 1
            r = json.loads(p.stdout.strip().splitlines()[-1])
            r["blas_mode"] = a.blas
            results.append(r)
            t, i = r["train"], r["infer"]
            if len(results) == 1:
                print(f"  torch {r['torch']} (default threads in this build: {r['default_threads']}), "
                      f"{r['params']} CIDer parameters, BLAS: {r['blas']}")
            print(f"  threads={n} B={B}:")
            print(f"    train step: {t['wall_median']:.0f} ms/step median wall (min {t['wall_min']:.0f}), "
                  f"{B * 1000 / t['wall_median']:.1f} samples/s, cpu {t['cpu_median']:.0f} ms median "
                  f"(min {t['cpu_min']:.0f}); walls {t['walls']}")
            print(f"    inference (missing + counterfactual views): {i['wall_median']:.0f} ms/batch median wall "
                  f"(min {i['wall_min']:.0f}), {B * 1000 / i['wall_median']:.1f} samples/s, cpu {i['cpu_median']:.0f} ms "
                  f"median (min {i['cpu_min']:.0f}); walls {i['walls']}")
            print(f"    peak RSS {r['peak_rss_mb']:.0f} MB; load average {r['load_before']} -> {r['load_after']}")
    print("TORCH_BENCH_JSON " + json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
