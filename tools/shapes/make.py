#!/usr/bin/python3
"""Build the shapes-world models (tiny, committed) or the bench-size ones (random weights).

    /usr/bin/python3 tools/shapes/make.py                 # -> models/ (tiny CLIP, VLM, LLaVA-Next, samples)
    /usr/bin/python3 tools/shapes/make.py --bench         # -> models-bench/ (real sizes, random weights)

Needs Debian's python3-torch, python3-onnx, python3-pil, python3-numpy. With Debian's
reference BLAS (libblas3) PyTorch's matmuls run ~10x slower; install libopenblas0-pthread
(`apt-get install libopenblas0-pthread`, picked up through update-alternatives) for the
timings quoted in models/README.md. Node (with the repo's node_modules) is used at the end to
check the ONNX files against the PyTorch references (tools/shapes/verify.mjs).
"""
from __future__ import annotations

import os

# Before torch is imported: OpenMP threads that spin while waiting make a shared 2-core machine
# crawl (10x slower steps under load); OpenBLAS threads on top of torch's threads oversubscribe.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import platform
import random
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

import render  # noqa: E402
from data import REPO, build_set, eval_sets  # noqa: E402
from export import b64, clip_reference, export_clip, export_vlm, flist  # noqa: E402
from models import LlamaCfg, TextCfg, VisionCfg  # noqa: E402
from preprocess import pixel_values  # noqa: E402
from tok import clip_tokenizer, render_chat, vlm_tokenizer, write_json  # noqa: E402
from train_clip import train_clip, zero_shot_accuracy  # noqa: E402
from train_vlm import (  # noqa: E402
    QUESTION_KEYS,
    expand_image_tokens,
    first_user,
    greedy,
    n_image_tokens,
    prompt_for,
    train_vlm,
    vlm_accuracy,
)

SEED = 1234
TRAIN_SEED = 1
SAMPLES_SEED = 2024

CLIP_VISION = VisionCfg(image_size=64, patch_size=16, hidden_size=64, intermediate_size=256,
                        num_hidden_layers=3, num_attention_heads=4, projection_dim=64)
CLIP_TEXT_KW = dict(hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
                    max_position_embeddings=16, projection_dim=64)
VLM_TEXT_KW = dict(hidden_size=64, intermediate_size=192, num_hidden_layers=2, num_attention_heads=4,
                   num_key_value_heads=2, head_dim=16, max_position_embeddings=256)
IMAGE_TOKEN_INDEX = 4


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def dir_size(path: str) -> dict[str, int]:
    out = {}
    for root, _, files in os.walk(path):
        for f in sorted(files):
            p = os.path.join(root, f)
            out[os.path.relpath(p, path)] = os.path.getsize(p)
    return dict(sorted(out.items()))


# ------------------------------------------------------------------------------ samples
def write_samples(out: str) -> list[dict]:
    """12 committed images of various sizes/formats/backgrounds, one per class pair."""
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    sizes = [(64, 64), (224, 224), (320, 200), (150, 300), (96, 96), (48, 48),
             (640, 480), (100, 160), (256, 256), (80, 80), (200, 120), (512, 512)]
    backgrounds = ["plain", "noise", "gradient"]
    labels = []
    for i, (w, h) in enumerate(sizes):
        color, shape = render.CLASSES[(i * 7 + 3) % len(render.CLASSES)]
        img, spec = render.render(SAMPLES_SEED, i, w, h, color, shape, backgrounds[i % 3])
        ext = "jpg" if i % 4 == 3 else "png"
        name = f"{i:02d}_{color}_{shape}.{ext}"
        if ext == "jpg":
            img.save(os.path.join(out, name), quality=92)
        else:
            img.save(os.path.join(out, name), optimize=True)
        labels.append(render.label(spec, name))
    write_json(os.path.join(out, "labels.json"), {
        "seed": SAMPLES_SEED,
        "generator": "tools/shapes/make.py (render.py)",
        "colors": list(render.COLORS),
        "shapes": render.SHAPES,
        "questions": render.QUESTIONS,
        "images": labels,
    })
    return labels


def load_px(path: str, size: int) -> np.ndarray:
    with Image.open(path) as im:
        return pixel_values(im, size)[None]


