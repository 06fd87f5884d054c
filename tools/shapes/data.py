"""Pre-rendered, preprocessed image sets (uint8 crops) for training and evaluation.

A set is a pure function of (seed, count, sizes, background, crop size); it is cached under
.cache/shapes/ (gitignored) so a rerun of make.py skips the rendering.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import time

import numpy as np

import render
from preprocess import to_uint8_crop, to_uint8_squash

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.path.join(REPO, ".cache", "shapes")


def build_set(
    seed: int,
    count: int,
    image_size: int,
    sizes: list[tuple[int, int]] | str = "random",
    background: str = "train",
    balanced: bool = True,
    cache: bool = True,
    processor: str = "clip",
) -> tuple[np.ndarray, np.ndarray]:
    """Returns (uint8 [N, S, S, 3] after resize+crop, int64 [N] class index into CLASSES).

    processor "clip": resize the shortest edge + center crop (CLIPImageProcessor); "blip": resize
    to S x S ignoring the aspect ratio (BlipImageProcessor), both Pillow bicubic."""
    key = json.dumps([seed, count, image_size, sizes, background, balanced, 2] + ([processor] if processor != "clip" else []))
    h = hashlib.sha1(key.encode()).hexdigest()[:16]
    path = os.path.join(CACHE, f"set-{h}.npz")
    if cache and os.path.exists(path):
        z = np.load(path)
        return z["x"], z["y"]
    t0 = time.time()
    srng = random.Random(seed ^ 0xC0FFEE)
    xs = np.empty((count, image_size, image_size, 3), np.uint8)
    ys = np.empty((count,), np.int64)
    for i in range(count):
        if sizes == "random":
            w, hh = render.random_size(srng)
        else:
            w, hh = sizes[i % len(sizes)]
        if balanced:
            color, shape = render.CLASSES[i % len(render.CLASSES)]
        else:
            color, shape = None, None
        img, spec = render.render(seed, i, w, hh, color, shape, background)
        xs[i] = to_uint8_crop(img, image_size) if processor == "clip" else to_uint8_squash(img, image_size)
        ys[i] = render.CLASSES.index((spec.color, spec.shape))
    if cache:
        os.makedirs(CACHE, exist_ok=True)
        np.savez(path, x=xs, y=ys)
    print(f"  rendered {count} images (seed {seed}, {background}) in {time.time() - t0:.1f}s", flush=True)
    return xs, ys


# held-out evaluation: other seeds, sizes the training never used exactly, other backgrounds
EVAL_SIZES = [(48, 48), (80, 80), (128, 128), (200, 120), (120, 200), (80, 48), (300, 300), (57, 93)]


def eval_sets(image_size: int, per_set: int = 240, processor: str = "clip") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {
        "gradient": build_set(9001, per_set, image_size, EVAL_SIZES, "gradient", processor=processor),
        "noise": build_set(9002, per_set, image_size, EVAL_SIZES, "noise", processor=processor),
        "plain": build_set(9003, per_set, image_size, EVAL_SIZES, "plain", processor=processor),
    }
