#!/usr/bin/env python3
"""Export a Hugging Face BLIP / BLIP VQA / BLIP-2 checkpoint to mmrt's ONNX layout
(docs/blip-layout.md), then check the exported graphs against the PyTorch model they came from.

    python3 tools/blip_export/hf_to_onnx.py --model Salesforce/blip-image-captioning-base --out out/blip-caption
    python3 tools/blip_export/hf_to_onnx.py --model Salesforce/blip-vqa-base --out out/blip-vqa
    python3 tools/blip_export/hf_to_onnx.py --model Salesforce/blip2-opt-2.7b --out out/blip2-opt

Needs `torch`, `transformers` and `onnx`; `onnxruntime` (Python) for the ONNX half of the
parity check. `--model` is a hub id or a local folder (`save_pretrained` output).

How: the checkpoint's weights are loaded into mmrt's own modules (tools/shapes/blip_models.py,
written after modeling_blip / modeling_blip_text / modeling_blip_2 / modeling_opt with the same
parameter names), because the merged text decoder separates the cross-attention keys/values
(the first step computes them, later steps take them back) and Hugging Face's modules do not
expose that split in a way that is stable across versions. The parity check therefore compares
with the Hugging Face model itself, not with the port: image embeds, question states, Q-Former
outputs and first-step logits within --tolerance, greedy tokens identical to
`model.generate(do_sample=False, num_beams=1)` — for the port in PyTorch and for the ONNX graphs.
The report is printed and written to <out>/export_report.json; the exit code is 1 when it fails.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "shapes"))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402

import blip_models as bm  # noqa: E402
from export_blip import GraphWriter, export_blip2_graphs, export_blip_graphs  # noqa: E402
from train_blip import blip2_greedy, blip_greedy  # noqa: E402

OPSET = 17
KINDS = ("caption", "vqa", "blip2")


def require_transformers():
    try:
        import transformers
    except ImportError as e:
        raise SystemExit(f"tools/blip_export needs the `transformers` package ({e}): pip install transformers") from e
    return transformers


# ------------------------------------------------------------------ configs -> the ports
def vision_cfg(vc, blip2: bool) -> bm.BlipVisionCfg:
    if blip2 and not getattr(vc, "qkv_bias", True):
        raise SystemExit("a BLIP-2 vision tower without qkv_bias is not supported")
    return bm.BlipVisionCfg(image_size=vc.image_size, patch_size=vc.patch_size, hidden_size=vc.hidden_size,
                            intermediate_size=vc.intermediate_size, num_hidden_layers=vc.num_hidden_layers,
                            num_attention_heads=vc.num_attention_heads, layer_norm_eps=vc.layer_norm_eps,
                            hidden_act=vc.hidden_act, qkv_bias_split=blip2)


def text_cfg(tc) -> bm.BlipTextCfg:
    return bm.BlipTextCfg(vocab_size=tc.vocab_size, hidden_size=tc.hidden_size,
                          encoder_hidden_size=tc.encoder_hidden_size, intermediate_size=tc.intermediate_size,
                          num_hidden_layers=tc.num_hidden_layers, num_attention_heads=tc.num_attention_heads,
                          max_position_embeddings=tc.max_position_embeddings, layer_norm_eps=tc.layer_norm_eps,
                          hidden_act=tc.hidden_act, pad_token_id=tc.pad_token_id, bos_token_id=tc.bos_token_id,
                          eos_token_id=tc.eos_token_id, sep_token_id=tc.sep_token_id)


def qformer_cfg(qc) -> bm.QFormerCfg:
    return bm.QFormerCfg(hidden_size=qc.hidden_size, encoder_hidden_size=qc.encoder_hidden_size,
                         intermediate_size=qc.intermediate_size, num_hidden_layers=qc.num_hidden_layers,
                         num_attention_heads=qc.num_attention_heads,
                         cross_attention_frequency=qc.cross_attention_frequency, layer_norm_eps=qc.layer_norm_eps,
                         hidden_act=qc.hidden_act, vocab_size=qc.vocab_size,
                         max_position_embeddings=qc.max_position_embeddings)


def opt_cfg(oc) -> bm.OptCfg:
    if getattr(oc, "model_type", "opt") != "opt":
        raise SystemExit(f"BLIP-2 with a {oc.model_type} language model is not supported: mmrt's layout covers the "
                         "decoder-only OPT language models (blip2-opt-*)")
    if oc.word_embed_proj_dim != oc.hidden_size or not oc.do_layer_norm_before:
        raise SystemExit("OPT variants with project_in/out or post-LayerNorm (opt-350m) are not supported")
    return bm.OptCfg(vocab_size=oc.vocab_size, hidden_size=oc.hidden_size, ffn_dim=oc.ffn_dim,
                     num_hidden_layers=oc.num_hidden_layers, num_attention_heads=oc.num_attention_heads,
                     max_position_embeddings=oc.max_position_embeddings, word_embed_proj_dim=oc.word_embed_proj_dim,
                     activation_function=oc.activation_function, bos_token_id=oc.bos_token_id,
                     eos_token_id=oc.eos_token_id, pad_token_id=oc.pad_token_id)


def load_port(port: torch.nn.Module, state: dict) -> None:
    """Copy a Hugging Face state dict (already named as the port's) into the port. Every port
    parameter must be found; the tied heads follow the embeddings unless the checkpoint has its own."""
    own = port.state_dict()
    aliases = {k: k.replace("predictions.bias", "predictions.decoder.bias") for k in own
               if k.endswith("cls.predictions.bias")}
    tied = [k for k in own if k.endswith("cls.predictions.decoder.weight") or k.endswith("lm_head.weight")]
    values, missing = {}, []
    for k in own:
        if k in state:
            values[k] = state[k]
        elif k in aliases and aliases[k] in state:
            values[k] = state[aliases[k]]
        elif k not in tied:
            missing.append(k)
    if missing:
        raise SystemExit(f"the checkpoint lacks {len(missing)} weights the export needs, e.g. {missing[:5]}")
    # every name a parameter goes by, tied ones twice (named_parameters lists a tied tensor once)
    params = {f"{mod_name}.{n}" if mod_name else n: p for mod_name, mod in port.named_modules()
              for n, p in mod._parameters.items() if p is not None}
    with torch.no_grad():
        for k, v in values.items():
            if k in params and k not in tied:  # a tied head shares the embeddings' tensor
                params[k].data = v.detach().clone().to(torch.float32)
        for k in tied:  # untie when the checkpoint's head differs from its embeddings
            if k in state and not torch.equal(state[k].to(torch.float32), params[k].data):
                owner, _, name = k.rpartition(".")
                setattr(port.get_submodule(owner), name, torch.nn.Parameter(state[k].detach().clone().float()))


def prefixed(module: torch.nn.Module, prefix: str) -> dict:
    return {f"{prefix}{k}": v for k, v in module.state_dict().items()}


def port_blip(hf, vqa: bool) -> bm.Blip:
    c = hf.config
    m = bm.Blip(vision_cfg(c.vision_config, False), text_cfg(c.text_config), vqa=vqa).eval()
    state = {**prefixed(hf.vision_model, "vision_model."), **prefixed(hf.text_decoder, "text_decoder.")}
    if vqa:
        state.update(prefixed(hf.text_encoder, "text_encoder."))
    load_port(m, state)
    return m


def hf_opt(hf):
    """The OPT decoder and head inside Blip2ForConditionalGeneration, across transformers versions."""
    lm = hf.language_model
    if hasattr(lm, "model") and hasattr(lm.model, "decoder"):
        return lm.model.decoder, lm.lm_head
    return lm.decoder, hf.lm_head


def port_blip2(hf) -> bm.Blip2:
    c = hf.config
    m = bm.Blip2(vision_cfg(c.vision_config, True), qformer_cfg(c.qformer_config), opt_cfg(c.text_config),
                 num_query_tokens=c.num_query_tokens).eval()
    decoder, head = hf_opt(hf)
    qformer = {k.replace("embeddings.layernorm.", "layernorm."): v for k, v in hf.qformer.state_dict().items()}
    state = {**prefixed(hf.vision_model, "vision_model."),
             "query_tokens": hf.query_tokens,
             **{f"qformer.{k}": v for k, v in qformer.items()},
             **prefixed(hf.language_projection, "language_projection."),
             **prefixed(decoder, "language_model.model.decoder."),
             "language_model.lm_head.weight": head.weight}
    load_port(m, state)
    return m


# ------------------------------------------------------------------------------ export
def save_graph(model: onnx.ModelProto, path: str) -> None:
    """Inline below 2 GB, else the hub's external-data convention (`<file>.onnx_data`)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    model.producer_name = "mmrt tools/blip_export (torch.onnx)"
    if model.ByteSize() < 2**31 - 2**26:
        onnx.save(model, path)
    else:
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=os.path.basename(path) + "_data", size_threshold=1024)


