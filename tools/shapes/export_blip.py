"""BLIP / BLIP VQA / BLIP-2 in mmrt's ONNX layout (docs/blip-layout.md), with their config files.

The BLIP text decoder is exported as two graphs merged under an `If` (onnx_merge.py): the first
step computes every layer's cross-attention keys and values from `encoder_hidden_states` and
returns them as `present.{i}.encoder.key|value`; later steps take them back as
`past_key_values.{i}.encoder.key|value` with `use_cache_branch` true and skip that work. The
self-attention cache is `past_key_values.{i}.decoder.key|value` in both. `export_text_decoder_plain`
writes the simpler graph a straightforward export gives (cross-attention recomputed from
`encoder_hidden_states` at every step), which mmrt runs too.
"""
from __future__ import annotations

import os
import tempfile
import warnings

import onnx
import torch
import torch.nn as nn

from blip_models import Blip, Blip2, BlipTextLMHeadModel, BlipTextModel
from export import OPSET, tokenizer_files
from onnx_merge import merge_if
from preprocess import blip_processor_config
from tok import WordPieceTokenizer, write_json


# ------------------------------------------------------------------------------- wrappers
class VisionExport(nn.Module):
    def __init__(self, tower):
        super().__init__()
        self.tower = tower

    def forward(self, pixel_values):
        return self.tower(pixel_values)


class TextEncoderExport(nn.Module):
    """BlipForQuestionAnswering's question encoder: bidirectional, cross-attending the image."""

    def __init__(self, enc: BlipTextModel):
        super().__init__()
        self.enc = enc

    def forward(self, input_ids, attention_mask, encoder_hidden_states):
        ones = torch.ones_like(encoder_hidden_states[:, :, 0], dtype=torch.long)
        n = input_ids.shape[1]
        pos = torch.arange(n, device=input_ids.device)[None].expand_as(input_ids)
        x, _, _ = self.enc(input_ids, attention_mask, ones, encoder_hidden_states, is_decoder=False,
                           position_ids=pos)
        return x


def _pairs(flat, n):
    return [(flat[2 * i], flat[2 * i + 1]) for i in range(n)]


def _flat(pairs):
    out = []
    for k, v in pairs:
        out += [k, v]
    return out


class DecoderFirstStep(nn.Module):
    """Self-attention cache in, cross-attention keys/values computed from the encoder states."""

    def __init__(self, dec: BlipTextLMHeadModel):
        super().__init__()
        self.dec, self.n = dec, dec.cfg.num_hidden_layers

    def forward(self, input_ids, attention_mask, encoder_hidden_states, encoder_attention_mask, *past):
        logits, presents, cross = self.dec(input_ids, attention_mask, encoder_attention_mask,
                                           encoder_hidden_states, None, _pairs(past, self.n))
        return (logits, *_flat(presents), *_flat(cross))


class DecoderWithCache(nn.Module):
    """Self-attention cache and the first step's cross-attention keys/values in; the cross
    presents it returns are empty (the runtime keeps the first step's)."""

    def __init__(self, dec: BlipTextLMHeadModel):
        super().__init__()
        self.dec, self.n = dec, dec.cfg.num_hidden_layers

    def forward(self, input_ids, attention_mask, encoder_attention_mask, *flat):
        past, cross = _pairs(flat[: 2 * self.n], self.n), _pairs(flat[2 * self.n :], self.n)
        logits, presents, _ = self.dec(input_ids, attention_mask, encoder_attention_mask, None, cross, past)
        return (logits, *_flat(presents), *[t[:, :, :0] for t in _flat(cross)])


class DecoderPlain(nn.Module):
    """What a straightforward export gives: cross-attention recomputed every step."""

    def __init__(self, dec: BlipTextLMHeadModel):
        super().__init__()
        self.dec, self.n = dec, dec.cfg.num_hidden_layers

    def forward(self, input_ids, attention_mask, encoder_hidden_states, encoder_attention_mask, *past):
        logits, presents, _ = self.dec(input_ids, attention_mask, encoder_attention_mask,
                                       encoder_hidden_states, None, _pairs(past, self.n))
        return (logits, *_flat(presents))


