"""CIDer in PyTorch: OUR port, written from ../shared/cider-spec.md (not the authors' code).

Used only by the bench (bench/pytorch/bench_torch.py) as the "PyTorch implementation" our
TF.js / ONNX engines are compared against, and checked against the reference implementation's
numbers by bench/pytorch/check_fixtures.py (fixtures in ../shared/fixtures/cider-parity (beside the repository)).
Parameter names are the reference state_dict names, so the fixtures' `weight.*` tensors load with
load_state_dict(strict=True). Text enters as precomputed token features (B, L, dl): BERT is not
part of this module.

Layout follows the reference: sequences are time-major (T, B, d) from the projections on, the
MCT attention scores are (B*heads, 3L, 3L) with row b*heads + h.

Spec section -> code:
  2.2 projections ............ proj_l / proj_a / proj_v (kernel-1 Conv1d, no bias)
  2.3 WSAM ................... WSAM (a_compress / v_compress), unaligned only
  2.4 temporal encoders ...... nn.GRU t / a / v
  2.5 MCT .................... MCT (+ positional table, `positional="reference"|"temporal"`)
  2.6 MCA .................... MCA (seven branches, masked softmax, s_l / s_a / s_v, final_out_proj)
  2.7 pooling ................ AttnPool attn_l / attn_a / attn_v
  2.8 joint representation ... proj1 / proj2
  2.9 MCM .................... cls_encoders_* / classifiers
  4   MSSD ................... recon_* heads, mssd_losses(), training_step()
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

NEG = -1e9  # what the reference adds at masked attention positions


@dataclass
class CiderConfig:
    aligned: bool = False
    classes: int = 3
    text_len: int = 50
    audio_len: int = 375
    vision_len: int = 500
    dl: int = 768
    da: int = 5
    dv: int = 20
    d: int = 32
    layers: int = 3
    heads: int = 8
    # dropouts (spec 4)
    relu_dropout: float = 0.1
    res_dropout: float = 0.1
    attn_dropout: float = 0.0
    embed_dropout: float = 0.2
    out_dropout: float = 0.3
    # "reference": table row = the sample's position in the batch (spec 2.5 quirk, needed for the
    # fixtures); "temporal": row = time step (what the spec calls correct)
    positional: str = "reference"
    max_positions: int = 1024
    # cross-dataset variant (spec 2.9): non-affine LayerNorm in the audio/vision confounder MLPs.
    # NOT covered by the fixtures.
    cross_dataset: bool = False


# ---------------------------------------------------------------------------------------- 2.3
class WSAM(nn.Module):
    """Word-level self-aligned attention, single head; names as nn.MultiheadAttention."""

    def __init__(self, d: int):
        super().__init__()
        self.d = d
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d, d))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d))
        self.out_proj = nn.Linear(d, d)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(self, text: torch.Tensor, other: torch.Tensor, m: torch.Tensor):
        """text (B, L, d), other (B, T, d), m (B, L, T) 0/1 -> out (B, L, d), weights (B, L, T)."""
        d = self.d
        w, b = self.in_proj_weight, self.in_proj_bias
        q = F.linear(text, w[:d], b[:d]) * d ** -0.5
        k = F.linear(other, w[d : 2 * d], b[d : 2 * d])
        v = F.linear(other, w[2 * d :], b[2 * d :])
        s = torch.bmm(q, k.transpose(1, 2)) + (1.0 - m) * NEG
        a = torch.softmax(s, dim=-1) * m
        return self.out_proj(torch.bmm(a, v)), a


def wsam_mask(text_mask: torch.Tensor, text_lengths: torch.Tensor, other_mask: torch.Tensor) -> torch.Tensor:
    """Spec 2.3: text mask without [CLS] (0) and [SEP] (len-1), outer product with the frame mask."""
    tm = text_mask.clone()
    tm[torch.arange(tm.shape[0]), text_lengths.long() - 1] = 0
    tm[:, 0] = 0
    return tm.unsqueeze(2) * other_mask.unsqueeze(1)


# ---------------------------------------------------------------------------------------- 2.6
# branch order of out_proj.0..6
BRANCHES = ("LAV", "LA", "LV", "AV", "L", "A", "V")


class MCA(nn.Module):
    def __init__(self, d: int, heads: int, attn_dropout: float):
        super().__init__()
        self.d, self.h, self.hd = d, heads, d // heads
        self.scaling = self.hd ** -0.5
        self.attn_dropout = attn_dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d, d))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d))
        self.out_proj = nn.ModuleList([nn.Linear(d, d) for _ in BRANCHES])
        self.s_l = nn.Linear(4 * d, d)
        self.s_a = nn.Linear(4 * d, d)
        self.s_v = nn.Linear(4 * d, d)
        self.final_out_proj = nn.Linear(d, d)
        nn.init.xavier_uniform_(self.in_proj_weight)
        self._masks: dict = {}

    def _segment_masks(self, L: int, device) -> dict:
        """Per restricted branch: key/row mask m (3L,) and the additive pair mask (3L, 3L)."""
        key = (L, device)
        if key not in self._masks:
            seg = {c: torch.zeros(3 * L, device=device) for c in "LAV"}
            for i, c in enumerate("LAV"):
                seg[c][i * L : (i + 1) * L] = 1.0
            out = {}
            for name in BRANCHES[1:]:
                m = sum(seg[c] for c in name)
                out[name] = (m, (1.0 - torch.outer(m, m)) * NEG)
            self._masks[key] = out
        return self._masks[key]

    def forward(self, x: torch.Tensor, L: int):
        """x (3L, B, d) -> out (3L, B, d), raw scaled scores S (B*H, 3L, 3L)."""
        T, B, d = x.shape
        q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        q = q * self.scaling
        q = q.contiguous().view(T, B * self.h, self.hd).transpose(0, 1)
        k = k.contiguous().view(T, B * self.h, self.hd).transpose(0, 1)
        v = v.contiguous().view(T, B * self.h, self.hd).transpose(0, 1)
        S = torch.bmm(q, k.transpose(1, 2))

        def heads_back(o):  # (B*H, T, hd) -> (T, B, d)
            return o.transpose(0, 1).contiguous().view(T, B, d)

        outs = {}
        w = F.dropout(torch.softmax(S, dim=-1), p=self.attn_dropout, training=self.training)
        outs["LAV"] = self.out_proj[0](heads_back(torch.bmm(w, v)))
        masks = self._segment_masks(L, x.device)
        for i, name in enumerate(BRANCHES[1:], start=1):
            m, add = masks[name]
            w = torch.softmax(S + add, dim=-1) * m.view(1, T, 1)
            outs[name] = self.out_proj[i](heads_back(torch.bmm(w, v * m.view(1, T, 1))))

        sl, sa, sv = slice(0, L), slice(L, 2 * L), slice(2 * L, 3 * L)
        text = self.s_l(torch.cat([outs[n][sl] for n in ("LAV", "LA", "LV", "L")], dim=-1))
        audio = self.s_a(torch.cat([outs[n][sa] for n in ("LAV", "LA", "AV", "A")], dim=-1))
        vision = self.s_v(torch.cat([outs[n][sv] for n in ("LAV", "LV", "AV", "V")], dim=-1))
        return self.final_out_proj(torch.cat([text, audio, vision], dim=0)), S


# ---------------------------------------------------------------------------------------- 2.5
class MCTLayer(nn.Module):
    def __init__(self, cfg: CiderConfig):
        super().__init__()
        d = cfg.d
        self.self_attn = MCA(d, cfg.heads, cfg.attn_dropout)
        self.fc1 = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, d)
        self.layer_norms = nn.ModuleList([nn.LayerNorm(d), nn.LayerNorm(d)])
        self.relu_dropout, self.res_dropout = cfg.relu_dropout, cfg.res_dropout

    def forward(self, x: torch.Tensor, L: int):
        y, S = self.self_attn(self.layer_norms[0](x), L)
        x = x + F.dropout(y, p=self.res_dropout, training=self.training)
        y = F.dropout(F.relu(self.fc1(self.layer_norms[1](x))), p=self.relu_dropout, training=self.training)
        x = x + F.dropout(self.fc2(y), p=self.res_dropout, training=self.training)
        return x, S


def sinusoid_table(n: int, d: int) -> torch.Tensor:
    """(n, d): sin on even channels, cos on odd."""
    pos = torch.arange(n, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(n, d)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe


class MCT(nn.Module):
    def __init__(self, cfg: CiderConfig):
        super().__init__()
        self.cfg = cfg
        self.layers = nn.ModuleList([MCTLayer(cfg) for _ in range(cfg.layers)])
        self.layer_norm = nn.LayerNorm(cfg.d)
        # (1, max, d), not part of the state_dict
        self.register_buffer("pe", sinusoid_table(cfg.max_positions, cfg.d).unsqueeze(0), persistent=False)

    def forward(self, x: torch.Tensor, L: int):
        """x (3L, B, d) time-major -> (3L, B, d), last layer's scores."""
        if self.cfg.positional == "reference":
            # the reference slices a batch-major table with the time-major tensor's dim 1 (= B):
            # every time step of sample b gets row b
            x = x + self.pe[:, : x.size(1)]
        else:
            x = x + self.pe[0, : x.size(0)].unsqueeze(1)
        x = F.dropout(x, p=self.cfg.embed_dropout, training=self.training)
        S = None
        for layer in self.layers:
            x, S = layer(x, L)
        return self.layer_norm(x), S


