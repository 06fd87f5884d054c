"""ONNX export in the hub's layout + config files + PyTorch reference outputs."""
from __future__ import annotations

import base64
import io
import json
import os
import warnings

import numpy as np
import torch

import render
from models import (
    CLIP,
    ClipFullExport,
    ClipTextExport,
    ClipVisionExport,
    DecoderExport,
    EmbedExport,
    Llava,
    VisionEncoderExport,
)
from preprocess import clip_processor_config
from tok import CHAT_TEMPLATE, WordPieceTokenizer, write_json

OPSET = 14


def b64(a: np.ndarray | torch.Tensor) -> dict:
    """Compact exact tensor for JSON: little-endian raw bytes in base64."""
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    a = np.ascontiguousarray(a)
    dt = {np.dtype("float32"): "float32", np.dtype("int64"): "int64"}[a.dtype]
    return {"dtype": dt, "shape": list(a.shape), "base64": base64.b64encode(a.astype(a.dtype.newbyteorder("<")).tobytes()).decode()}


def flist(a) -> list:
    """Nested list of floats that round-trip float32 exactly (9 significant digits)."""
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    a = np.asarray(a, np.float32)
    if a.ndim == 0:
        return float(f"{float(a):.9g}")
    return [flist(x) for x in a]


def _export(module: torch.nn.Module, args: tuple, path: str, input_names, output_names, dynamic_axes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            args,
            path,
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            do_constant_folding=True,
        )
    import onnx

    m = onnx.load(path)
    onnx.checker.check_model(m)
    m.producer_name = "mmrt tools/shapes (torch.onnx)"
    onnx.save(m, path)


def tokenizer_files(out: str, tok: WordPieceTokenizer, cfg: dict) -> None:
    write_json(os.path.join(out, "tokenizer.json"), tok.tokenizer_json())
    tc = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "clean_up_tokenization_spaces": True,
        "do_lower_case": True,
        "added_tokens_decoder": tok.added_tokens_decoder(),
    }
    tc.update(cfg)
    write_json(os.path.join(out, "tokenizer_config.json"), tc)
    stm = {k: cfg[k] for k in ("bos_token", "eos_token", "unk_token", "pad_token") if k in cfg}
    if "additional_special_tokens" in cfg:
        stm["additional_special_tokens"] = cfg["additional_special_tokens"]
    write_json(os.path.join(out, "special_tokens_map.json"), stm)


# ----------------------------------------------------------------------------------- CLIP
def clip_config(model: CLIP) -> dict:
    vc, tc = model.vision_model.cfg, model.text_model.cfg
    return {
        "architectures": ["CLIPModel"],
        "model_type": "clip",
        "projection_dim": vc.projection_dim,
        "logit_scale_init_value": 2.6592,
        "initializer_factor": 1.0,
        "torch_dtype": "float32",
        "text_config": tc.hf(),
        "vision_config": vc.hf(),
    }