class QFormerExport(nn.Module):
    """image_embeds -> the projected query tokens the language model reads."""

    def __init__(self, m: Blip2):
        super().__init__()
        self.m = m

    def forward(self, image_embeds):
        return self.m.query_features(image_embeds)


class EmbedExport(nn.Module):
    def __init__(self, m: Blip2):
        super().__init__()
        self.m = m

    def forward(self, input_ids):
        return self.m.embed(input_ids)


class OptDecoderExport(nn.Module):
    def __init__(self, m: Blip2):
        super().__init__()
        self.lm, self.n = m.language_model, m.language_model.cfg.num_hidden_layers

    def forward(self, inputs_embeds, attention_mask, num_logits_to_keep, *past):
        logits, presents = self.lm(inputs_embeds, attention_mask, _pairs(past, self.n), num_logits_to_keep)
        return (logits, *_flat(presents))


# --------------------------------------------------------------------------------- export
def trace(module, args, input_names, output_names, dynamic_axes, opset: int = OPSET) -> onnx.ModelProto:
    """torch.onnx.export to a temporary file and back (external data included)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, args, path, input_names=input_names, output_names=output_names,
                              dynamic_axes=dynamic_axes, opset_version=opset, do_constant_folding=True)
        return onnx.load(path)


def save_small(model: onnx.ModelProto, path: str) -> None:
    """The tiny models' writer: one file, checked."""
    onnx.checker.check_model(model)
    model.producer_name = "mmrt tools/shapes (torch.onnx)"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(model, path)


class GraphWriter:
    """How graphs are traced and saved: the tiny models inline at opset 14; tools/blip_export
    at a newer opset with external data for multi-GB graphs."""

    def __init__(self, opset: int = OPSET, save=save_small):
        self.opset, self.save = opset, save

    def trace(self, module, args, input_names, output_names, dynamic_axes) -> onnx.ModelProto:
        return trace(module, args, input_names, output_names, dynamic_axes, self.opset)

    def __call__(self, module, args, path, input_names, output_names, dynamic_axes) -> None:
        self.save(self.trace(module, args, input_names, output_names, dynamic_axes), path)


TINY = GraphWriter()


def _value_info(model: onnx.ModelProto, names: list[str], inputs: bool) -> list[onnx.ValueInfoProto]:
    pool = {v.name: v for v in (model.graph.input if inputs else model.graph.output)}
    return [pool[n] for n in names]


def _decoder_sample(dec: BlipTextLMHeadModel, enc_width: int, b=2, s=3, p=2, e=5):
    c = dec.cfg
    h, d = c.num_attention_heads, c.hidden_size // c.num_attention_heads
    ids = torch.full((b, s), c.bos_token_id, dtype=torch.long)
    ids[:, 1:] = torch.arange(1, s) % c.vocab_size
    am = torch.ones(b, p + s, dtype=torch.long)
    enc = torch.randn(b, e, enc_width)
    em = torch.ones(b, e, dtype=torch.long)
    past = [torch.randn(b, h, p, d) for _ in range(2 * c.num_hidden_layers)]
    cross = [torch.randn(b, h, e, d) for _ in range(2 * c.num_hidden_layers)]
    return ids, am, enc, em, past, cross


