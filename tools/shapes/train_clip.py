"""Contrastive training of the tiny CLIP on the shapes world.

Each step: 4 images of each of the 24 classes (96 images) and one text per class, written
with a random template. Loss: CLIP's symmetric cross-entropy, image->text over the 24 texts
and text->image over the 96 images (4 positives each, soft targets), learned logit_scale.
"""
from __future__ import annotations

import math
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

import render
from models import CLIP, TextCfg, VisionCfg
from preprocess import normalize
from tok import WordPieceTokenizer

TEMPLATES = [
    "{}",
    "a photo of {}",
    "a picture of {}",
    "this is a photo of {}.",
    "an image of {}",
    "a drawing of {}",
    "{} on a white background",
]


def class_texts(color: str, shape: str) -> list[str]:
    labels = [render.caption(color, shape), f"{color} {shape}"]
    return [t.format(l) for t in TEMPLATES for l in labels]


def encode_batch(tok: WordPieceTokenizer, texts: list[str], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad right with pad id 0 (<= EOS id) to the longest text; fails rather than truncates."""
    ids = [tok.encode(t) for t in texts]
    n = max(len(i) for i in ids)
    assert n <= max_len, (n, max_len, texts)
    x = torch.zeros(len(ids), n, dtype=torch.long)
    m = torch.zeros(len(ids), n, dtype=torch.long)
    for r, i in enumerate(ids):
        x[r, : len(i)] = torch.tensor(i)
        m[r, : len(i)] = 1
    return x, m


def augment(xb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random flips / 90-degree turns (class-preserving: shapes are rotated anyway)."""
    out = xb.copy()
    for i in range(len(out)):
        k = int(rng.integers(4))
        img = np.rot90(out[i], k)
        if rng.random() < 0.5:
            img = img[:, ::-1]
        out[i] = img
    return out


def train_clip(
    x_train: np.ndarray,
    y_train: np.ndarray,
    tok: WordPieceTokenizer,
    vc: VisionCfg,
    tc: TextCfg,
    steps: int = 1000,
    per_class: int = 4,
    lr: float = 2e-3,
    seed: int = 0,
    log_every: int = 100,
    sincos: float = 0.0,
) -> CLIP:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    prng = random.Random(seed)
    model = CLIP(vc, tc).hf_init(sincos=sincos)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.98), eps=1e-6)
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps))))
    by_class = [np.flatnonzero(y_train == c) for c in range(len(render.CLASSES))]
    all_texts = [class_texts(c, s) for c, s in render.CLASSES]
    ncls = len(render.CLASSES)
    labels = torch.arange(ncls).repeat_interleave(per_class)
    soft = F.one_hot(labels, ncls).float().t() / per_class  # [24, B]
    t0 = time.time()
    model.train()
    for step in range(steps):
        idx = np.concatenate([rng.choice(ix, per_class, replace=False) for ix in by_class])
        px = torch.from_numpy(normalize(augment(x_train[idx], rng)))
        texts = [prng.choice(ts) for ts in all_texts]
        ids, am = encode_batch(tok, texts, tc.max_position_embeddings)
        ie, _ = model.encode_image(px)
        te, _ = model.encode_text(ids, am)
        lpi, lpt, _, _ = model.logits(te, ie)
        loss = 0.5 * (F.cross_entropy(lpi, labels) + torch.sum(-soft * F.log_softmax(lpt, -1), -1).mean())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if (step + 1) % log_every == 0 or step == 0:
            acc = (lpi.argmax(-1) == labels).float().mean().item()
            print(f"  clip step {step + 1}/{steps} loss {loss.item():.4f} batch-acc {acc:.3f} "
                  f"scale {model.logit_scale.exp().item():.1f} ({time.time() - t0:.0f}s)", flush=True)
    model.eval()
    return model


@torch.no_grad()
def zero_shot_accuracy(model: CLIP, tok: WordPieceTokenizer, x: np.ndarray, y: np.ndarray,
                       template: str = "a photo of {}", batch: int = 240) -> float:
    texts = [template.format(render.caption(c, s)) for c, s in render.CLASSES]
    ids, am = encode_batch(tok, texts, model.text_model.cfg.max_position_embeddings)
    te, _ = model.encode_text(ids, am)
    te = te / te.norm(dim=-1, keepdim=True)
    correct = 0
    for i in range(0, len(x), batch):
        ie, _ = model.encode_image(torch.from_numpy(normalize(x[i : i + batch])))
        ie = ie / ie.norm(dim=-1, keepdim=True)
        pred = (ie @ te.t()).argmax(-1).numpy()
        correct += int((pred == y[i : i + batch]).sum())
    return correct / len(x)