def export_clip(model: CLIP, tok: WordPieceTokenizer, out: str, with_combined: bool = True) -> None:
    model.eval()
    vc, tc = model.vision_model.cfg, model.text_model.cfg
    ids = torch.tensor([tok.encode("a photo of a red circle"), tok.encode("a blue star") + [0, 0, 0]])
    am = (torch.arange(ids.shape[1])[None] < torch.tensor([[8], [5]])).long()
    px = torch.randn(2, 3, vc.image_size, vc.image_size)
    onnx_dir = os.path.join(out, "onnx")
    tdyn = {0: "batch_size", 1: "sequence_length"}
    _export(ClipTextExport(model), (ids, am), os.path.join(onnx_dir, "text_model.onnx"),
            ["input_ids", "attention_mask"], ["text_embeds", "last_hidden_state"],
            {"input_ids": tdyn, "attention_mask": tdyn, "text_embeds": {0: "batch_size"}, "last_hidden_state": tdyn})
    _export(ClipVisionExport(model), (px,), os.path.join(onnx_dir, "vision_model.onnx"),
            ["pixel_values"], ["image_embeds", "last_hidden_state"],
            {"pixel_values": {0: "batch_size"}, "image_embeds": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"}})
    if with_combined:
        tb, ib = "text_batch_size", "image_batch_size"
        _export(ClipFullExport(model), (ids, px, am), os.path.join(onnx_dir, "model.onnx"),
                ["input_ids", "pixel_values", "attention_mask"],
                ["logits_per_image", "logits_per_text", "text_embeds", "image_embeds"],
                {"input_ids": {0: tb, 1: "sequence_length"}, "attention_mask": {0: tb, 1: "sequence_length"},
                 "pixel_values": {0: ib}, "logits_per_image": {0: ib, 1: tb}, "logits_per_text": {0: tb, 1: ib},
                 "text_embeds": {0: tb}, "image_embeds": {0: ib}})
    write_json(os.path.join(out, "config.json"), clip_config(model))
    write_json(os.path.join(out, "preprocessor_config.json"), clip_processor_config(vc.image_size))
    inv = tok.inv
    tokenizer_files(out, tok, {
        "bos_token": inv[tc.bos_token_id],
        "eos_token": inv[tc.eos_token_id],
        "pad_token": inv[tc.pad_token_id],
        "unk_token": tok.unk,
        "model_max_length": tc.max_position_embeddings,
        "padding_side": "right",
    })


@torch.no_grad()
def clip_reference(model: CLIP, tok: WordPieceTokenizer, texts: list[str], pixel_values: np.ndarray,
                   images: list[str]) -> dict:
    ids_l = [tok.encode(t) for t in texts]
    n = max(len(i) for i in ids_l)
    ids = torch.zeros(len(ids_l), n, dtype=torch.long)
    am = torch.zeros(len(ids_l), n, dtype=torch.long)
    for r, i in enumerate(ids_l):
        ids[r, : len(i)] = torch.tensor(i)
        am[r, : len(i)] = 1
    px = torch.from_numpy(pixel_values)
    te, tlast = model.encode_text(ids, am)
    ie, ilast = model.encode_image(px)
    lpi, lpt, tn, inn = model.logits(te, ie)
    return {
        "note": "PyTorch outputs of the exported graphs. text_embeds/image_embeds are the split "
                "models' (unnormalized) outputs; model.onnx returns them L2-normalized.",
        "texts": texts,
        "input_ids": ids.tolist(),
        "attention_mask": am.tolist(),
        "images": images,
        "pixel_values": b64(px),
        "text_embeds": flist(te),
        "image_embeds": flist(ie),
        "text_embeds_normalized": flist(tn),
        "image_embeds_normalized": flist(inn),
        "logits_per_image": flist(lpi),
        "logit_scale": flist(model.logit_scale.exp()),
        "text_last_hidden_state_row0_eos": flist(tlast[0, int(am[0].sum()) - 1]),
        "image_last_hidden_state_cls": flist(ilast[:, 0]),
    }


# ----------------------------------------------------------------------------------- LLaVA
def llava_config(model: Llava, tok: WordPieceTokenizer, image_token_index: int, extra: dict | None = None) -> dict:
    vc, lc = model.vision_tower.cfg, model.language_model.cfg
    vcfg = vc.hf()
    vcfg.pop("projection_dim", None)
    cfg = {
        "architectures": ["LlavaForConditionalGeneration"],
        "model_type": "llava",
        "image_token_index": image_token_index,
        "image_seq_length": (vc.image_size // vc.patch_size) ** 2 + 1,
        "projector_hidden_act": "gelu",
        "multimodal_projector_bias": True,
        "vision_feature_layer": model.vision_feature_layer,
        "vision_feature_select_strategy": "full",
        "ignore_index": -100,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "pad_token_id": lc.pad_token_id,
        "text_config": lc.hf(),
        "vision_config": vcfg,
    }
    if extra:
        cfg.update(extra)
    return cfg


def export_vlm(model: Llava, tok: WordPieceTokenizer, out: str, image_token_index: int, max_new_tokens: int = 16,
               config_extra: dict | None = None, vision_dynamic_hw: bool = False) -> None:
    model.eval()
    vc, lc = model.vision_tower.cfg, model.language_model.cfg
    onnx_dir = os.path.join(out, "onnx")
    px = torch.randn(2, 3, vc.image_size, vc.image_size)
    _export(VisionEncoderExport(model), (px,), os.path.join(onnx_dir, "vision_encoder.onnx"),
            ["pixel_values"], ["image_features"],
            {"pixel_values": {0: "batch_size"}, "image_features": {0: "batch_size"}})
    ids = torch.tensor([[1, 5, 4, 7], [1, 5, 8, 9]])
    _export(EmbedExport(model), (ids,), os.path.join(onnx_dir, "embed_tokens.onnx"),
            ["input_ids"], ["inputs_embeds"],
            {"input_ids": {0: "batch_size", 1: "sequence_length"},
             "inputs_embeds": {0: "batch_size", 1: "sequence_length"}})
    b, s, p = 2, 3, 5
    emb = torch.randn(b, s, lc.hidden_size)
    am = torch.ones(b, p + s, dtype=torch.long)
    pos = torch.arange(p, p + s)[None].repeat(b, 1)
    keep = torch.tensor(0, dtype=torch.long)
    past = []
    names_in = ["inputs_embeds", "attention_mask", "position_ids", "num_logits_to_keep"]
    names_out = ["logits"]
    dyn = {
        "inputs_embeds": {0: "batch_size", 1: "sequence_length"},
        "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
        "position_ids": {0: "batch_size", 1: "sequence_length"},
        "logits": {0: "batch_size", 1: "logits_length"},
    }
    for i in range(lc.num_hidden_layers):
        for kv in ("key", "value"):
            past.append(torch.randn(b, lc.num_key_value_heads, p, lc.head_dim))
            names_in.append(f"past_key_values.{i}.{kv}")
            names_out.append(f"present.{i}.{kv}")
            dyn[f"past_key_values.{i}.{kv}"] = {0: "batch_size", 2: "past_sequence_length"}
            dyn[f"present.{i}.{kv}"] = {0: "batch_size", 2: "total_sequence_length"}
    _export(DecoderExport(model.language_model), (emb, am, pos, keep, *past),
            os.path.join(onnx_dir, "decoder_model_merged.onnx"), names_in, names_out, dyn)

    write_json(os.path.join(out, "config.json"), llava_config(model, tok, image_token_index, config_extra))
    write_json(os.path.join(out, "preprocessor_config.json"),
               clip_processor_config(vc.image_size, processor_class="LlavaProcessor"))
    write_json(os.path.join(out, "processor_config.json"), {
        "processor_class": "LlavaProcessor",
        "image_token": tok.inv[image_token_index],
        "patch_size": vc.patch_size,
        "num_additional_image_tokens": 1,
        "vision_feature_select_strategy": "full",
    })
    write_json(os.path.join(out, "generation_config.json"), {
        "bos_token_id": lc.bos_token_id,
        "eos_token_id": lc.eos_token_id,
        "pad_token_id": lc.pad_token_id,
        "max_new_tokens": max_new_tokens,
        "do_sample": False,
    })
    inv = tok.inv
    tokenizer_files(out, tok, {
        "bos_token": inv[lc.bos_token_id],
        "eos_token": inv[lc.eos_token_id],
        "pad_token": inv[lc.pad_token_id],
        "unk_token": tok.unk,
        "additional_special_tokens": [t for t in tok.special if t not in
                                      (inv[lc.bos_token_id], inv[lc.eos_token_id], inv[lc.pad_token_id], tok.unk)],
        "model_max_length": lc.max_position_embeddings,
        "padding_side": "left",
        "chat_template": CHAT_TEMPLATE,
    })
