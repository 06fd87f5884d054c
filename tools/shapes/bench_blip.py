"""Bench-size BLIP (random weights, real architecture) for bench/blip.ts, written by
`make.py --bench --only blip`:

  models-bench/blip-base/        BLIP-base captioning: ViT-B/16 at 384 px (577 image tokens, 12 x 768),
                                 BERT-base text decoder with cross-attention (12 x 768, 30524 tokens),
                                 the merged decoder (cross-attention keys/values reused)
  models-bench/blip-base-plain/  the same weights with the plain decoder (cross-attention recomputed
                                 every step); its other files are hard links to blip-base's
  models-bench/blip-vqa-base/    BLIP-base VQA: + the BERT-base question encoder
"""
from __future__ import annotations

import os
import shutil
import time

import torch

from blip_models import Blip, BlipTextCfg, BlipVisionCfg
from export_blip import export_blip, export_text_decoder_plain
from tok import blip_tokenizer
from train_blip import hf_init

VISION = BlipVisionCfg(image_size=384, patch_size=16, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                       num_attention_heads=12, layer_norm_eps=1e-5)


def _text(vocab: int) -> BlipTextCfg:
    # BERT-base with BLIP's [DEC]/[SEP]/[PAD] ids in the shapes vocabulary's order
    return BlipTextCfg(vocab_size=vocab, hidden_size=768, encoder_hidden_size=768, intermediate_size=3072,
                       num_hidden_layers=12, num_attention_heads=12, max_position_embeddings=512)


def _params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def _sizes(d: str) -> dict[str, int]:
    return {os.path.relpath(os.path.join(r, f), d): os.path.getsize(os.path.join(r, f))
            for r, _, fs in os.walk(d) for f in sorted(fs)}


def _fresh(d: str) -> str:
    if os.path.isdir(d):
        shutil.rmtree(d)
    return d


def _link_tree(src: str, dst: str, skip: str) -> None:
    """dst gets every file of src as a hard link (no second copy on disk), but `skip`."""
    for root, _, files in os.walk(src):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), src)
            if rel == skip:
                continue
            os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
            os.link(os.path.join(root, f), os.path.join(dst, rel))


def bench_blip(out: str) -> dict:
    t = time.time()
    tok = blip_tokenizer(vocab_size=30524)
    torch.manual_seed(0)
    cap = Blip(VISION, _text(len(tok.vocab))).eval()
    hf_init(cap)
    d = _fresh(os.path.join(out, "blip-base"))
    export_blip(cap, tok, d, max_new_tokens=20)
    caption_s = round(time.time() - t, 1)
    t = time.time()
    plain = _fresh(os.path.join(out, "blip-base-plain"))
    _link_tree(d, plain, os.path.join("onnx", "text_decoder_model_merged.onnx"))
    export_text_decoder_plain(cap.text_decoder, VISION.hidden_size,
                              os.path.join(plain, "onnx", "text_decoder_model_merged.onnx"))
    plain_s = round(time.time() - t, 1)
    t = time.time()
    torch.manual_seed(1)
    vqa = Blip(VISION, _text(len(tok.vocab)), vqa=True).eval()
    hf_init(vqa)
    vqa.vision_model.load_state_dict(cap.vision_model.state_dict())
    v = _fresh(os.path.join(out, "blip-vqa-base"))
    export_blip(vqa, tok, v, max_new_tokens=10)
    vqa_s = round(time.time() - t, 1)
    arch = ("BLIP-base: ViT-B/16 384 px (577 image tokens, 12 x 768) + BERT-base decoder with cross-attention "
            "(12 x 768, 30524 vocab)")
    return {
        "blip-base": {"arch": f"{arch}, merged decoder (cross-attention K/V reused)", "params": _params(cap),
                      "seconds": caption_s, "sizes": _sizes(d)},
        "blip-base-plain": {"arch": "the same weights, plain decoder (cross-attention recomputed every step)",
                            "params": _params(cap), "seconds": plain_s,
                            "sizes": {"onnx/text_decoder_model_merged.onnx":
                                      os.path.getsize(os.path.join(plain, "onnx", "text_decoder_model_merged.onnx"))}},
        "blip-vqa-base": {"arch": "BLIP-base VQA: the same tower + BERT-base question encoder + answer decoder",
                          "params": _params(vqa), "seconds": vqa_s, "sizes": _sizes(v)},
    }
