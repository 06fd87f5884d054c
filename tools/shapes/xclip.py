"""The tiny shapes-world X-CLIP: clips of one coloured shape moving left, right, up or down.

    /usr/bin/python3 tools/shapes/make.py --only xclip        # -> models/shapes-xclip/
    /usr/bin/python3 tools/shapes/make.py --bench --only xclip  # -> models-bench/xclip-base-patch32/

Clips (`render_clip`): the shapes world's scenes (render.py) with the shape's centre moving in a
straight line by 25-50% of the central square's side over the clip, one frame per sampled time.
Training sees the 8 frames X-CLIP's uniform sampler takes (the middle of each of 8 equal segments,
jittered by +-20% of a segment), rendered at random sizes and preprocessed as the package says
(VideoMAEImageProcessor: bilinear resize of the shortest edge, centre crop, ImageNet mean/std).

Texts name the colour and the direction ("a red shape moving left", 6 templates); 24 classes.
Loss: CLIP's symmetric contrastive loss on X-CLIP's video-conditioned logits (prompt generator on).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
import subprocess
import time
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import render
from data import CACHE, REPO
from export import b64, flist, tokenizer_files
from tok import CLIP_BOS, CLIP_EOS, CLIP_PAD, CLIP_UNK, WordPieceTokenizer, _build_vocab, write_json
from xclip_model import XClipCfg, XCLIPModel, XTextCfg, XVisionCfg
from xclip_onnx import export_xclip_onnx, layout_outputs

DIRECTIONS = ["left", "right", "up", "down"]
STEP = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}
CLASSES = [(c, d) for c in render.COLORS for d in DIRECTIONS]  # 24, colour-major
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
TEMPLATES = [
    "a {c} shape moving {d}",
    "{c} moving {d}",
    "a video of a {c} shape moving {d}",
    "the {c} shape moves {d}",
    "a {c} object moving {d}",
    "something {c} going {d}",
]
WORDS = (
    "a an the of this is it video clip photo shape object thing something moving moves going to "
    "left right up down red green blue yellow purple orange circle square triangle star"
).split()

TINY = XClipCfg(
    text=XTextCfg(),
    vision=XVisionCfg(image_size=32, patch_size=8, hidden_size=64, intermediate_size=256, num_hidden_layers=2,
                      num_attention_heads=4, mit_hidden_size=64, mit_intermediate_size=256, mit_num_hidden_layers=1,
                      mit_num_attention_heads=4, num_frames=8),
    projection_dim=64, prompt_layers=1, prompt_num_attention_heads=4,
)
SEED = 4321
TRAIN_SEED = 11


def b64_u8(a: np.ndarray) -> dict:
    """uint8 tensor for JSON, as export.b64 writes float32/int64 ones."""
    import base64

    a = np.ascontiguousarray(a, np.uint8)
    return {"dtype": "uint8", "shape": list(a.shape), "base64": base64.b64encode(a.tobytes()).decode()}


def label(color: str, direction: str) -> str:
    return f"a {color} shape moving {direction}"


def xclip_tokenizer(vocab_size: int | None = None) -> WordPieceTokenizer:
    """As the CLIP tokenizer (pad 0, BOS = V-2, EOS = V-1: EOS is the largest id for argmax pooling)."""
    vocab = _build_vocab([CLIP_PAD, CLIP_UNK], WORDS, [CLIP_BOS, CLIP_EOS], vocab_size)
    return WordPieceTokenizer(vocab=vocab, special=[CLIP_PAD, CLIP_UNK, CLIP_BOS, CLIP_EOS], unk=CLIP_UNK,
                              prefix_tokens=[CLIP_BOS], suffix_tokens=[CLIP_EOS])


def processor_config(size: int) -> dict:
    """X-CLIP's processor: VideoMAE-style, bilinear, ImageNet mean/std (not CLIP's)."""
    return {
        "image_processor_type": "VideoMAEImageProcessor",
        "feature_extractor_type": "VideoMAEFeatureExtractor",
        "processor_class": "XCLIPProcessor",
        "do_resize": True,
        "size": {"shortest_edge": size},
        "resample": 2,
        "do_center_crop": True,
        "crop_size": {"height": size, "width": size},
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": IMAGENET_MEAN,
        "image_std": IMAGENET_STD,
    }


# ------------------------------------------------------------------------------ clips
def clip_spec(rng: random.Random, w: int, h: int, color: str, shape: str, direction: str, background: str):
    """A scene and the straight path of its centre (fractions 0..1 of the clip)."""
    base = render.sample_spec(rng, w, h, color, shape, background)
    side = min(w, h)
    ox, oy = (w - side) / 2, (h - side) / 2
    radius = side * rng.uniform(0.12, 0.22)
    margin = radius + 1
    length = side * rng.uniform(0.25, 0.5)
    dx, dy = STEP[direction]
    lo, hi = margin, side - margin
    along0 = rng.uniform(lo, max(lo, hi - length))
    across = rng.uniform(lo, hi)
    sign = dx + dy  # +1 right/down, -1 left/up
    start_along = along0 if sign > 0 else along0 + length
    if dx:
        p0 = (ox + start_along, oy + across)
    else:
        p0 = (ox + across, oy + start_along)
    p1 = (p0[0] + dx * length, p0[1] + dy * length)
    return replace(base, radius=radius), p0, p1


def render_frames(spec, p0, p1, fractions) -> list[Image.Image]:
    out = []
    for j, f in enumerate(fractions):
        s = replace(spec, cx=p0[0] + (p1[0] - p0[0]) * f, cy=p0[1] + (p1[1] - p0[1]) * f,
                    noise_seed=(spec.noise_seed + 7919 * j) % (2**31))
        out.append(render.draw(s))
    return out


def render_clip(seed: int, index: int, w: int, h: int, color: str, shape: str, direction: str,
                background: str, fractions) -> list[Image.Image]:
    rng = random.Random(seed * 1_000_003 + index)
    spec, p0, p1 = clip_spec(rng, w, h, color, shape, direction, background)
    return render_frames(spec, p0, p1, fractions)


def sampled_fractions(rng: random.Random, t: int, jitter: float) -> list[float]:
    """X-CLIP's uniform sampling: the middle of each of t equal segments (jittered)."""
    return [(k + 0.5 + rng.uniform(-jitter, jitter)) / t for k in range(t)]