# ---------------------------------------------------------------------------------------- 2.7
class AttnPool(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.attention = nn.Sequential(nn.Linear(d, d), nn.Tanh(), nn.Linear(d, 1))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """h (B, L, d) -> (B, d); softmax over all L steps (padding included)."""
        a = torch.softmax(self.attention(h), dim=1)
        return (a * h).sum(dim=1)


def confounder_mlp(dm: int, d: int, norm: bool) -> nn.Sequential:
    if norm:  # cross-dataset variant (untested against reference numbers)
        return nn.Sequential(
            nn.Linear(dm, d), nn.LayerNorm(d, elementwise_affine=False), nn.ReLU(),
            nn.Linear(d, d), nn.LayerNorm(d, elementwise_affine=False), nn.ReLU(),
            nn.Linear(d, d),
        )
    return nn.Sequential(nn.Linear(dm, d), nn.ReLU(), nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d))


class ReconFrames(nn.ModuleList):
    """Audio/vision reconstruction: Linear over time (L -> T), ReLU, Linear(d, dm)."""

    def __init__(self, L: int, T: int, d: int, dm: int):
        super().__init__([nn.Linear(L, T), nn.Linear(d, dm)])

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """h (L, B, d) time-major -> (B, T, dm)."""
        y = F.relu(self[0](h.permute(1, 2, 0)))  # (B, d, T)
        return self[1](y.transpose(1, 2))