def write_package_files(src: str, hf, out: str) -> None:
    """config.json, generation_config.json and the processor's files, as Hugging Face writes them."""
    from transformers import AutoProcessor

    hf.config.save_pretrained(out)
    if getattr(hf, "generation_config", None) is not None:
        hf.generation_config.save_pretrained(out)
    try:
        AutoProcessor.from_pretrained(src).save_pretrained(out)
    except (OSError, ValueError) as e:
        print(f"note: no processor files written ({e}); add tokenizer.json and preprocessor_config.json", flush=True)


# ------------------------------------------------------------------------------ parity
def max_diff(a, b) -> float:
    a = a.detach().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max()) if a.shape == b.shape else float("inf")


def hf_new_tokens(hf_ids: list[int], prompt_len: int, expected_len: int) -> list[int]:
    """generate() returns the prompt and the new tokens (BLIP), or the new tokens only (BLIP-2
    from embeddings, newer transformers)."""
    return hf_ids[prompt_len:] if len(hf_ids) == prompt_len + expected_len else hf_ids[-expected_len:]


@torch.no_grad()
def reference(hf, kind: str, max_new_tokens: int, seed: int) -> dict:
    """The Hugging Face model's outputs on a random image (and question): what both checks compare with."""
    g = torch.Generator().manual_seed(seed)
    c = hf.config
    size = c.vision_config.image_size
    px = torch.randn(1, 3, size, size, generator=g)
    gen = dict(max_new_tokens=max_new_tokens, do_sample=False, num_beams=1, min_length=0, repetition_penalty=1.0)
    ref: dict = {"pixel_values": px, "image_embeds": hf.vision_model(pixel_values=px).last_hidden_state}
    img = ref["image_embeds"]
    if kind == "blip2":
        q = hf.qformer(query_embeds=hf.query_tokens.expand(1, -1, -1), encoder_hidden_states=img,
                       encoder_attention_mask=torch.ones(img.shape[:2], dtype=torch.long)).last_hidden_state
        ref["language_model_inputs"] = hf.language_projection(q)
        bos = c.text_config.bos_token_id
        embeds = torch.cat([ref["language_model_inputs"], hf.get_input_embeddings()(torch.tensor([[bos]]))], 1)
        lm = hf.language_model(inputs_embeds=embeds)
        logits = lm.logits if getattr(lm, "logits", None) is not None else hf.lm_head(lm.last_hidden_state)
        ref["first_logits"] = logits[0, -1]
        # Newer checkpoints mark the query positions with image tokens; older ones prepend them.
        image_token = getattr(c, "image_token_index", None) or getattr(c, "image_token_id", None)
        ids = ([image_token] * c.num_query_tokens if image_token is not None else []) + [bos]
        ref["tokens"] = hf.generate(pixel_values=px, input_ids=torch.tensor([ids]), **gen)[0].tolist()
        ref["prompt_len"] = len(ids)
        return ref
    bos = c.text_config.bos_token_id
    ones = torch.ones(img.shape[:2], dtype=torch.long)
    if kind == "vqa":
        q = torch.randint(1, c.text_config.vocab_size, (1, 7), generator=g)
        qm = torch.ones_like(q)
        states = hf.text_encoder(input_ids=q, attention_mask=qm, encoder_hidden_states=img,
                                 encoder_attention_mask=ones).last_hidden_state
        ref.update(question_ids=q, question_states=states)
        enc, enc_mask = states, qm
        ref["tokens"] = hf.generate(input_ids=q, pixel_values=px, **gen)[0].tolist()
    else:
        enc, enc_mask = img, ones
        ref["tokens"] = hf.generate(pixel_values=px, **gen)[0].tolist()
    ref["first_logits"] = hf.text_decoder(input_ids=torch.tensor([[bos]]), encoder_hidden_states=enc,
                                          encoder_attention_mask=enc_mask).logits[0, -1]
    ref["prompt_len"] = 1
    return ref