def export_text_decoder(dec: BlipTextLMHeadModel, enc_width: int, path: str, writer: GraphWriter = TINY) -> None:
    """The merged decoder (docs/blip-layout.md): one file, cross-attention keys/values reused."""
    dec.eval()
    n = dec.cfg.num_hidden_layers
    ids, am, enc, em, past, cross = _decoder_sample(dec, enc_width)
    self_in = [f"past_key_values.{i}.decoder.{kv}" for i in range(n) for kv in ("key", "value")]
    cross_in = [f"past_key_values.{i}.encoder.{kv}" for i in range(n) for kv in ("key", "value")]
    self_out = [f"present.{i}.decoder.{kv}" for i in range(n) for kv in ("key", "value")]
    cross_out = [f"present.{i}.encoder.{kv}" for i in range(n) for kv in ("key", "value")]
    dyn = {"input_ids": {0: "batch_size", 1: "sequence_length"},
           "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
           "encoder_hidden_states": {0: "batch_size", 1: "encoder_sequence_length"},
           "encoder_attention_mask": {0: "batch_size", 1: "encoder_sequence_length"},
           "logits": {0: "batch_size", 1: "sequence_length"}}
    for name in self_in:
        dyn[name] = {0: "batch_size", 2: "past_sequence_length"}
    for name in self_out:
        dyn[name] = {0: "batch_size", 2: "total_sequence_length"}
    for name in cross_in + cross_out:
        dyn[name] = {0: "batch_size", 2: "encoder_sequence_length"}
    first = writer.trace(DecoderFirstStep(dec), (ids, am, enc, em, *past),
                         ["input_ids", "attention_mask", "encoder_hidden_states", "encoder_attention_mask", *self_in],
                         ["logits", *self_out, *cross_out], dyn)
    # the with-cache graph returns zero-length cross presents: their length is not the encoder's
    dyn_cache = {**dyn, **{name: {0: "batch_size", 2: "empty"} for name in cross_out}}
    cached = writer.trace(DecoderWithCache(dec), (ids, am, em, *past, *cross),
                          ["input_ids", "attention_mask", "encoder_attention_mask", *self_in, *cross_in],
                          ["logits", *self_out, *cross_out], dyn_cache)
    inputs = _value_info(first, ["input_ids", "attention_mask", "encoder_hidden_states", "encoder_attention_mask",
                                 *self_in], True) + _value_info(cached, cross_in, True)
    h, d = dec.cfg.num_attention_heads, dec.cfg.hidden_size // dec.cfg.num_attention_heads
    # Declared apart from the encoder's length: the with-cache branch returns them empty.
    outputs = _value_info(first, ["logits", *self_out], False) + [
        onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, ["batch_size", h, "encoder_present_length", d])
        for name in cross_out]
    merged = merge_if(cached, first, inputs, outputs)
    writer.save(merged, path)


def export_text_decoder_plain(dec: BlipTextLMHeadModel, enc_width: int, path: str, writer: GraphWriter = TINY) -> None:
    dec.eval()
    n = dec.cfg.num_hidden_layers
    ids, am, enc, em, past, _ = _decoder_sample(dec, enc_width)
    past_in = [f"past_key_values.{i}.{kv}" for i in range(n) for kv in ("key", "value")]
    present = [f"present.{i}.{kv}" for i in range(n) for kv in ("key", "value")]
    dyn = {"input_ids": {0: "batch_size", 1: "sequence_length"},
           "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
           "encoder_hidden_states": {0: "batch_size", 1: "encoder_sequence_length"},
           "encoder_attention_mask": {0: "batch_size", 1: "encoder_sequence_length"},
           "logits": {0: "batch_size", 1: "sequence_length"},
           **{k: {0: "batch_size", 2: "past_sequence_length"} for k in past_in},
           **{k: {0: "batch_size", 2: "total_sequence_length"} for k in present}}
    writer(DecoderPlain(dec), (ids, am, enc, em, *past), path,
           ["input_ids", "attention_mask", "encoder_hidden_states", "encoder_attention_mask", *past_in],
           ["logits", *present], dyn)


def export_vision(tower, path: str, writer: GraphWriter = TINY) -> None:
    c = tower.cfg
    px = torch.randn(2, 3, c.image_size, c.image_size)
    writer(VisionExport(tower), (px,), path, ["pixel_values"], ["image_embeds"],
           {"pixel_values": {0: "batch_size"}, "image_embeds": {0: "batch_size"}})