# ------------------------------------------------------------------------------ tiny
def make_tiny(args) -> None:
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    metrics: dict = {"seed": SEED, "threads": torch.get_num_threads(), "timings_s": {}}
    t_all = time.time()

    samples = write_samples(os.path.join(out, "samples"))
    print(f"samples: {len(samples)} images -> {out}/samples", flush=True)

    t = time.time()
    img = CLIP_VISION.image_size
    x_train, y_train = build_set(TRAIN_SEED, 24 * args.per_class, img)
    evs = eval_sets(img, args.eval_per_set)
    metrics["timings_s"]["render"] = round(time.time() - t, 1)
    metrics["train_images"] = int(len(x_train))
    metrics["eval"] = {
        "images_per_set": args.eval_per_set,
        "sets": {"gradient": "seed 9001, gradient backgrounds (never trained on)",
                 "noise": "seed 9002, noisy backgrounds", "plain": "seed 9003, plain backgrounds"},
        "sizes": [f"{w}x{h}" for w, h in __import__("data").EVAL_SIZES],
    }

    # ---- CLIP
    seed_all(SEED)
    ctok = clip_tokenizer()
    V = len(ctok.vocab)
    tc = TextCfg(vocab_size=V, bos_token_id=V - 2, eos_token_id=V - 1, pad_token_id=0, **CLIP_TEXT_KW)
    t = time.time()
    clip = train_clip(x_train, y_train, ctok, CLIP_VISION, tc, steps=args.clip_steps, seed=SEED)
    metrics["timings_s"]["train_clip"] = round(time.time() - t, 1)
    zs = {k: zero_shot_accuracy(clip, ctok, x, y) for k, (x, y) in evs.items()}
    zs_cap = {k: zero_shot_accuracy(clip, ctok, x, y, template="{}") for k, (x, y) in evs.items()}
    n = sum(len(y) for _, y in evs.values())
    metrics["clip_zero_shot"] = {
        "prompt 'a photo of {caption}'": {**{k: round(v, 4) for k, v in zs.items()},
                                          "all": round(sum(zs[k] * len(evs[k][1]) for k in zs) / n, 4)},
        "prompt '{caption}'": {**{k: round(v, 4) for k, v in zs_cap.items()},
                               "all": round(sum(zs_cap[k] * len(evs[k][1]) for k in zs_cap) / n, 4)},
    }
    print("clip zero-shot:", json.dumps(metrics["clip_zero_shot"]), flush=True)
    cdir = os.path.join(out, "shapes-clip")
    if os.path.isdir(cdir):
        shutil.rmtree(cdir)
    export_clip(clip, ctok, cdir)
    ref_imgs = [samples[0]["file"], samples[2]["file"]]
    px = np.concatenate([load_px(os.path.join(out, "samples", f), img) for f in ref_imgs])
    ref_texts = ["a photo of a red circle", "a photo of " + samples[0]["caption"], samples[2]["caption"],
                 "a blue star", "This is a photo of green triangle."]
    ref = clip_reference(clip, ctok, ref_texts, px, [f"samples/{f}" for f in ref_imgs])
    ref["labels"] = [render.prompt(c, s) for c, s in render.CLASSES]
    ref["label_input_ids"] = [ctok.encode(s) for s in ref["labels"]]
    write_json(os.path.join(cdir, "reference.json"), ref)
    torch.save(clip.state_dict(), os.path.join(REPO, ".cache", "shapes", "clip.pt"))

    # ---- VLM
    seed_all(SEED)
    vtok = vlm_tokenizer()
    lc = LlamaCfg(vocab_size=len(vtok.vocab), bos_token_id=1, eos_token_id=2, pad_token_id=0, **VLM_TEXT_KW)
    t = time.time()
    vlm = train_vlm(clip, x_train, y_train, vtok, lc, IMAGE_TOKEN_INDEX, steps=args.vlm_steps, seed=SEED)
    metrics["timings_s"]["train_vlm"] = round(time.time() - t, 1)
    acc = {k: vlm_accuracy(vlm, vtok, x, y, IMAGE_TOKEN_INDEX) for k, (x, y) in evs.items()}
    metrics["vlm_answers"] = {
        q: {**{k: round(acc[k][q], 4) for k in acc}, "all": round(sum(acc[k][q] * len(evs[k][1]) for k in acc) / n, 4)}
        for q in QUESTION_KEYS
    }
    print("vlm answers:", json.dumps(metrics["vlm_answers"]), flush=True)
    vdir = os.path.join(out, "shapes-vlm")
    if os.path.isdir(vdir):
        shutil.rmtree(vdir)
    export_vlm(vlm, vtok, vdir, IMAGE_TOKEN_INDEX)
    write_json(os.path.join(vdir, "reference.json"), vlm_reference(vlm, vtok, out, samples))
    torch.save(vlm.state_dict(), os.path.join(REPO, ".cache", "shapes", "vlm.pt"))

    # ---- LLaVA-Next (any resolution) with the same weights
    if not args.no_llava_next:
        import llava_next

        t = time.time()
        ndir = os.path.join(out, "shapes-llava-next")
        if os.path.isdir(ndir):
            shutil.rmtree(ndir)
        metrics["llava_next"] = llava_next.build(vlm, vtok, ndir, IMAGE_TOKEN_INDEX, out, samples)
        metrics["timings_s"]["llava_next"] = round(time.time() - t, 1)

    # ---- X-CLIP (video): its own clips, model, references and README (tools/shapes/xclip.py)
    if not args.no_xclip:
        import xclip

        metrics["xclip"] = xclip.build(args)["eval"]["accuracy"]

    # ---- BLIP, BLIP VQA, BLIP-2 (their own tower, trained on BLIP's squash-resized images)
    if not args.no_blip:
        import blip_build

        t = time.time()
        metrics["blip"] = blip_build.build(out, samples, args)
        metrics["timings_s"]["blip"] = round(time.time() - t, 1)

    metrics["timings_s"]["total"] = round(time.time() - t_all, 1)
    metrics["sizes"] = {d: dir_size(os.path.join(out, d)) for d in sorted(os.listdir(out))
                        if d.startswith("shapes-") and os.path.isdir(os.path.join(out, d))}
    metrics["machine"] = machine_info()
    write_json(os.path.join(out, "metrics.json"), metrics)
    write_readme(out)
    if not args.no_verify:
        verify(out)
    quantize(out)
    print(f"done in {time.time() - t_all:.0f}s", flush=True)