@torch.no_grad()
def port_outputs(port, kind: str, ref: dict, max_new_tokens: int) -> dict:
    px = ref["pixel_values"]
    img = port.vision_model(px)
    out = {"image_embeds": img}
    if kind == "blip2":
        feats = port.query_features(img)
        out["language_model_inputs"] = feats
        tokens, first = blip2_greedy(port, feats, [port.language_model.cfg.bos_token_id], max_new_tokens)
    else:
        bos = port.text_decoder.cfg.bos_token_id
        if kind == "vqa":
            q = ref["question_ids"]
            states = port.encode_question(q, torch.ones_like(q), img)
            out["question_states"] = states
            tokens, first = blip_greedy(port, states, torch.ones_like(q), [bos], max_new_tokens)
        else:
            tokens, first = blip_greedy(port, img, torch.ones(img.shape[:2], dtype=torch.long), [bos], max_new_tokens)
    out.update(first_logits=first[0], tokens=tokens[0])
    return out


def onnx_outputs(out_dir: str, kind: str, ref: dict, max_new_tokens: int) -> dict | None:
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    cfg = json.load(open(os.path.join(out_dir, "config.json")))
    text = cfg["text_config"]

    def session(name):
        return ort.InferenceSession(os.path.join(out_dir, "onnx", name), providers=["CPUExecutionProvider"])

    img = session("vision_model.onnx").run(None, {"pixel_values": ref["pixel_values"].numpy()})[0]
    res: dict = {"image_embeds": img}
    if kind == "blip2":
        feats = session("qformer.onnx").run(None, {"image_embeds": img})[0]
        res["language_model_inputs"] = feats
        first, tokens = greedy_causal(session("embed_tokens.onnx"), session("decoder_model_merged.onnx"), feats,
                                      [text["bos_token_id"]], text["eos_token_id"], max_new_tokens)
    else:
        states, mask = img, np.ones(img.shape[:2], np.int64)
        if kind == "vqa":
            q = ref["question_ids"].numpy()
            mask = np.ones_like(q)
            states = session("text_encoder.onnx").run(None, {"input_ids": q, "attention_mask": mask,
                                                             "encoder_hidden_states": img})[0]
            res["question_states"] = states
        first, tokens = greedy_cross(session("text_decoder_model_merged.onnx"), states, mask, text["bos_token_id"],
                                     text["sep_token_id"], max_new_tokens)
    res.update(first_logits=first, tokens=tokens)
    return res


