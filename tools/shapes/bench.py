"""Bench-size models: the same layouts as the tiny ones, real architectures at real sizes,
random weights (Hugging Face-style init). Random weights cost the same time as trained ones.

  clip-vit-b32/   CLIP ViT-B/32: 224 px, patch 32, vision 12 x 768 (12 heads, MLP 3072),
                  text 12 x 512 (8 heads, MLP 2048), 49408-token vocabulary, 77 positions,
                  512-d projection
  vlm-smol/       LLaVA: ViT-B/16 tower at 224 px (196 patches + CLS = 197 image tokens,
                  strategy "full"), 2-layer projector, SmolLM-135M-shaped decoder (30 layers,
                  hidden 576, 9 heads, 3 KV heads, head_dim 64, MLP 1536, 49152-token vocabulary,
                  tied embeddings)
"""
from __future__ import annotations

import json
import os
import shutil
import time

import torch

from export import export_clip, export_vlm
from models import CLIP, Llava, LlamaCfg, TextCfg, VisionCfg
from tok import clip_tokenizer, vlm_tokenizer, write_json


def _params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def _sizes(d: str) -> dict[str, int]:
    out = {}
    for root, _, files in os.walk(d):
        for f in sorted(files):
            p = os.path.join(root, f)
            out[os.path.relpath(p, d)] = os.path.getsize(p)
    return out


def bench_clip(out: str) -> dict:
    t = time.time()
    tok = clip_tokenizer(vocab_size=49408)
    V = len(tok.vocab)
    vc = VisionCfg(image_size=224, patch_size=32, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                   num_attention_heads=12, projection_dim=512)
    tc = TextCfg(vocab_size=V, hidden_size=512, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=8,
                 max_position_embeddings=77, projection_dim=512, pad_token_id=0, bos_token_id=V - 2,
                 eos_token_id=V - 1)
    torch.manual_seed(0)
    m = CLIP(vc, tc).hf_init().eval()
    d = os.path.join(out, "clip-vit-b32")
    if os.path.isdir(d):
        shutil.rmtree(d)
    export_clip(m, tok, d)
    return {"arch": "CLIP ViT-B/32 (224 px, 12+12 layers, 768/512 wide, 49408 vocab, 77 tokens, 512-d)",
            "params": _params(m), "seconds": round(time.time() - t, 1), "sizes": _sizes(d)}


def bench_vlm(out: str) -> dict:
    t = time.time()
    tok = vlm_tokenizer(vocab_size=49152)
    vc = VisionCfg(image_size=224, patch_size=16, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                   num_attention_heads=12, projection_dim=512)
    lc = LlamaCfg(vocab_size=len(tok.vocab), hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                  num_attention_heads=9, num_key_value_heads=3, head_dim=64, max_position_embeddings=2048,
                  rope_theta=10000.0, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    torch.manual_seed(0)
    m = Llava(vc, lc)
    # HF-style init: CLIP init for the tower, normal(0, 0.02) for the LLaMA side
    clip = CLIP(vc, TextCfg(num_hidden_layers=1)).hf_init()
    m.vision_tower.load_state_dict(clip.vision_model.state_dict())
    del clip
    for mod in list(m.language_model.modules()) + list(m.multi_modal_projector.modules()):
        if isinstance(mod, (torch.nn.Linear, torch.nn.Embedding)):
            torch.nn.init.normal_(mod.weight, std=0.02)
            if getattr(mod, "bias", None) is not None:
                torch.nn.init.zeros_(mod.bias)
    m.language_model.lm_head.weight = m.language_model.embed_tokens.weight  # tied, as in SmolLM
    m.eval()
    d = os.path.join(out, "vlm-smol")
    if os.path.isdir(d):
        shutil.rmtree(d)
    export_vlm(m, tok, d, image_token_index=4, max_new_tokens=32)
    return {"arch": "LLaVA: ViT-B/16 224 px (197 image tokens) + SmolLM-135M-shaped decoder "
                    "(30 layers, 576 wide, 9 heads / 3 KV heads, 49152 vocab, tied embeddings)",
            "params": _params(m), "seconds": round(time.time() - t, 1), "sizes": _sizes(d)}


def make_bench(args) -> None:
    from make import machine_info, REPO

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    only = set((args.only or "clip,vlm").split(","))
    t = time.time()
    models = {}
    if "clip" in only:
        models["clip-vit-b32"] = bench_clip(out)
        print(f"bench clip: {models['clip-vit-b32']['seconds']} s", flush=True)
    if "vlm" in only:
        models["vlm-smol"] = bench_vlm(out)
        print(f"bench vlm: {models['vlm-smol']['seconds']} s", flush=True)
    if "blip" in only:
        from bench_blip import bench_blip

        models.update(bench_blip(out))
        print(f"bench blip: {models['blip-base']['seconds']} s", flush=True)
    info = {"total_s": round(time.time() - t, 1), "command": "/usr/bin/python3 tools/shapes/make.py --bench",
            "threads": torch.get_num_threads(), "machine": machine_info(), "models": models}
    write_json(os.path.join(out, "bench-generator.json"), info)
    if only == {"clip", "vlm"} and os.path.abspath(out) == os.path.join(REPO, "models-bench"):
        write_json(os.path.join(REPO, "models", "bench-generator.json"), info)
    print(json.dumps({k: {"s": v["seconds"], "MB": round(sum(v["sizes"].values()) / 2**20)} for k, v in models.items()}))
    print(f"bench done in {info['total_s']} s", flush=True)