# ---------------------------------------------------------------------------------------- model
class Cider(nn.Module):
    def __init__(self, cfg: CiderConfig):
        super().__init__()
        self.cfg = cfg
        d, L = cfg.d, cfg.text_len
        self.proj_l = nn.Conv1d(cfg.dl, d, kernel_size=1, bias=False)
        self.proj_a = nn.Conv1d(cfg.da, d, kernel_size=1, bias=False)
        self.proj_v = nn.Conv1d(cfg.dv, d, kernel_size=1, bias=False)
        # the reference builds these for aligned data too (present in its state_dict, unused)
        self.a_compress = WSAM(d)
        self.v_compress = WSAM(d)
        self.t = nn.GRU(d, d)
        self.a = nn.GRU(d, d)
        self.v = nn.GRU(d, d)
        self.multimodal_transformer = MCT(cfg)
        self.attn_l, self.attn_a, self.attn_v = AttnPool(d), AttnPool(d), AttnPool(d)
        self.proj1 = nn.Linear(3 * d, 3 * d)
        self.proj2 = nn.Linear(3 * d, 3 * d)
        self.cls_encoders_l = confounder_mlp(cfg.dl, d, False)
        self.cls_encoders_a = confounder_mlp(cfg.da, d, cfg.cross_dataset)
        self.cls_encoders_v = confounder_mlp(cfg.dv, d, cfg.cross_dataset)
        self.classifiers = nn.ModuleList([nn.Linear(6 * d, cfg.classes) for _ in range(cfg.classes)])
        self.recon_text = nn.Linear(d, cfg.dl)
        self.recon_audio = ReconFrames(L, cfg.audio_len, d, cfg.da)
        self.recon_vision = ReconFrames(L, cfg.vision_len, d, cfg.dv)

    def mcm(self, z: torch.Tensor, dictionary: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        """Spec 2.9. dictionary (C, D) or per sample (C, B, D); prior (C,) or (B, C) -> log P (B, C)."""
        cfg = self.cfg
        B = z.shape[0]
        if prior.dim() == 1:
            prior = prior.unsqueeze(0).expand(B, -1)
        P = 0.0
        for c in range(cfg.classes):
            f = dictionary[c]
            if f.dim() == 1:
                f = f.unsqueeze(0).expand(B, -1)
            el = self.cls_encoders_l(f[:, : cfg.dl])
            ea = self.cls_encoders_a(f[:, cfg.dl : cfg.dl + cfg.da])
            ev = self.cls_encoders_v(f[:, cfg.dl + cfg.da :])
            p = torch.softmax(self.classifiers[c](torch.cat([z, el, ea, ev], dim=-1)), dim=-1)
            P = P + prior[:, c : c + 1] * p
        return torch.log(P)

    def forward(self, text, text_mask, text_lengths, audio, audio_mask, vision, vision_mask,
                dictionary, prior, reconstruct: bool = False) -> dict:
        """text (B, L, dl) features; audio (B, Ta, da); vision (B, Tv, dv); masks (B, T) 0/1."""
        cfg = self.cfg
        L = text.shape[1]
        out = {}
        pl = self.proj_l(text.transpose(1, 2))  # (B, d, L)
        pa = self.proj_a(audio.transpose(1, 2))
        pv = self.proj_v(vision.transpose(1, 2))
        out["proj_l"] = pl
        xl = pl.permute(2, 0, 1)  # (L, B, d)
        if cfg.aligned:
            xa, xv = pa.permute(2, 0, 1), pv.permute(2, 0, 1)
        else:
            tl = pl.transpose(1, 2)  # (B, L, d)
            ya, wa = self.a_compress(tl, pa.transpose(1, 2), wsam_mask(text_mask, text_lengths, audio_mask))
            yv, wv = self.v_compress(tl, pv.transpose(1, 2), wsam_mask(text_mask, text_lengths, vision_mask))
            xa, xv = ya.transpose(0, 1), yv.transpose(0, 1)
            out.update(wsam_a=xa, wsam_v=xv, wsam_a_weights=wa, wsam_v_weights=wv)
        hl, _ = self.t(xl)
        ha, _ = self.a(xa)
        hv, _ = self.v(xv)
        out.update(gru_l=hl, gru_a=ha, gru_v=hv)
        h, S = self.multimodal_transformer(torch.cat([hl, ha, hv], dim=0), L)
        out.update(mct_out=h, attn_last=S)
        ol, oa, ov = h[:L], h[L : 2 * L], h[2 * L :]
        gl = self.attn_l(ol.transpose(0, 1))
        ga = self.attn_a(oa.transpose(0, 1))
        gv = self.attn_v(ov.transpose(0, 1))
        out.update(pool_l=gl, pool_a=ga, pool_v=gv)
        z0 = torch.cat([gl, ga, gv], dim=-1)
        z = z0 + self.proj2(F.dropout(F.relu(self.proj1(z0)), p=cfg.out_dropout, training=self.training))
        out["joint_rep"] = z
        out["pred"] = self.mcm(z, dictionary, prior)
        if reconstruct:
            out["text_recon"] = self.recon_text(ol.transpose(0, 1))
            out["audio_recon"] = self.recon_audio(oa)
            out["vision_recon"] = self.recon_vision(ov)
        return out


# ---------------------------------------------------------------------------------------- 4
@dataclass
class LossWeights:
    joint: float = 0.5
    attn: float = 0.1
    recon: float = 0.6


def recon_loss(pred: torch.Tensor, target: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
    """SmoothL1 summed over dropped positions / (number of such entries + 1e-6)."""
    m = missing.unsqueeze(-1).expand_as(pred)
    return F.smooth_l1_loss(pred * m, target * m, reduction="sum") / (m.sum() + 1e-6)


def eval_confounders(dictionary: torch.Tensor, classes: int):
    """Validation/test (spec 2.9): every entry = mean of the C entries; uniform prior."""
    mean = dictionary.mean(dim=0, keepdim=True)
    return mean.expand_as(dictionary).contiguous(), torch.full((classes,), 1.0 / classes)


def mssd_losses(out_m: dict, teacher: dict, labels, text_full, audio, vision, missing: dict,
                w: LossWeights = LossWeights()) -> dict:
    """Missing-view objective (spec 4 step 2); `teacher` = complete-view values (constants)."""
    task = F.nll_loss(out_m["pred"], labels)
    joint = 1.0 - F.cosine_similarity(out_m["joint_rep"], teacher["joint_rep"], dim=-1).mean()
    attn = F.kl_div(F.log_softmax(out_m["attn_last"], dim=-1), torch.softmax(teacher["attn_last"], dim=-1),
                    reduction="batchmean")
    rt = recon_loss(out_m["text_recon"], text_full, missing["text"])
    ra = recon_loss(out_m["audio_recon"], audio, missing["audio"])
    rv = recon_loss(out_m["vision_recon"], vision, missing["vision"])
    total = task + w.joint * joint + w.attn * attn + w.recon * (rt + ra + rv)
    return dict(task_missing=task, joint=joint, attn=attn, recon_text=rt, recon_audio=ra, recon_vision=rv,
                total=total)


def training_step(model: Cider, opt: torch.optim.Optimizer, batch: dict, keep: dict, conf: tuple,
                  accumulate_full_view_grad: bool = True, w: LossWeights = LossWeights()) -> dict:
    """One MSSD step (spec 4), model in train mode.

    batch: text (complete-view features), text_m (missing-view features), text_mask, text_lengths,
    audio, audio_mask, vision, vision_mask, labels. keep: text/audio/vision keep masks (1 = kept).
    The reference zeroes gradients only before step 1 (accumulate_full_view_grad=True).
    """
    dictionary, prior = conf
    # 1. complete view
    opt.zero_grad(set_to_none=True)
    out_f = model(batch["text"], batch["text_mask"], batch["text_lengths"], batch["audio"], batch["audio_mask"],
                  batch["vision"], batch["vision_mask"], dictionary, prior)
    loss_full = F.nll_loss(out_f["pred"], batch["labels"])
    loss_full.backward()
    opt.step()
    teacher = {"joint_rep": out_f["joint_rep"].detach(), "attn_last": out_f["attn_last"].detach()}
    del out_f
    # 2. missing view
    if not accumulate_full_view_grad:
        opt.zero_grad(set_to_none=True)
    missing = {k: batch[f"{k}_mask"] - keep[k] for k in ("text", "audio", "vision")}
    audio_m = batch["audio"] * (1.0 - missing["audio"]).unsqueeze(-1)
    vision_m = batch["vision"] * (1.0 - missing["vision"]).unsqueeze(-1)
    out_m = model(batch["text_m"], batch["text_mask"], batch["text_lengths"], audio_m, batch["audio_mask"],
                  vision_m, batch["vision_mask"], dictionary, prior, reconstruct=True)
    losses = mssd_losses(out_m, teacher, batch["labels"], batch["text"].detach(), batch["audio"], batch["vision"],
                         missing, w)
    losses["total"].backward()
    opt.step()
    r = {k: float(v) for k, v in losses.items()}
    r["task_full"] = float(loss_full)
    return r


def rmfm_training_keep(mask: torch.Tensor, lengths: torch.Tensor | None, gen: torch.Generator) -> torch.Tensor:
    """Spec 3 RMFM (training): each present position dropped when u <= r, r ~ U(0,1) per position.
    For text (lengths given) [CLS] (0) and [SEP] (len-1) are never dropped."""
    r = torch.rand(mask.shape, generator=gen)
    u = torch.rand(mask.shape, generator=gen)
    keep = mask * (u > r).float()
    if lengths is not None:
        idx = torch.arange(mask.shape[0])
        keep[idx, 0] = mask[idx, 0]
        keep[idx, lengths.long() - 1] = mask[idx, lengths.long() - 1]
    return keep