def _cache_dims(dec, name: str) -> tuple[int, int]:
    shape = next(i for i in dec.get_inputs() if i.name == name).shape
    return shape[1], shape[3]


def greedy_cross(dec, states, mask, bos: int, sep: int, max_new_tokens: int):
    """The merged BLIP decoder as mmrt runs it: cross-attention keys/values from the first step reused."""
    names = [i.name for i in dec.get_inputs()]
    layers = sorted({int(n.split(".")[1]) for n in names if n.startswith("past_key_values.")})
    h, d = _cache_dims(dec, f"past_key_values.{layers[0]}.decoder.key")
    empty = np.zeros((1, h, 0, d), np.float32)
    feeds = {"input_ids": np.array([[bos]], np.int64), "attention_mask": np.ones((1, 1), np.int64),
             "encoder_hidden_states": states, "encoder_attention_mask": mask.astype(np.int64),
             "use_cache_branch": np.array([False])}
    feeds.update({f"past_key_values.{i}.{p}.{kv}": empty for i in layers for p in ("decoder", "encoder")
                  for kv in ("key", "value")})
    outs = [o.name for o in dec.get_outputs()]
    tokens, first, cross = [], None, {}
    for step in range(max_new_tokens):
        r = dict(zip(outs, dec.run(None, feeds)))
        last = r["logits"][0, -1]
        if step == 0:
            first = last.copy()
            cross = {f"past_key_values.{i}.encoder.{kv}": r[f"present.{i}.encoder.{kv}"] for i in layers
                     for kv in ("key", "value")}
        t = int(last.argmax())
        tokens.append(t)
        if t == sep:
            break
        feeds = {"input_ids": np.array([[t]], np.int64), "attention_mask": np.ones((1, step + 2), np.int64),
                 "encoder_hidden_states": states, "encoder_attention_mask": mask.astype(np.int64),
                 "use_cache_branch": np.array([True]), **cross}
        feeds.update({f"past_key_values.{i}.decoder.{kv}": r[f"present.{i}.decoder.{kv}"] for i in layers
                      for kv in ("key", "value")})
    return first, tokens


