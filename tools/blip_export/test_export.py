#!/usr/bin/env python3
"""tools/blip_export on Hugging Face BLIP, BLIP VQA and BLIP-2 (OPT) models built from small
configs with random weights: each exports, and the exported graphs match the PyTorch model they
came from (features and first logits within 1e-4, greedy tokens identical).

    python3 tools/blip_export/test_export.py

Skipped, saying so, where `transformers` is not importable (test/blip/exporter.test.ts runs
this file and reports the skip).
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import transformers  # noqa: F401

    MISSING = None
except ImportError as e:  # the machine that builds mmrt has no transformers
    MISSING = f"transformers is not importable ({e})"

VISION = dict(image_size=32, patch_size=8, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
              num_attention_heads=4)
BLIP_TEXT = dict(vocab_size=99, hidden_size=32, encoder_hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                 num_attention_heads=4, max_position_embeddings=64, pad_token_id=0, bos_token_id=5, eos_token_id=2,
                 sep_token_id=3)


def blip_config():
    from transformers import BlipConfig

    return BlipConfig(vision_config=VISION, text_config=BLIP_TEXT, projection_dim=32, image_text_hidden_size=32)


def blip2_config():
    from transformers import Blip2Config, OPTConfig

    opt = OPTConfig(vocab_size=99, hidden_size=32, ffn_dim=64, num_hidden_layers=2, num_attention_heads=4,
                    word_embed_proj_dim=32, max_position_embeddings=64, bos_token_id=2, eos_token_id=2, pad_token_id=1)
    return Blip2Config(vision_config={**VISION, "qkv_bias": True},
                       qformer_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                           intermediate_size=64, encoder_hidden_size=32, cross_attention_frequency=1,
                                           vocab_size=99),
                       text_config=opt.to_dict(), num_query_tokens=4)


@unittest.skipIf(MISSING is not None, f"skipped: {MISSING}; run where torch and transformers are installed")
class ExportParity(unittest.TestCase):
    def run_kind(self, kind: str, model) -> dict:
        import hf_to_onnx as export

        with tempfile.TemporaryDirectory() as d:
            src, out = os.path.join(d, "hf"), os.path.join(d, "onnx-package")
            model.save_pretrained(src)
            report = export.export(src, out, kind, processor_files=False)
            for name in (["vision_model", "qformer", "embed_tokens", "decoder_model_merged"] if kind == "blip2" else
                         ["vision_model", "text_decoder_model_merged"] + (["text_encoder"] if kind == "vqa" else [])):
                self.assertTrue(os.path.exists(os.path.join(out, "onnx", f"{name}.onnx")), name)
        print(json.dumps({kind: {k: report[k] for k in ("pytorch_port", "onnx")}}, indent=1), flush=True)
        self.assertTrue(report["pytorch_port"]["ok"], report["pytorch_port"])
        self.assertTrue(report["onnx"].get("ok", True), report["onnx"])
        return report

    def test_blip_captioning(self):
        from transformers import BlipForConditionalGeneration

        self.run_kind("caption", BlipForConditionalGeneration(blip_config()).eval())

    def test_blip_vqa(self):
        from transformers import BlipForQuestionAnswering

        self.run_kind("vqa", BlipForQuestionAnswering(blip_config()).eval())

    def test_blip2_opt(self):
        from transformers import Blip2ForConditionalGeneration

        self.run_kind("blip2", Blip2ForConditionalGeneration(blip2_config()).eval())


if __name__ == "__main__":
    if MISSING is not None:
        print(f"tools/blip_export tests skipped: {MISSING}", flush=True)
    unittest.main(verbosity=2)