def to_crop(img: Image.Image, size: int) -> np.ndarray:
    """VideoMAEImageProcessor's resize (shortest edge, int(size * long / short)) + centre crop."""
    w, h = img.size
    if w <= h:
        nw, nh = size, int(size * h / w)
    else:
        nw, nh = int(size * w / h), size
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), resample=Image.BILINEAR)
    a = np.asarray(img.convert("RGB"))
    top, left = (nh - size) // 2, (nw - size) // 2
    return np.ascontiguousarray(a[top : top + size, left : left + size])


def normalize(u8: np.ndarray) -> np.ndarray:
    """[..., H, W, 3] uint8 -> [..., 3, H, W] float32, as transformers does it (float64 rescale, float32 normalize)."""
    x = (u8.astype(np.float64) * (1 / 255)).astype(np.float32)
    x = (x - np.array(IMAGENET_MEAN, np.float32)) / np.array(IMAGENET_STD, np.float32)
    return np.moveaxis(x, -1, -3).astype(np.float32)


def build_clips(seed: int, count: int, size: int, t: int, background: str, sizes=None, jitter: float = 0.2):
    """uint8 [N, T, S, S, 3] crops and int64 [N] class indices (cached under .cache/shapes/)."""
    key = json.dumps([seed, count, size, t, background, sizes, jitter, 1])
    path = os.path.join(CACHE, f"clips-{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz")
    if os.path.exists(path):
        z = np.load(path)
        return z["x"], z["y"]
    t0 = time.time()
    srng = random.Random(seed ^ 0xC11B)
    xs = np.empty((count, t, size, size, 3), np.uint8)
    ys = np.empty((count,), np.int64)
    for i in range(count):
        w, h = sizes[i % len(sizes)] if sizes else render.random_size(srng, 40, 160)
        ci = i % len(CLASSES)
        color, direction = CLASSES[ci]
        shape = srng.choice(render.SHAPES)
        frames = render_clip(seed, i, w, h, color, shape, direction, background, sampled_fractions(srng, t, jitter))
        xs[i] = np.stack([to_crop(f, size) for f in frames])
        ys[i] = ci
    os.makedirs(CACHE, exist_ok=True)
    np.savez(path, x=xs, y=ys)
    print(f"  rendered {count} clips x {t} frames (seed {seed}, {background}) in {time.time() - t0:.1f}s", flush=True)
    return xs, ys


