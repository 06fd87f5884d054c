"""Writes models/README.md from models/metrics.json (tiny run) and models/bench-generator.json
(bench run)."""
from __future__ import annotations

import json
import os


def _kb(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.2f} MiB"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def write(out: str) -> None:
    with open(os.path.join(out, "metrics.json")) as f:
        m = json.load(f)
    bench = None
    bp = os.path.join(out, "bench-generator.json")
    if os.path.exists(bp):
        with open(bp) as f:
            bench = json.load(f)
    L: list[str] = []
    a = L.append
    a("# Shapes-world models")
    a("")
    a("Tiny models trained from scratch on synthetic images of one coloured shape (circle, square,")
    a("triangle, star; red, green, blue, yellow, purple, orange) on a light plain or noisy background.")
    a("They are mmrt's embedded defaults (`npm start`) and the semantic fixtures of its tests. Every")
    a("file here is produced by one reproducible, seeded script; nothing was downloaded.")
    a("")
    a("```sh")
    a("/usr/bin/python3 tools/shapes/make.py              # regenerate everything in models/")
    a("/usr/bin/python3 tools/shapes/make.py --bench      # bench-size models -> models-bench/ (not committed)")
    a("/usr/bin/python3 tools/shapes/render.py --seed 7 --size 96x64 --count 8 --out /tmp/shapes  # fresh images")
    a("```")
    a("")
    a("Needs Debian's `python3-torch python3-onnx python3-pil python3-numpy`. PyTorch on Debian links the")
    a("reference BLAS by default; with `libopenblas0-pthread` installed (update-alternatives picks it up)")
    a("training is ~10x faster. The script sets `OMP_WAIT_POLICY=PASSIVE` and `OPENBLAS_NUM_THREADS=1`")
    a("itself (spinning OpenMP threads made each step 10-20x slower on a shared 2-core machine).")
    a(f"Last run: {m['timings_s'].get('total')} s in total on {m['machine'].get('cpus')} CPUs "
      f"(render {m['timings_s'].get('render')} s, CLIP {m['timings_s'].get('train_clip')} s, "
      f"VLM {m['timings_s'].get('train_vlm')} s; torch {m['machine'].get('torch')}, BLAS `{m['machine'].get('blas')}`).")
    a("At the end it runs `node tools/shapes/verify.mjs models`, which checks every ONNX file with")
    a("onnxruntime-node against the PyTorch reference outputs written beside it (`reference.json`).")
    a("")
    a("## Folders")
    a("")
    a("| folder | what | files |")
    a("|---|---|---|")
    desc = {
        "shapes-clip": "CLIP: ViT image tower + causal text tower, contrastive",
        "shapes-vlm": "LLaVA: the CLIP's vision tower + MLP projector + LLaMA decoder (GQA)",
        "shapes-llava-next": "the same VLM weights with LLaVA-Next any-resolution tiling",
        "shapes-xclip": "X-CLIP: video-text, a coloured shape moving left/right/up/down (see its README)",
        "shapes-blip": "BLIP captioning: ViT + BERT-style decoder with cross-attention (merged decoder: cross-attention K/V reused)",
        "shapes-blip-vqa": "BLIP VQA: the BLIP tower + question encoder + answer decoder",
        "shapes-blip2": "BLIP-2: the BLIP tower (frozen) + Q-Former (8 learned queries) + OPT-style decoder",
    }
    sizes = dict(m["sizes"])
    xdir = os.path.join(out, "shapes-xclip")
    if "shapes-xclip" not in sizes and os.path.isdir(xdir):  # built on its own (make.py --only xclip)
        sizes["shapes-xclip"] = {os.path.relpath(os.path.join(r, f), xdir): os.path.getsize(os.path.join(r, f))
                                 for r, _, fs in os.walk(xdir) for f in sorted(fs)}
    for d, files in sorted(sizes.items()):
        tot = sum(files.values())
        onnx = ", ".join(f"`{k}` {_kb(v)}" for k, v in files.items() if k.endswith(".onnx"))
        a(f"| `{d}/` | {desc.get(d, '')} ({_kb(tot)} in all) | {onnx} |")
    a("| `samples/` | 12 images (PNG and JPEG, 48x48 to 640x480, all three backgrounds) + `labels.json` | |")
    a("")
    a("## Held-out accuracy (PyTorch, Pillow preprocessing)")
    a("")
    ev = m["eval"]
    a(f"Fresh images from seeds never used in training, at sizes {', '.join(ev['sizes'])} "
      f"(through the CLIP preprocessing: bicubic resize of the shortest edge, center crop), "
      f"{ev['images_per_set']} per set; `gradient` backgrounds never appear in training.")
    a("")
    a("| model / task | gradient | noise | plain | all |")
    a("|---|---|---|---|---|")
    for name, r in m["clip_zero_shot"].items():
        a(f"| CLIP zero-shot over the 24 classes, {name} | {_pct(r['gradient'])} | {_pct(r['noise'])} | "
          f"{_pct(r['plain'])} | **{_pct(r['all'])}** |")
    qs = {"color": "What color is the shape? (exact colour word)", "shape": "What shape is this? (exact shape word)",
          "describe": "Describe the image. (exact 'a red circle')"}
    for q, r in m["vlm_answers"].items():
        a(f"| VLM greedy answer, {qs[q]} | {_pct(r['gradient'])} | {_pct(r['noise'])} | {_pct(r['plain'])} | "
          f"**{_pct(r['all'])}** |")
    if "llava_next" in m and "answers" in m["llava_next"]:
        for q, r in m["llava_next"]["answers"].items():
            a(f"| LLaVA-Next (any-res) greedy answer, {qs[q]} | {_pct(r['gradient'])} | {_pct(r['noise'])} | "
              f"{_pct(r['plain'])} | **{_pct(r['all'])}** |")
    if "blip" in m:
        b = m["blip"]
        for name, r in b["captions"].items():
            x = r["names colour and shape"]
            a(f"| BLIP greedy caption, {name} (names the colour and the shape) | {_pct(x['gradient'])} | "
              f"{_pct(x['noise'])} | {_pct(x['plain'])} | **{_pct(x['all'])}** |")
        for q, r in b["vqa_answers"].items():
            a(f"| BLIP VQA greedy answer, {qs[q]} | {_pct(r['gradient'])} | {_pct(r['noise'])} | {_pct(r['plain'])} | "
              f"**{_pct(r['all'])}** |")
        tasks = {"caption": "caption, no prompt (exact 'a red circle')", **qs}
        for q, r in b["blip2_answers"].items():
            a(f"| BLIP-2 greedy, {tasks[q]} | {_pct(r['gradient'])} | {_pct(r['noise'])} | {_pct(r['plain'])} | "
              f"**{_pct(r['all'])}** |")
        a("")
        a("BLIP's images go through BlipImageProcessor's preprocessing (resize to 64x64, aspect not kept), not the "
          "CLIP crop; the same held-out seeds and sizes.")
    a("")
    a("## How they were made")
    a("")
    a("- **Data** (`render.py`): one shape, circumradius 18-42% of the image's shorter side, any")
    a("  rotation, colour jittered by up to +-18 per channel, drawn 3x supersampled; light plain,")
    a("  noisy (Gaussian, sigma 3-12) or gradient background. The shape always lies inside the")
    a("  central square, so a center crop never cuts it. Training: "
      f"{m['train_images']} images of random sizes (40-256 px, aspect 0.5-2) through the preprocessor.")
    a("- **CLIP** (`train_clip.py`): each step 4 images of each of the 24 classes against one text per")
    a("  class drawn from 14 templates (`a red circle`, `a photo of a red circle`, `this is a photo of")
    a("  red circle.`, ...); symmetric CLIP loss with a learned logit scale; AdamW, cosine schedule;")
    a("  random 90-degree turns and flips. Hugging Face CLIP structure and init (pre-LN, quick_gelu,")
    a("  CLS pooling + post-LN + projection; text pooled at the EOS token).")
    a("- **VLM** (`train_vlm.py`): the LLaVA recipe shrunk. The CLIP vision tower is frozen; its")
    a("  last-layer hidden states (CLS + 16 patches, `vision_feature_select_strategy: \"full\"`,")
    a("  `vision_feature_layer: -1`) go through a 2-layer GELU projector into a LLaMA decoder (RMSNorm,")
    a("  rotary embeddings, SwiGLU, 4 query heads sharing 2 KV heads) trained from scratch on 1-3-turn")
    a("  chats, loss on the answers and their EOS.")
    a("- **Image tokens**: 17 = (64/16)^2 + 1. `processor_config.json` has `num_additional_image_tokens: 1`")
    a("  with strategy `full`, so Hugging Face Python (which subtracts one only for `default`) and")
    a("  transformers.js (which ignores the strategy) both insert 17 `<image>` tokens for 17 features.")
    a("")
    a("## ONNX components")
    a("")
    a("Opset 14, fp32, dynamic batch and sequence axes; integer inputs are int64.")
    a("")
    a("| file | inputs | outputs |")
    a("|---|---|---|")
    a("| `shapes-clip/onnx/text_model.onnx` | `input_ids` [batch, seq], `attention_mask` [batch, seq] | "
      "`text_embeds` [batch, 64], `last_hidden_state` [batch, seq, 64] |")
    a("| `shapes-clip/onnx/vision_model.onnx` | `pixel_values` [batch, 3, 64, 64] | "
      "`image_embeds` [batch, 64], `last_hidden_state` [batch, 17, 64] |")
    a("| `shapes-clip/onnx/model.onnx` | `input_ids` [texts, seq], `pixel_values` [images, 3, 64, 64], "
      "`attention_mask` [texts, seq] | `logits_per_image` [images, texts], `logits_per_text` [texts, images], "
      "`text_embeds` [texts, 64] (L2-normalized), `image_embeds` [images, 64] (L2-normalized) |")
    a("| `shapes-vlm/onnx/vision_encoder.onnx` | `pixel_values` [batch, 3, 64, 64] | "
      "`image_features` [batch, 17, 64] (projected to the decoder width) |")
    a("| `shapes-vlm/onnx/embed_tokens.onnx` | `input_ids` [batch, seq] | `inputs_embeds` [batch, seq, 64] |")
    a("| `shapes-vlm/onnx/decoder_model_merged.onnx` | `inputs_embeds` [batch, seq, 64], "
      "`attention_mask` [batch, past+seq], `position_ids` [batch, seq], `num_logits_to_keep` [] (int64 scalar), "
      "`past_key_values.{0,1}.{key,value}` [batch, 2, past, 16] | `logits` [batch, kept, vocab], "
      "`present.{0,1}.{key,value}` [batch, 2, past+seq, 16] |")
    a("")
    a("`num_logits_to_keep`: 0 computes logits at every position, k > 0 only at the last k (transformers.js")
    a("4.3.1 feeds 1 during `generate()`, prefill included, and 0 for a plain forward call). The past")
    a("length is taken from `attention_mask` (total) minus the new tokens, so an empty past (length 0) works.")
    if "llava_next" in m:
        a("")
        a("LLaVA-Next (`shapes-llava-next/`): see `shapes-llava-next/README.md`.")
    if os.path.exists(os.path.join(out, "shapes-xclip", "README.md")):
        a("")
        a("X-CLIP (`shapes-xclip/`, `make.py --only xclip`): see `shapes-xclip/README.md` and `docs/xclip.md`.")
    a("")
    a("Precision variants (`_fp16`, `_quantized`, `_q4`, `_q4f16` of every component, written by `mmrt quantize`)")
    a("and their drift against fp32: see `quantization.md`.")
    if "blip" in m:
        a("")
        a("BLIP, BLIP VQA and BLIP-2 (`shapes-blip*/`, `blip_build.py`, `train_blip.py`): the layout of "
          "`docs/blip-layout.md` (vision_model; text_encoder; text_decoder_model_merged with the cross-attention "
          "keys/values split under `use_cache_branch`; qformer, embed_tokens, decoder_model_merged). The BLIP tower "
          "and decoder are trained together on captions (plus a 24-way class head on the CLS token, training only); "
          "VQA and BLIP-2 keep that tower frozen. `test/blip/fixtures/text_decoder_plain.onnx` is the captioning "
          "decoder exported without the split.")
    if bench:
        a("")
        a("## Bench-size generator (`--bench`, random weights, not committed)")
        a("")
        a(f"Ran in **{bench['total_s']} s** on {bench['machine'].get('cpus')} CPUs "
          f"(torch {bench['machine'].get('torch')}).")
        a("")
        a("| folder | architecture | parameters | files | time |")
        a("|---|---|---|---|---|")
        for name, b in bench["models"].items():
            files = ", ".join(f"`{k}` {_kb(v)}" for k, v in b["sizes"].items() if k.endswith(".onnx") or k.endswith(".onnx_data"))
            a(f"| `models-bench/{name}/` | {b['arch']} | {b['params'] / 1e6:.1f} M | {files} | {b['seconds']} s |")
    a("")
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("\n".join(L))