def greedy_causal(emb, dec, feats, prompt: list[int], eos: int, max_new_tokens: int):
    info = {i.name for i in dec.get_inputs()}
    layers = sorted({int(n.split(".")[1]) for n in info if n.startswith("past_key_values.")})
    h, d = _cache_dims(dec, f"past_key_values.{layers[0]}.key")
    x = np.concatenate([feats, emb.run(None, {"input_ids": np.array([prompt], np.int64)})[0]], 1)
    total = x.shape[1]
    feeds = {"inputs_embeds": x, "attention_mask": np.ones((1, total), np.int64)}
    feeds.update({f"past_key_values.{i}.{kv}": np.zeros((1, h, 0, d), np.float32) for i in layers
                  for kv in ("key", "value")})
    outs = [o.name for o in dec.get_outputs()]
    tokens, first = [], None
    for step in range(max_new_tokens):
        if "num_logits_to_keep" in info:
            feeds["num_logits_to_keep"] = np.array(1, np.int64)
        r = dict(zip(outs, dec.run(None, feeds)))
        last = r["logits"][0, -1]
        if step == 0:
            first = last.copy()
        t = int(last.argmax())
        tokens.append(t)
        if t == eos:
            break
        total += 1
        feeds = {"inputs_embeds": emb.run(None, {"input_ids": np.array([[t]], np.int64)})[0],
                 "attention_mask": np.ones((1, total), np.int64)}
        feeds.update({f"past_key_values.{i}.{kv}": r[f"present.{i}.{kv}"] for i in layers for kv in ("key", "value")})
    return first, tokens


def compare(ref: dict, got: dict, tolerance: float) -> dict:
    diffs = {k: max_diff(got[k], ref[k]) for k in ("image_embeds", "question_states", "language_model_inputs",
                                                    "first_logits") if k in got}
    hf_tokens = hf_new_tokens(ref["tokens"], ref["prompt_len"], len(got["tokens"]))
    return {"max_abs_diff": diffs, "tokens": got["tokens"], "hf_tokens": hf_tokens,
            "greedy_equal": hf_tokens == got["tokens"],
            "ok": all(v <= tolerance for v in diffs.values()) and hf_tokens == got["tokens"]}


# -------------------------------------------------------------------------------- main
def load_hf(model: str, kind: str | None):
    require_transformers()
    from transformers import (AutoConfig, Blip2ForConditionalGeneration, BlipForConditionalGeneration,
                              BlipForQuestionAnswering)

    if kind is None:
        cfg = AutoConfig.from_pretrained(model)
        arch = (cfg.architectures or [""])[0]
        kind = ("vqa" if arch == "BlipForQuestionAnswering" else
                "blip2" if cfg.model_type in ("blip-2", "blip_2") else "caption")
    cls = {"caption": BlipForConditionalGeneration, "vqa": BlipForQuestionAnswering,
           "blip2": Blip2ForConditionalGeneration}[kind]
    return cls.from_pretrained(model, torch_dtype=torch.float32).eval(), kind


def export(model: str, out: str, kind: str | None = None, processor_files: bool = True, check: bool = True,
           tolerance: float = 1e-4, max_new_tokens: int = 12, seed: int = 0) -> dict:
    hf, kind = load_hf(model, kind)
    port = port_blip2(hf) if kind == "blip2" else port_blip(hf, vqa=kind == "vqa")
    onnx_dir = os.path.join(out, "onnx")
    writer = GraphWriter(opset=OPSET, save=save_graph)
    if kind == "blip2":
        export_blip2_graphs(port, onnx_dir, writer)
    else:
        export_blip_graphs(port, onnx_dir, writer)
    if processor_files:
        write_package_files(model, hf, out)
    else:
        hf.config.save_pretrained(out)
    report: dict = {"model": model, "kind": kind, "tolerance": tolerance}
    if check:
        ref = reference(hf, kind, max_new_tokens, seed)
        report["pytorch_port"] = compare(ref, port_outputs(port, kind, ref, max_new_tokens), tolerance)
        got = onnx_outputs(out, kind, ref, max_new_tokens)
        report["onnx"] = (compare(ref, got, tolerance) if got is not None else
                          {"skipped": "onnxruntime (Python) is not importable: the ONNX graphs were not run"})
        report["ok"] = report["pytorch_port"]["ok"] and report["onnx"].get("ok", True)
    with open(os.path.join(out, "export_report.json"), "w") as f:
        json.dump(report, f, indent=1)
    return report


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="hub id or local folder")
    p.add_argument("--out", required=True)
    p.add_argument("--kind", choices=KINDS, help="default: from config.json (architectures, model_type)")
    p.add_argument("--no-check", action="store_true", help="skip the parity check")
    p.add_argument("--tolerance", type=float, default=1e-4)
    args = p.parse_args(argv)
    report = export(args.model, args.out, args.kind, check=not args.no_check, tolerance=args.tolerance)
    print(json.dumps(report, indent=1))
    return 0 if report.get("ok", True) else 1


if __name__ == "__main__":
    sys.exit(main())
