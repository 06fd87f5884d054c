"""mmrt's ONNX layout for X-CLIP, and the wrappers that export it. They read only Hugging Face's
module names, so they run on a `transformers.XCLIPModel` (tools/export/xclip.py) and on the tiny
shapes X-CLIP (xclip_model.py) alike.

    onnx/vision_model.onnx       pixel_values [B, T, 3, H, W]
                                 -> video_embeds [B, D]        (MIT output, mean over frames; not normalized)
                                    video_features [B, P, D]   (patch features for the prompt generator:
                                                               prompts_visual_layernorm + projection, mean over frames)
    onnx/text_model.onnx         input_ids, attention_mask [K, S] (int64)
                                 -> text_embeds [K, D]         (projected, before video conditioning: cacheable per text)
    onnx/prompts_generator.onnx  text_embeds [K, D], video_features [B, P, D]
                                 -> conditioned_text_embeds [B, K, D]   (text + prompt generator(text, video))
                                    logit_scale []                      (exp of the learned scale)

The logits are the core's: logits[b, k] = logit_scale * cos(video_embeds[b], conditioned_text_embeds[b, k]).

Frames: Hugging Face's layers reshape by `config.num_frames`; here T is read from the input, and
the MIT's temporal position embedding (one row per trained frame) is linearly resampled to T
(`temporal_positions`), which is the identity when T == num_frames. So a package trained on 8
frames also runs on 4 or 16 (`temporal_resolution`), with outputs identical to Hugging Face's at 8.
"""
from __future__ import annotations

import os
import warnings

import torch
import torch.nn as nn

OPSET = 14


def _first(out):
    """Hugging Face modules return tuples or ModelOutputs; both index."""
    return out[0]


def temporal_positions(pos: torch.Tensor, t) -> torch.Tensor:
    """[1, N, D] -> [1, T, D], linear with half-pixel centres (exact copy when T == N)."""
    n = pos.shape[1]
    k = torch.arange(t, dtype=torch.float32)
    x = ((k + 0.5) * n / t - 0.5).clamp(0, n - 1)
    i0 = x.floor().long()
    i1 = (i0 + 1).clamp(max=n - 1)
    w = (x - i0.to(torch.float32))[None, :, None]
    return pos[:, i0] * (1 - w) + pos[:, i1] * w


def cross_frame_layer(layer: nn.Module, x: torch.Tensor, t) -> torch.Tensor:
    """XCLIPVisionEncoderLayer.forward with the frame count taken from the input."""
    s, d = x.shape[1], x.shape[2]
    msg = layer.message_fc(x[:, 0, :]).view(-1, t, d)
    msg = msg + layer.drop_path(_first(layer.message_attn(layer.message_ln(msg))))
    h = torch.cat([x, msg.view(-1, 1, d)], 1)
    h = h + _first(layer.self_attn(layer.layer_norm1(h)))
    h = h[:, :s, :]
    return h + layer.mlp(layer.layer_norm2(h))


class XclipVisionExport(nn.Module):
    def __init__(self, m: nn.Module):
        super().__init__()
        self.m = m

    def forward(self, pixel_values):
        m = self.m
        t = pixel_values.shape[1]
        c, h, w = pixel_values.shape[2], pixel_values.shape[3], pixel_values.shape[4]
        vm = m.vision_model
        x = vm.pre_layernorm(vm.embeddings(pixel_values.reshape(-1, c, h, w)))
        for layer in vm.encoder.layers:
            x = cross_frame_layer(layer, x, t)
        frames = m.visual_projection(vm.post_layernorm(x[:, 0, :]))
        d = frames.shape[-1]
        frames = frames.view(-1, t, d)
        mit = m.mit
        video = (_first(mit.encoder(inputs_embeds=frames + temporal_positions(mit.position_embedding, t)))
                 + frames).mean(1)
        feats = m.prompts_visual_layernorm(x[:, 1:, :]) @ m.prompts_visual_projection
        feats = feats.view(-1, t, feats.shape[1], d).mean(1)
        return video, feats


class XclipTextExport(nn.Module):
    def __init__(self, m: nn.Module):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask):
        pooled = self.m.text_model(input_ids=input_ids, attention_mask=attention_mask)[1]
        return self.m.text_projection(pooled)


class XclipPromptsExport(nn.Module):
    def __init__(self, m: nn.Module):
        super().__init__()
        self.m = m

    def forward(self, text_embeds, video_features):
        text = text_embeds.unsqueeze(0).expand(video_features.shape[0], -1, -1)
        return text + self.m.prompts_generator(text, video_features), self.m.logit_scale.exp()


def _export(module, args, path, inputs, outputs, dynamic):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs, dynamic_axes=dynamic,
                          opset_version=OPSET, do_constant_folding=True)
    import onnx

    m = onnx.load(path)
    onnx.checker.check_model(m)
    m.producer_name = "mmrt tools (torch.onnx, X-CLIP layout)"
    onnx.save(m, path)


@torch.no_grad()
def export_xclip_onnx(model: nn.Module, out: str, image_size: int, num_frames: int, seq_len: int,
                      vocab_size: int, projection_dim: int, num_patches: int) -> None:
    """Writes out/onnx/{vision_model,text_model,prompts_generator}.onnx."""
    model.eval()
    onnx_dir = os.path.join(out, "onnx")
    px = torch.randn(2, num_frames, 3, image_size, image_size)
    _export(XclipVisionExport(model), (px,), os.path.join(onnx_dir, "vision_model.onnx"),
            ["pixel_values"], ["video_embeds", "video_features"],
            {"pixel_values": {0: "batch_size", 1: "num_frames"}, "video_embeds": {0: "batch_size"},
             "video_features": {0: "batch_size"}})
    ids = torch.randint(1, vocab_size - 2, (2, seq_len))
    ids[:, -1] = vocab_size - 1
    am = torch.ones_like(ids)
    tdyn = {0: "text_batch_size", 1: "sequence_length"}
    _export(XclipTextExport(model), (ids, am), os.path.join(onnx_dir, "text_model.onnx"),
            ["input_ids", "attention_mask"], ["text_embeds"],
            {"input_ids": tdyn, "attention_mask": tdyn, "text_embeds": {0: "text_batch_size"}})
    te = torch.randn(3, projection_dim)
    vf = torch.randn(2, num_patches, projection_dim)
    _export(XclipPromptsExport(model), (te, vf), os.path.join(onnx_dir, "prompts_generator.onnx"),
            ["text_embeds", "video_features"], ["conditioned_text_embeds", "logit_scale"],
            {"text_embeds": {0: "text_batch_size"}, "video_features": {0: "batch_size"},
             "conditioned_text_embeds": {0: "batch_size", 1: "text_batch_size"}})


@torch.no_grad()
def layout_outputs(model: nn.Module, pixel_values: torch.Tensor, input_ids: torch.Tensor,
                   attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """What the three graphs compute, chained, plus the logits the core derives from them."""
    video, feats = XclipVisionExport(model)(pixel_values)
    text = XclipTextExport(model)(input_ids, attention_mask)
    cond, scale = XclipPromptsExport(model)(text, feats)
    v = video / video.norm(dim=-1, keepdim=True)
    c = cond / cond.norm(dim=-1, keepdim=True)
    logits = scale * torch.einsum("bd,bkd->bk", v, c)
    return {"video_embeds": video, "video_features": feats, "text_embeds": text,
            "conditioned_text_embeds": cond, "logit_scale": scale, "logits_per_video": logits}