def export_text_encoder(enc: BlipTextModel, enc_width: int, path: str, writer: GraphWriter = TINY) -> None:
    v = enc.cfg.vocab_size
    ids = torch.tensor([[2, 9, 10, 11, 3], [2, 12, 13, 3, 0]]) % v
    am = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])
    states = torch.randn(2, 7, enc_width)
    writer(TextEncoderExport(enc), (ids, am, states), path,
           ["input_ids", "attention_mask", "encoder_hidden_states"], ["last_hidden_state"],
           {"input_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: "sequence_length"},
            "encoder_hidden_states": {0: "batch_size", 1: "encoder_sequence_length"},
            "last_hidden_state": {0: "batch_size", 1: "sequence_length"}})


def export_blip_graphs(model: Blip, onnx_dir: str, writer: GraphWriter = TINY) -> None:
    """vision_model, (text_encoder), text_decoder_model_merged."""
    model.eval()
    vc, tc = model.vision_model.cfg, model.text_decoder.cfg
    export_vision(model.vision_model, os.path.join(onnx_dir, "vision_model.onnx"), writer)
    enc_width = tc.hidden_size if model.vqa else vc.hidden_size
    if model.vqa:
        export_text_encoder(model.text_encoder, vc.hidden_size, os.path.join(onnx_dir, "text_encoder.onnx"), writer)
    export_text_decoder(model.text_decoder, enc_width, os.path.join(onnx_dir, "text_decoder_model_merged.onnx"), writer)