def make_blip_only(args) -> None:
    """`--only blip`: rebuild the BLIP family's folders alone, keeping every other model and the
    rest of metrics.json as they are."""
    import blip_build

    out = os.path.abspath(args.out)
    t = time.time()
    with open(os.path.join(out, "samples", "labels.json")) as f:
        samples = json.load(f)["images"]
    with open(os.path.join(out, "metrics.json")) as f:
        metrics = json.load(f)
    metrics["blip"] = blip_build.build(out, samples, args)
    metrics["timings_s"]["blip"] = round(time.time() - t, 1)
    metrics["sizes"] = {d: dir_size(os.path.join(out, d)) for d in sorted(os.listdir(out))
                        if d.startswith("shapes-") and os.path.isdir(os.path.join(out, d))}
    write_json(os.path.join(out, "metrics.json"), metrics)
    write_readme(out)
    if not args.no_verify:
        verify(out)
    print(f"blip done in {time.time() - t:.0f}s", flush=True)


@torch.no_grad()
def vlm_reference(vlm, vtok, out: str, samples: list[dict]) -> dict:
    n_img = n_image_tokens(vlm.vision_tower.cfg)
    size = vlm.vision_tower.cfg.image_size
    ref: dict = {"image_token_index": IMAGE_TOKEN_INDEX, "num_image_tokens": n_img, "cases": []}
    images = [samples[0]["file"], samples[5]["file"]]
    pxs = {f: load_px(os.path.join(out, "samples", f), size) for f in images}
    # pixel_values keyed by the image each case names (paths relative to models/)
    ref["pixel_values"] = {f"samples/{f}": b64(p) for f, p in pxs.items()}
    convs = [
        (images[0], [first_user(render.QUESTIONS["color"])]),
        (images[0], [first_user(render.QUESTIONS["shape"])]),
        (images[0], [first_user(render.QUESTIONS["describe"])]),
        (images[1], [first_user(render.QUESTIONS["describe"])]),
        (images[1], [first_user(render.QUESTIONS["color"]),
                     {"role": "assistant", "content": samples[5]["color"]},
                     {"role": "user", "content": render.QUESTIONS["shape"]}]),
    ]
    for f, messages in convs:
        text = render_chat(messages, add_generation_prompt=True)
        ids = vtok.encode(expand_image_tokens(text, n_img), add_special_tokens=False)
        outs, first = greedy(vlm, vtok, [ids], torch.from_numpy(pxs[f]), IMAGE_TOKEN_INDEX)
        ref["cases"].append({
            "image": f"samples/{f}",
            "messages": messages,
            "prompt": text,
            "input_ids": ids,
            "first_logits": flist(first[0]),
            "generated_ids": outs[0],
            "generated_text": vtok.decode(outs[0]),
        })
    return ref


