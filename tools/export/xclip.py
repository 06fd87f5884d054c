#!/usr/bin/python3
"""Export a Hugging Face X-CLIP checkpoint to mmrt's X-CLIP layout (docs/xclip.md).

    python3 tools/export/xclip.py --model microsoft/xclip-base-patch32 --out models-hf/xclip-base-patch32
    python3 tools/export/xclip.py --random-config tiny --tokenizer-from models/shapes-xclip --out /tmp/xclip-random

Needs `transformers` and `torch` (and `onnx`). It wraps the Hugging Face modules themselves
(tools/shapes/xclip_onnx.py reads only their names), writes onnx/{vision_model, text_model,
prompts_generator}.onnx with config.json, preprocessor_config.json and the tokenizer files, and
checks itself before it finishes:

- the layout chained in PyTorch (vision -> text -> prompts -> the core's logits) against
  `XCLIPModel.forward`'s logits_per_video on the same clip (they must agree within 1e-4);
- `reference.json` beside the model: PyTorch outputs of the layout on a fixed clip and texts, in
  the format of models/shapes-xclip/reference.json, so mmrt's parity test (and
  tools/shapes/verify.mjs) check the ONNX files against them.

`--check-shapes` also loads the tiny shapes X-CLIP's weights (.cache/shapes/xclip.pt, written by
`make.py --only xclip`) into `transformers.XCLIPModel` and compares with its committed references:
the tiny model has Hugging Face's structure and parameter names.

Exit code 3 with a message when transformers cannot be imported.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tools", "shapes"))

try:
    import torch
    import transformers
    from transformers import XCLIPConfig, XCLIPModel
except ImportError as e:  # pragma: no cover - the message is the point
    print(f"tools/export/xclip.py needs transformers and torch ({e}); install them with pip "
          "(Debian has no python3-transformers)", file=sys.stderr)
    sys.exit(3)

import numpy as np  # noqa: E402

from export import b64, flist  # noqa: E402
from xclip_onnx import export_xclip_onnx, layout_outputs  # noqa: E402

TINY_RANDOM = {
    "projection_dim": 64, "prompt_layers": 1, "prompt_num_attention_heads": 4,
    "text_config": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
                    "max_position_embeddings": 16},
    "vision_config": {"image_size": 32, "patch_size": 8, "hidden_size": 64, "intermediate_size": 128,
                      "num_hidden_layers": 2, "num_attention_heads": 4, "mit_hidden_size": 64,
                      "mit_intermediate_size": 128, "mit_num_hidden_layers": 1, "mit_num_attention_heads": 4,
                      "num_frames": 8},
}


def write_json(path: str, obj: object) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def load(args) -> tuple[XCLIPModel, str | None]:
    if args.random_config:
        cfg = dict(TINY_RANDOM)
        tok_dir = args.tokenizer_from
        if tok_dir:
            with open(os.path.join(tok_dir, "tokenizer.json")) as f:
                vocab = len(json.load(f)["model"]["vocab"])
            cfg["text_config"] = {**cfg["text_config"], "vocab_size": vocab, "pad_token_id": 0,
                                  "bos_token_id": vocab - 2, "eos_token_id": vocab - 1}
        torch.manual_seed(0)
        return XCLIPModel(XCLIPConfig(**cfg)).eval(), tok_dir
    return XCLIPModel.from_pretrained(args.model).eval(), args.model


def write_processor(src: str | None, out: str, model: XCLIPModel) -> None:
    """preprocessor_config.json + tokenizer files: the checkpoint's own, or copied from a folder."""
    if src and os.path.isdir(src):
        for f in ("preprocessor_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                  "vocab.json", "merges.txt"):
            if os.path.exists(os.path.join(src, f)):
                shutil.copy(os.path.join(src, f), os.path.join(out, f))
        if not os.path.exists(os.path.join(src, "tokenizer.json")):
            transformers.AutoTokenizer.from_pretrained(src).save_pretrained(out)
    elif src:
        transformers.AutoProcessor.from_pretrained(src).save_pretrained(out)
    size = model.config.vision_config.image_size
    pre = os.path.join(out, "preprocessor_config.json")
    if os.path.exists(pre):
        with open(pre) as f:
            p = json.load(f)
        p.update(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
        write_json(pre, p)


@torch.no_grad()
def check_and_reference(model: XCLIPModel, out: str, vocab: int) -> dict:
    c = model.config
    t, s = c.vision_config.num_frames, c.vision_config.image_size
    g = torch.Generator().manual_seed(0)
    px = torch.randn(2, t, 3, s, s, generator=g)
    ids = torch.randint(1, vocab - 2, (3, 6), generator=g)
    ids[:, -1] = vocab - 1
    am = torch.ones_like(ids)
    am[2, 4:] = 0
    ids[2, 3] = vocab - 1
    ids[2, 4:] = 0
    mine = layout_outputs(model, px, ids, am)
    theirs = model(input_ids=ids, pixel_values=px, attention_mask=am).logits_per_video
    diff = float((mine["logits_per_video"] - theirs).abs().max())
    print(f"layout vs XCLIPModel.forward logits_per_video: max abs diff {diff:.2e}")
    if diff > 1e-4:
        raise SystemExit("the exported layout does not reproduce XCLIPModel.forward")
    ref = {"note": "PyTorch (transformers.XCLIPModel) outputs of mmrt's layout; written by tools/export/xclip.py",
           "transformers": transformers.__version__, "input_ids": ids.tolist(), "attention_mask": am.tolist(),
           "texts": None, "cases": [{"name": f"{t} frames", "pixel_values": b64(px),
                                     **{k: flist(v) for k, v in mine.items()},
                                     "model_logits_per_video": flist(theirs)}]}
    write_json(os.path.join(out, "reference.json"), ref)
    return {"max_abs_diff": diff}


@torch.no_grad()
def check_shapes() -> None:
    d = os.path.join(REPO, "models", "shapes-xclip")
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    model = XCLIPModel(XCLIPConfig(**cfg)).eval()
    state = torch.load(os.path.join(REPO, ".cache", "shapes", "xclip.pt"))
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise SystemExit(f"shapes X-CLIP state_dict vs XCLIPModel: missing {missing}, unexpected {unexpected}")
    with open(os.path.join(d, "reference.json")) as f:
        ref = json.load(f)
    import base64

    case = ref["cases"][0]
    px = torch.from_numpy(np.frombuffer(base64.b64decode(case["pixel_values"]["base64"]), np.float32)
                          .reshape(case["pixel_values"]["shape"]).copy())
    logits = model(input_ids=torch.tensor(ref["input_ids"]), pixel_values=px,
                   attention_mask=torch.tensor(ref["attention_mask"])).logits_per_video
    diff = float((logits - torch.tensor(case["logits_per_video"])).abs().max())
    print(f"shapes X-CLIP in transformers.XCLIPModel vs its reference: max abs diff {diff:.2e}")
    if diff > 1e-4:
        raise SystemExit("the shapes X-CLIP does not load into transformers.XCLIPModel unchanged")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="hub id or folder of a Hugging Face X-CLIP checkpoint")
    p.add_argument("--random-config", choices=["tiny"], help="a random-weight XCLIPModel instead (tests)")
    p.add_argument("--tokenizer-from", help="with --random-config: copy tokenizer + processor files from here")
    p.add_argument("--out", required=True)
    p.add_argument("--check-shapes", action="store_true")
    args = p.parse_args(argv)
    if not (args.model or args.random_config):
        p.error("--model or --random-config is required")
    torch.set_num_threads(2)
    model, src = load(args)
    os.makedirs(args.out, exist_ok=True)
    c = model.config
    v = c.vision_config
    export_xclip_onnx(model, args.out, v.image_size, v.num_frames, seq_len=8, vocab_size=c.text_config.vocab_size,
                      projection_dim=c.projection_dim, num_patches=(v.image_size // v.patch_size) ** 2)
    c.save_pretrained(args.out)
    write_processor(src, args.out, model)
    report = check_and_reference(model, args.out, c.text_config.vocab_size)
    if args.check_shapes:
        check_shapes()
    print(json.dumps({"out": args.out, **report}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