def export_blip2_graphs(model: Blip2, onnx_dir: str, writer: GraphWriter = TINY) -> None:
    """vision_model, qformer, embed_tokens, decoder_model_merged."""
    model.eval()
    vc, oc = model.vision_model.cfg, model.language_model.cfg
    export_vision(model.vision_model, os.path.join(onnx_dir, "vision_model.onnx"), writer)
    n_img = (vc.image_size // vc.patch_size) ** 2 + 1
    writer(QFormerExport(model), (torch.randn(2, n_img, vc.hidden_size),), os.path.join(onnx_dir, "qformer.onnx"),
           ["image_embeds"], ["language_model_inputs"],
           {"image_embeds": {0: "batch_size"}, "language_model_inputs": {0: "batch_size"}})
    ids = torch.tensor([[2, 5, 6, 7], [2, 8, 9, 10]]) % oc.vocab_size
    writer(EmbedExport(model), (ids,), os.path.join(onnx_dir, "embed_tokens.onnx"), ["input_ids"], ["inputs_embeds"],
           {"input_ids": {0: "batch_size", 1: "sequence_length"},
            "inputs_embeds": {0: "batch_size", 1: "sequence_length"}})
    b, s, p = 2, 3, 5
    h, d = oc.num_attention_heads, oc.hidden_size // oc.num_attention_heads
    names_in = ["inputs_embeds", "attention_mask", "num_logits_to_keep"]
    names_out = ["logits"]
    dyn = {"inputs_embeds": {0: "batch_size", 1: "sequence_length"},
           "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
           "logits": {0: "batch_size", 1: "logits_length"}}
    past = []
    for i in range(oc.num_hidden_layers):
        for kv in ("key", "value"):
            past.append(torch.randn(b, h, p, d))
            names_in.append(f"past_key_values.{i}.{kv}")
            names_out.append(f"present.{i}.{kv}")
            dyn[f"past_key_values.{i}.{kv}"] = {0: "batch_size", 2: "past_sequence_length"}
            dyn[f"present.{i}.{kv}"] = {0: "batch_size", 2: "total_sequence_length"}
    writer(OptDecoderExport(model), (torch.randn(b, s, oc.hidden_size), torch.ones(b, p + s, dtype=torch.long),
                                     torch.tensor(0), *past),
           os.path.join(onnx_dir, "decoder_model_merged.onnx"), names_in, names_out, dyn)


def blip_tokenizer_files(out: str, tok: WordPieceTokenizer, max_length: int) -> None:
    tokenizer_files(out, tok, {
        "tokenizer_class": "BertTokenizerFast",
        "bos_token": "[DEC]",
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "pad_token": "[PAD]",
        "mask_token": "[MASK]",
        "unk_token": "[UNK]",
        "additional_special_tokens": ["[ENC]"],
        "model_max_length": max_length,
        "padding_side": "right",
    })


def blip_config(model: Blip, architecture: str) -> dict:
    vc, tc = model.vision_model.cfg, model.text_decoder.cfg
    return {
        "architectures": [architecture],
        "model_type": "blip",
        "projection_dim": 64,
        "image_text_hidden_size": 64,
        "logit_scale_init_value": 2.6592,
        "initializer_factor": 1.0,
        "torch_dtype": "float32",
        "text_config": tc.hf(),
        "vision_config": vc.hf(),
    }


def export_blip(model: Blip, tok: WordPieceTokenizer, out: str, max_new_tokens: int = 16) -> None:
    """BLIP captioning (vision_model + text_decoder_model_merged) or VQA (+ text_encoder)."""
    vc, tc = model.vision_model.cfg, model.text_decoder.cfg
    export_blip_graphs(model, os.path.join(out, "onnx"))
    arch = "BlipForQuestionAnswering" if model.vqa else "BlipForConditionalGeneration"
    write_json(os.path.join(out, "config.json"), blip_config(model, arch))
    write_json(os.path.join(out, "preprocessor_config.json"), blip_processor_config(vc.image_size))
    write_json(os.path.join(out, "generation_config.json"), {
        "bos_token_id": tc.bos_token_id,
        "eos_token_id": tc.sep_token_id,
        "pad_token_id": tc.pad_token_id,
        "max_new_tokens": max_new_tokens,
        "do_sample": False,
    })
    blip_tokenizer_files(out, tok, tc.max_position_embeddings)


def blip2_config(model: Blip2) -> dict:
    vc, qc, oc = model.vision_model.cfg, model.qformer.cfg, model.language_model.cfg
    return {
        "architectures": ["Blip2ForConditionalGeneration"],
        "model_type": "blip-2",
        "num_query_tokens": model.query_tokens.shape[1],
        "use_decoder_only_language_model": True,
        "initializer_factor": 1.0,
        "initializer_range": 0.02,
        "torch_dtype": "float32",
        "vision_config": vc.hf("blip_2_vision_model"),
        "qformer_config": qc.hf(),
        "text_config": oc.hf(),
    }


def export_blip2(model: Blip2, tok: WordPieceTokenizer, out: str, max_new_tokens: int = 16) -> None:
    vc, oc = model.vision_model.cfg, model.language_model.cfg
    nq = model.query_tokens.shape[1]
    export_blip2_graphs(model, os.path.join(out, "onnx"))
    write_json(os.path.join(out, "config.json"), blip2_config(model))
    write_json(os.path.join(out, "preprocessor_config.json"),
               blip_processor_config(vc.image_size, processor_class="Blip2Processor"))
    write_json(os.path.join(out, "processor_config.json"), {"processor_class": "Blip2Processor",
                                                           "num_query_tokens": nq})
    write_json(os.path.join(out, "generation_config.json"), {
        "bos_token_id": oc.bos_token_id,
        "eos_token_id": oc.eos_token_id,
        "pad_token_id": oc.pad_token_id,
        "max_new_tokens": max_new_tokens,
        "do_sample": False,
    })
    inv = tok.inv
    tokenizer_files(out, tok, {
        "tokenizer_class": "GPT2TokenizerFast",
        "bos_token": inv[oc.bos_token_id],
        "eos_token": inv[oc.eos_token_id],
        "pad_token": inv[oc.pad_token_id],
        "unk_token": tok.unk,
        "model_max_length": oc.max_position_embeddings,
        "padding_side": "left",
    })