EVAL_SIZES = [(48, 48), (96, 72), (72, 96), (128, 128), (160, 90), (57, 93)]


def encode_texts(tok: WordPieceTokenizer, texts: list[str]):
    ids = [tok.encode(t) for t in texts]
    n = max(len(i) for i in ids)
    x = torch.zeros(len(ids), n, dtype=torch.long)
    m = torch.zeros(len(ids), n, dtype=torch.long)
    for r, i in enumerate(ids):
        x[r, : len(i)] = torch.tensor(i)
        m[r, : len(i)] = 1
    return x, m


# ------------------------------------------------------------------------------ training
def train(x: np.ndarray, y: np.ndarray, tok: WordPieceTokenizer, cfg: XClipCfg, steps: int, seed: int,
          per_class: int = 2, lr: float = 2e-3, log_every: int = 100, sincos: float = 0.5) -> XCLIPModel:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    prng = random.Random(seed)
    model = XCLIPModel(cfg).hf_init(sincos=sincos)
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.98), eps=1e-6)
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps))))
    by_class = [np.flatnonzero(y == c) for c in range(len(CLASSES))]
    k = len(CLASSES)
    labels = torch.arange(k).repeat_interleave(per_class)
    soft = F.one_hot(labels, k).float().t() / per_class
    # A warm-up aid, dropped from the model afterwards: a linear probe of the direction from the
    # difference between late and early frame embeddings. Without it the vision tower and the MIT
    # wait on each other (the tower learns where the shape is only once the MIT reads order, and
    # the reverse): measured, no direction learned in 1200 steps; with it, in a few hundred.
    aux = torch.nn.Linear(cfg.projection_dim, len(DIRECTIONS))
    opt.add_param_group({"params": list(aux.parameters()), "weight_decay": 0.0})
    dir_labels = labels % len(DIRECTIONS)
    aux_steps = max(1, int(steps * 0.4))
    t0 = time.time()
    model.train()
    for step in range(steps):
        idx = np.concatenate([rng.choice(ix, per_class, replace=False) for ix in by_class])
        px = torch.from_numpy(normalize(x[idx]))
        texts = [prng.choice(TEMPLATES).format(c=c, d=d) for c, d in CLASSES]
        ids, am = encode_texts(tok, texts)
        lpv, _, _ = model(ids, px, am)
        loss = 0.5 * (F.cross_entropy(lpv, labels) + torch.sum(-soft * F.log_softmax(lpv.t(), -1), -1).mean())
        if step < aux_steps:
            frames = model.last_frame_embeds
            diff = frames[:, -2:].mean(1) - frames[:, :2].mean(1)
            loss = loss + (1 - step / aux_steps) * F.cross_entropy(aux(diff), dir_labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if (step + 1) % log_every == 0 or step == 0:
            acc = (lpv.argmax(-1) == labels).float().mean().item()
            dacc = ((lpv.argmax(-1) % len(DIRECTIONS)) == dir_labels).float().mean().item()
            print(f"  xclip step {step + 1}/{steps} loss {loss.item():.4f} batch-acc {acc:.3f} dir {dacc:.2f} "
                  f"scale {model.logit_scale.exp().item():.1f} ({time.time() - t0:.0f}s)", flush=True)
    model.eval()
    return model


@torch.no_grad()
def accuracy(model: XCLIPModel, tok: WordPieceTokenizer, x: np.ndarray, y: np.ndarray, batch: int = 48) -> dict:
    ids, am = encode_texts(tok, [label(c, d) for c, d in CLASSES])
    right = {"class": 0, "color": 0, "direction": 0}
    for i in range(0, len(x), batch):
        lpv, _, _ = model(ids, torch.from_numpy(normalize(x[i : i + batch])), am)
        pred = lpv.argmax(-1).numpy()
        for p, t in zip(pred, y[i : i + batch]):
            right["class"] += int(p == t)
            right["color"] += int(CLASSES[p][0] == CLASSES[t][0])
            right["direction"] += int(CLASSES[p][1] == CLASSES[t][1])
    return {k: round(v / len(x), 4) for k, v in right.items()}


# ------------------------------------------------------------------------------ package
def write_package(model: XCLIPModel, tok: WordPieceTokenizer, out: str) -> None:
    c = model.cfg
    v = c.vision
    export_xclip_onnx(model, out, v.image_size, v.num_frames, seq_len=8, vocab_size=c.text.vocab_size,
                      projection_dim=c.projection_dim, num_patches=(v.image_size // v.patch_size) ** 2)
    write_json(os.path.join(out, "config.json"), c.hf())
    write_json(os.path.join(out, "preprocessor_config.json"), processor_config(v.image_size))
    inv = tok.inv
    tokenizer_files(out, tok, {
        "bos_token": inv[c.text.bos_token_id], "eos_token": inv[c.text.eos_token_id],
        "pad_token": inv[c.text.pad_token_id], "unk_token": tok.unk,
        "model_max_length": c.text.max_position_embeddings, "padding_side": "right",
        "processor_class": "XCLIPProcessor",
    })


@torch.no_grad()
def reference(model: XCLIPModel, tok: WordPieceTokenizer) -> dict:
    """PyTorch outputs of the layout on rendered clips (8 frames, and 4 to pin the temporal resampling)."""
    size = model.cfg.vision.image_size
    cases = []
    texts = [label("red", "left"), label("blue", "up"), "the green shape moves down", "orange moving right"]
    ids, am = encode_texts(tok, texts)
    for name, t, items in (
        ("8 frames", 8, [(48, 36, "red", "circle", "left"), (40, 40, "blue", "star", "up")]),
        ("4 frames", 4, [(36, 54, "green", "square", "down")]),
    ):
        raw = [render_clip(77, i, w, h, c, s, d, "plain", [(k + 0.5) / t for k in range(t)])
               for i, (w, h, c, s, d) in enumerate(items)]
        px = np.stack([np.stack([to_crop(f, size) for f in clip]) for clip in raw])
        pv = torch.from_numpy(normalize(px))
        o = layout_outputs(model, pv, ids, am)
        full, _, _ = model(ids, pv, am) if t == model.cfg.vision.num_frames else (None, None, None)
        cases.append({
            "name": name,
            "clips": [{"width": w, "height": h, "color": c, "shape": s, "direction": d,
                       # the full-size RGB frames before preprocessing (mmrt resizes them itself)
                       "frames": b64_u8(np.stack([np.asarray(f) for f in clip]))}
                      for (w, h, c, s, d), clip in zip(items, raw)],
            "pixel_values": b64(pv),
            **{k: flist(v) for k, v in o.items()},
            **({"model_logits_per_video": flist(full)} if full is not None else {}),
        })
    return {
        "note": "PyTorch outputs of the three exported graphs chained as mmrt chains them; logits_per_video "
                "= logit_scale * cos(video_embeds, conditioned_text_embeds). At the trained frame count, "
                "model_logits_per_video is XCLIPModel.forward's (the same numbers).",
        "texts": texts,
        "input_ids": ids.tolist(),
        "attention_mask": am.tolist(),
        "labels": [label(c, d) for c, d in CLASSES],
        "cases": cases,
    }


def write_samples(out: str) -> list[dict]:
    """A few small encoded clips (mp4 and webm) for the README and quick tries; needs ffmpeg."""
    ff = shutil.which("ffmpeg")
    if not ff:
        print("samples: skipped (no ffmpeg)")
        return []
    os.makedirs(out, exist_ok=True)
    items = [("red", "circle", "left", 96, 72, 24, 2.0, "mp4"), ("blue", "star", "up", 80, 80, 12, 3.0, "webm"),
             ("yellow", "square", "right", 128, 96, 30, 1.5, "mp4"), ("purple", "triangle", "down", 64, 96, 15, 2.5, "webm")]
    meta = []
    for i, (c, s, d, w, h, fps, dur, ext) in enumerate(items):
        n = int(round(fps * dur))
        frames = render_clip(2027, i, w, h, c, s, d, "plain", [j / (n - 1) for j in range(n)])
        name = f"{i:02d}_{c}_{s}_{d}.{ext}"
        codec = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "18"] if ext == "mp4" else \
            ["-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p", "-crf", "24", "-b:v", "0"]
        cmd = [ff, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(fps),
               "-i", "-", *codec, os.path.join(out, name)]
        subprocess.run(cmd, input=b"".join(np.asarray(f).tobytes() for f in frames), check=True)
        meta.append({"file": name, "color": c, "shape": s, "direction": d, "width": w, "height": h, "fps": fps,
                     "frames": n, "label": label(c, d)})
    write_json(os.path.join(out, "labels.json"), {"generator": "tools/shapes/xclip.py", "clips": meta})
    return meta


def build(args) -> dict:
    """Train, export and check the tiny X-CLIP into <out>/shapes-xclip."""
    import make

    out = os.path.join(os.path.abspath(args.out), "shapes-xclip")
    t_all = time.time()
    cfg = TINY
    size, t = cfg.vision.image_size, cfg.vision.num_frames
    tok = xclip_tokenizer()
    V = len(tok.vocab)
    cfg = replace(cfg, text=replace(cfg.text, vocab_size=V, bos_token_id=V - 2, eos_token_id=V - 1, pad_token_id=0))
    ts = {}
    t0 = time.time()
    x, y = build_clips(TRAIN_SEED, 24 * args.xclip_per_class, size, t, "train")
    evs = {bg: build_clips(9100 + i, args.xclip_eval, size, t, bg, EVAL_SIZES, jitter=0.0)
           for i, bg in enumerate(["gradient", "noise", "plain"])}
    ts["render"] = round(time.time() - t0, 1)
    make.seed_all(SEED)
    t0 = time.time()
    model = train(x, y, tok, cfg, steps=args.xclip_steps, seed=SEED)
    ts["train"] = round(time.time() - t0, 1)
    acc = {bg: accuracy(model, tok, *xy) for bg, xy in evs.items()}
    print("xclip held-out:", json.dumps(acc), flush=True)
    if os.path.isdir(out):
        shutil.rmtree(out)
    write_package(model, tok, out)
    write_json(os.path.join(out, "reference.json"), reference(model, tok))
    samples = write_samples(os.path.join(out, "samples"))
    os.makedirs(os.path.join(REPO, ".cache", "shapes"), exist_ok=True)
    torch.save(model.state_dict(), os.path.join(REPO, ".cache", "shapes", "xclip.pt"))
    ts["total"] = round(time.time() - t_all, 1)
    metrics = {
        "seed": SEED, "train_seed": TRAIN_SEED, "steps": args.xclip_steps, "train_clips": int(len(x)),
        "frames": t, "image_size": size, "params": sum(p.numel() for p in model.parameters()),
        "eval": {"clips_per_set": args.xclip_eval, "sizes": [f"{w}x{h}" for w, h in EVAL_SIZES],
                 "accuracy": acc},
        "timings_s": ts, "samples": [s["file"] for s in samples], "machine": make.machine_info(),
        "sizes": make.dir_size(out),
    }
    write_json(os.path.join(out, "metrics.json"), metrics)
    write_readme(out, metrics)
    print(f"xclip done in {ts['total']} s", flush=True)
    return metrics


def write_readme(out: str, m: dict) -> None:
    pct = lambda v: f"{100 * v:.1f}%"  # noqa: E731
    files = ", ".join(f"`{k}` {v / 1024:.1f} KiB" for k, v in m["sizes"].items() if k.endswith(".onnx"))
    rows = "\n".join(f"| {bg} | {pct(a['class'])} | {pct(a['color'])} | {pct(a['direction'])} |"
                     for bg, a in m["eval"]["accuracy"].items())
    text = f"""# shapes-xclip

A tiny X-CLIP trained from scratch on clips of one coloured shape moving left, right, up or down
(tools/shapes/xclip.py, seeded: `/usr/bin/python3 tools/shapes/make.py --only xclip`). Hugging Face's
X-CLIP structure and parameter names ({m['params']:,} parameters): CLIP text tower, CLIP vision tower
with cross-frame message tokens, multi-frame integration transformer, video-specific prompt generator.
{m['frames']} frames of {m['image_size']}x{m['image_size']} px; VideoMAE-style preprocessing with ImageNet mean/std.

Files: {files}. Layout: see docs/xclip.md (mmrt's X-CLIP layout).

## Held-out accuracy (PyTorch, Pillow preprocessing)

{m['eval']['clips_per_set']} fresh clips per background (seeds never trained on, sizes
{', '.join(m['eval']['sizes'])}, the 8 uniformly sampled frames), top-1 over the 24 labels
"a {{colour}} shape moving {{direction}}"; gradient backgrounds never appear in training.

| background | colour + direction | colour | direction |
|---|---|---|---|
{rows}

Training: {m['train_clips']} clips, {m['steps']} steps ({m['timings_s']['train']} s on {m['machine']['cpus']} CPUs,
torch {m['machine']['torch']}); rendering {m['timings_s']['render']} s.

`samples/`: {len(m['samples'])} encoded clips (H.264 mp4 and VP9 webm) with `labels.json`.
`reference.json`: PyTorch outputs of the three graphs (8 and 4 frames) for the parity tests.
"""
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(text)


# ------------------------------------------------------------------------------ bench size
def bench_xclip(out: str) -> dict:
    """microsoft/xclip-base-patch32's architecture with random weights."""
    t0 = time.time()
    tok = xclip_tokenizer(vocab_size=49408)
    V = len(tok.vocab)
    cfg = XClipCfg(
        text=XTextCfg(vocab_size=V, hidden_size=512, intermediate_size=2048, num_hidden_layers=12,
                      num_attention_heads=8, max_position_embeddings=77, pad_token_id=0, bos_token_id=V - 2,
                      eos_token_id=V - 1),
        vision=XVisionCfg(image_size=224, patch_size=32, hidden_size=768, intermediate_size=3072,
                          num_hidden_layers=12, num_attention_heads=12, mit_hidden_size=512,
                          mit_intermediate_size=2048, mit_num_hidden_layers=1, mit_num_attention_heads=8,
                          num_frames=8),
        projection_dim=512, prompt_layers=2, prompt_num_attention_heads=8,
    )
    torch.manual_seed(0)
    model = XCLIPModel(cfg).hf_init().eval()
    d = os.path.join(out, "xclip-base-patch32")
    if os.path.isdir(d):
        shutil.rmtree(d)
    write_package(model, tok, d)
    sizes = {}
    for root, _, fs in os.walk(d):
        for fn in fs:
            sizes[os.path.relpath(os.path.join(root, fn), d)] = os.path.getsize(os.path.join(root, fn))
    return {"arch": "X-CLIP base/32 (224 px, 8 frames, vision 12 x 768, MIT 1 x 512, prompt generator 2 layers, "
                    "text 12 x 512, 49408 vocab, 512-d)",
            "params": sum(p.numel() for p in model.parameters()), "seconds": round(time.time() - t0, 1),
            "sizes": sizes}


def make_bench(args) -> None:
    import make

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    info = bench_xclip(out)
    write_json(os.path.join(out, "xclip-generator.json"), {
        "command": "/usr/bin/python3 tools/shapes/make.py --bench --only xclip", "machine": make.machine_info(),
        "threads": torch.get_num_threads(), "models": {"xclip-base-patch32": info}})
    print(f"bench xclip: {info['seconds']} s, {sum(info['sizes'].values()) / 2**20:.0f} MiB", flush=True)