def machine_info() -> dict:
    blas = "unknown"
    try:
        blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    except OSError:
        pass
    return {"python": platform.python_version(), "torch": torch.__version__, "cpus": os.cpu_count(),
            "blas": blas, "platform": platform.platform()}


def verify(out: str) -> None:
    node = shutil.which("node")
    if not node or not os.path.isdir(os.path.join(REPO, "node_modules", "onnxruntime-node")):
        print("verify: skipped (node or node_modules/onnxruntime-node missing)")
        return
    r = subprocess.run([node, os.path.join(HERE, "verify.mjs"), out], cwd=REPO)
    if r.returncode != 0:
        raise SystemExit("verify.mjs failed: the ONNX files do not match the PyTorch references")


def quantize(out: str) -> None:
    """The committed precision variants follow the fp32 files: rewrite them, then measure their drift."""
    node = shutil.which("node")
    if not node or not os.path.isdir(os.path.join(REPO, "node_modules", "onnxruntime-node")):
        print("quantize: skipped (node or node_modules missing)")
        return
    for d in sorted(os.listdir(out)):
        if d.startswith("shapes-") and os.path.isdir(os.path.join(out, d, "onnx")):
            subprocess.run([node, os.path.join(REPO, "bin", "mmrt.js"), "quantize", os.path.join(out, d), "--force"],
                           cwd=REPO, check=True)
    subprocess.run([node, "--import", "tsx", os.path.join(REPO, "tools", "quantize", "publish.ts"), out],
                   cwd=REPO, check=True)


def write_readme(out: str) -> None:
    import readme

    readme.write(out)


# ------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=None, help="output folder (default models/, or models-bench/ with --bench)")
    p.add_argument("--bench", action="store_true", help="bench-size models with random weights")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--clip-steps", type=int, default=3000)
    p.add_argument("--vlm-steps", type=int, default=1500)
    p.add_argument("--per-class", type=int, default=1000, help="training images per class")
    p.add_argument("--eval-per-set", type=int, default=480)
    p.add_argument("--no-llava-next", action="store_true")
    p.add_argument("--no-verify", action="store_true")
    p.add_argument("--only", default=None, help="bench: comma list of clip,vlm,xclip,blip (default: all); "
                   "without --bench: 'xclip' or 'blip' builds only those models")
    p.add_argument("--no-xclip", action="store_true")
    p.add_argument("--xclip-steps", type=int, default=1500)
    p.add_argument("--xclip-per-class", type=int, default=200, help="training clips per class")
    p.add_argument("--xclip-eval", type=int, default=240, help="held-out clips per background")
    p.add_argument("--blip-steps", type=int, default=5000)
    p.add_argument("--blip-vqa-steps", type=int, default=1200)
    p.add_argument("--blip2-steps", type=int, default=1500)
    p.add_argument("--no-blip", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    if args.bench:
        import bench

        args.out = args.out or os.path.join(REPO, "models-bench")
        only = set((args.only or "clip,vlm,xclip,blip").split(","))
        if only & {"clip", "vlm", "blip"}:
            # bench.py builds the clip, vlm and blip ones it is asked for.
            args.only = ",".join(sorted(only & {"clip", "vlm", "blip"}))
            bench.make_bench(args)
        if "xclip" in only:
            import xclip

            xclip.make_bench(args)
        readme_dir = os.path.join(REPO, "models")
        if os.path.isdir(readme_dir) and os.path.exists(os.path.join(readme_dir, "metrics.json")):
            write_readme(readme_dir)
    elif args.only == "xclip":
        import xclip

        args.out = args.out or os.path.join(REPO, "models")
        xclip.build(args)
        if not args.no_verify:
            verify(args.out)
    else:
        args.out = args.out or os.path.join(REPO, "models")
        if args.only == "blip":
            make_blip_only(args)
        else:
            make_tiny(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
