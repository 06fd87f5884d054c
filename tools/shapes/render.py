#!/usr/bin/python3
"""The shapes world: one coloured shape on a plain or lightly noisy light background.

Library (used by make.py) and CLI:

    /usr/bin/python3 tools/shapes/render.py --seed 7 --size 96x64 --count 8 --out /tmp/shapes

writes <out>/<index>_<color>_<shape>.png plus <out>/labels.json. `--size` also takes
`random` (each image gets its own size) and `--background` picks plain, noise, gradient or
any (the models are trained on plain and noise; gradient is held out for evaluation).

Geometry rule: the shape always lies inside the central min(W, H) square of the image, so
a CLIP-style "resize shortest edge + center crop" keeps all of it whatever the aspect ratio.
Everything is a pure function of the seed (random.Random and numpy Generator, no globals).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
from dataclasses import dataclass, asdict

import numpy as np
from PIL import Image, ImageDraw

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 35),
    "green": (35, 160, 55),
    "blue": (35, 70, 225),
    "yellow": (240, 205, 20),
    "purple": (135, 45, 175),
    "orange": (250, 135, 20),
}
SHAPES = ["circle", "square", "triangle", "star"]
CLASSES = [(c, s) for c in COLORS for s in SHAPES]  # 24 classes, colour-major
BACKGROUNDS = ["plain", "noise", "gradient"]

QUESTIONS = {
    "color": "What color is the shape?",
    "shape": "What shape is this?",
    "describe": "Describe the image.",
}


def article(color: str) -> str:
    return "an" if color[0] in "aeiou" else "a"


def caption(color: str, shape: str) -> str:
    """'a red circle', 'an orange star'."""
    return f"{article(color)} {color} {shape}"


def prompt(color: str, shape: str) -> str:
    """'a photo of a red circle'."""
    return f"a photo of {caption(color, shape)}"


def answers(color: str, shape: str) -> dict[str, str]:
    return {"color": color, "shape": shape, "describe": caption(color, shape)}


@dataclass
class Spec:
    width: int
    height: int
    color: str
    shape: str
    cx: float  # centre, pixels
    cy: float
    radius: float  # circumradius, pixels
    rotation: float  # degrees
    background: str
    bg_rgb: tuple[int, int, int]
    bg_rgb2: tuple[int, int, int]
    noise: float
    jitter: tuple[int, int, int]
    noise_seed: int


def _shape_points(shape: str, cx: float, cy: float, r: float, rot: float) -> list[tuple[float, float]]:
    a0 = math.radians(rot)
    if shape == "square":
        n, radii = 4, [r]
        a0 += math.pi / 4
    elif shape == "triangle":
        n, radii = 3, [r]
        a0 -= math.pi / 2
    elif shape == "star":
        n, radii = 10, [r, r * 0.42]
        a0 -= math.pi / 2
    else:
        raise ValueError(shape)
    pts = []
    for i in range(n):
        rr = radii[i % len(radii)]
        a = a0 + 2 * math.pi * i / n
        pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    return pts


def sample_spec(
    rng: random.Random,
    width: int,
    height: int,
    color: str | None = None,
    shape: str | None = None,
    background: str = "train",
) -> Spec:
    """Draw one scene. background: plain|noise|gradient|train (plain or noise)|any."""
    color = color or rng.choice(list(COLORS))
    shape = shape or rng.choice(SHAPES)
    if background == "train":
        background = rng.choice(["plain", "noise"])
    elif background == "any":
        background = rng.choice(BACKGROUNDS)
    side = min(width, height)
    ox, oy = (width - side) / 2, (height - side) / 2
    # circumradius between 18% and 42% of the central square's side
    radius = side * rng.uniform(0.18, 0.42)
    margin = radius * (1.0 if shape != "circle" else 1.0) + 1
    cx = ox + rng.uniform(margin, max(margin, side - margin))
    cy = oy + rng.uniform(margin, max(margin, side - margin))

    def light(lo: int = 205) -> tuple[int, int, int]:
        base = rng.randint(lo, 255)
        return tuple(min(255, max(lo - 10, base + rng.randint(-14, 14))) for _ in range(3))  # type: ignore[return-value]

    return Spec(
        width=width,
        height=height,
        color=color,
        shape=shape,
        cx=cx,
        cy=cy,
        radius=radius,
        rotation=rng.uniform(0, 360),
        background=background,
        bg_rgb=light(),
        bg_rgb2=light(190),
        noise=rng.uniform(3, 12) if background == "noise" else 0.0,
        jitter=tuple(rng.randint(-18, 18) for _ in range(3)),  # type: ignore[arg-type]
        noise_seed=rng.randrange(2**31),
    )


def draw(spec: Spec, supersample: int = 3) -> Image.Image:
    w, h, ss = spec.width, spec.height, supersample
    if spec.background == "gradient":
        t = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :, None]
        a = np.array(spec.bg_rgb, np.float32)[None, None, :]
        b = np.array(spec.bg_rgb2, np.float32)[None, None, :]
        bg = np.broadcast_to(a * (1 - t) + b * t, (h, w, 3))
    else:
        bg = np.broadcast_to(np.array(spec.bg_rgb, np.float32), (h, w, 3))
    # draw the shape mask supersampled for smooth (antialiased) edges
    mask = Image.new("L", (w * ss, h * ss), 0)
    d = ImageDraw.Draw(mask)
    cx, cy, r = spec.cx * ss, spec.cy * ss, spec.radius * ss
    if spec.shape == "circle":
        rr = r * 0.9  # same visual area class as the polygons
        d.ellipse([cx - rr, cy - rr, cx + rr, cy + rr], fill=255)
    else:
        d.polygon(_shape_points(spec.shape, cx, cy, r, spec.rotation), fill=255)
    if ss > 1:
        mask = mask.resize((w, h), Image.BOX)
    alpha = np.asarray(mask, np.float32)[..., None] / 255.0
    fg = np.clip(np.array(COLORS[spec.color], np.float32) + np.array(spec.jitter, np.float32), 0, 255)
    img = bg * (1 - alpha) + fg[None, None, :] * alpha
    if spec.noise > 0:
        nrng = np.random.default_rng(spec.noise_seed)
        img = img + nrng.normal(0.0, spec.noise, size=img.shape).astype(np.float32)
    return Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8), "RGB")


def render(
    seed: int,
    index: int,
    width: int,
    height: int,
    color: str | None = None,
    shape: str | None = None,
    background: str = "train",
) -> tuple[Image.Image, Spec]:
    rng = random.Random(seed * 1_000_003 + index)
    spec = sample_spec(rng, width, height, color, shape, background)
    return draw(spec), spec


def random_size(rng: random.Random, lo: int = 40, hi: int = 256) -> tuple[int, int]:
    side = rng.randint(lo, hi)
    aspect = rng.choice([1.0, 1.0, rng.uniform(0.5, 2.0)])
    w, h = side, max(lo // 2, int(round(side * aspect)))
    return (w, h) if rng.random() < 0.5 else (h, w)


def label(spec: Spec, file: str) -> dict:
    return {
        "file": file,
        "width": spec.width,
        "height": spec.height,
        "color": spec.color,
        "shape": spec.shape,
        "background": spec.background,
        "caption": caption(spec.color, spec.shape),
        "prompt": prompt(spec.color, spec.shape),
        "qa": [{"question": QUESTIONS[k], "answer": v} for k, v in answers(spec.color, spec.shape).items()],
    }


def write_set(
    out: str,
    seed: int,
    count: int,
    size: str = "64x64",
    background: str = "train",
    fmt: str = "png",
    balanced: bool = True,
) -> list[dict]:
    """Write `count` images (classes cycle through all 24 when balanced) and labels.json."""
    os.makedirs(out, exist_ok=True)
    srng = random.Random(seed ^ 0x5EED)
    labels = []
    for i in range(count):
        if size == "random":
            w, h = random_size(srng)
        else:
            w, h = (int(x) for x in size.lower().split("x"))
        color, shape = CLASSES[(i * 7 + seed) % len(CLASSES)] if balanced else (None, None)
        img, spec = render(seed, i, w, h, color, shape, background)
        name = f"{i:03d}_{spec.color}_{spec.shape}.{fmt}"
        if fmt in ("jpg", "jpeg"):
            img.save(os.path.join(out, name), quality=92)
        else:
            img.save(os.path.join(out, name), optimize=True)
        labels.append(label(spec, name))
    meta = {
        "seed": seed,
        "size": size,
        "background": background,
        "colors": list(COLORS),
        "shapes": SHAPES,
        "questions": QUESTIONS,
        "images": labels,
    }
    with open(os.path.join(out, "labels.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    return labels


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", default="64x64", help="WxH, or 'random'")
    p.add_argument("--count", type=int, default=24)
    p.add_argument("--out", required=True)
    p.add_argument("--background", default="train", choices=["train", "any", *BACKGROUNDS])
    p.add_argument("--format", default="png", choices=["png", "jpg"])
    p.add_argument("--unbalanced", action="store_true", help="random classes instead of cycling all 24")
    a = p.parse_args(argv)
    labels = write_set(a.out, a.seed, a.count, a.size, a.background, a.format, not a.unbalanced)
    print(f"wrote {len(labels)} images + labels.json to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
