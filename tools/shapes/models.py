"""Plain-PyTorch models with Hugging Face's structure and parameter naming (CLIP, a LLaMA
decoder, a LLaVA projector), written to trace cleanly into ONNX (opset 14+).

Masking uses torch.where with the dtype's most negative finite value (as HF does), so rows
that are fully masked (left padding) give a uniform softmax instead of NaN.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, asdict, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.onnx import operators as onnx_ops

NEG = torch.finfo(torch.float32).min


def act_fn(name: str):
    if name == "quick_gelu":
        return lambda x: x * torch.sigmoid(1.702 * x)
    if name == "gelu":
        return F.gelu
    if name == "silu":
        return F.silu
    raise ValueError(name)


# ----------------------------------------------------------------------------------- CLIP
@dataclass
class VisionCfg:
    image_size: int = 64
    patch_size: int = 8
    hidden_size: int = 64
    intermediate_size: int = 256
    num_hidden_layers: int = 3
    num_attention_heads: int = 4
    num_channels: int = 3
    hidden_act: str = "quick_gelu"
    layer_norm_eps: float = 1e-5
    projection_dim: int = 64

    def hf(self) -> dict:
        d = asdict(self)
        d.update(model_type="clip_vision_model", attention_dropout=0.0, dropout=0.0,
                 initializer_factor=1.0, initializer_range=0.02)
        return d


@dataclass
class TextCfg:
    vocab_size: int = 128
    hidden_size: int = 64
    intermediate_size: int = 256
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    max_position_embeddings: int = 16
    hidden_act: str = "quick_gelu"
    layer_norm_eps: float = 1e-5
    projection_dim: int = 64
    pad_token_id: int = 0
    bos_token_id: int = 126
    eos_token_id: int = 127

    def hf(self) -> dict:
        d = asdict(self)
        d.update(model_type="clip_text_model", attention_dropout=0.0, dropout=0.0,
                 initializer_factor=1.0, initializer_range=0.02)
        return d


class ClipAttention(nn.Module):
    def __init__(self, hidden: int, heads: int):
        super().__init__()
        self.h, self.d = heads, hidden // heads
        self.scale = self.d**-0.5
        self.q_proj = nn.Linear(hidden, hidden)
        self.k_proj = nn.Linear(hidden, hidden)
        self.v_proj = nn.Linear(hidden, hidden)
        self.out_proj = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.h, self.d).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.h, self.d).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.h, self.d).transpose(1, 2)
        att = torch.matmul(q * self.scale, k.transpose(-1, -2))
        if mask is not None:
            att = torch.where(mask, att, torch.full_like(att, NEG))
        att = att.softmax(-1)
        o = torch.matmul(att, v).transpose(1, 2).reshape(b, s, self.h * self.d)
        return self.out_proj(o)


class ClipMLP(nn.Module):
    def __init__(self, hidden: int, inter: int, act: str):
        super().__init__()
        self.fc1 = nn.Linear(hidden, inter)
        self.fc2 = nn.Linear(inter, hidden)
        self.act = act_fn(act)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class ClipLayer(nn.Module):
    def __init__(self, hidden: int, inter: int, heads: int, act: str, eps: float):
        super().__init__()
        self.self_attn = ClipAttention(hidden, heads)
        self.layer_norm1 = nn.LayerNorm(hidden, eps=eps)
        self.mlp = ClipMLP(hidden, inter, act)
        self.layer_norm2 = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x, mask=None):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class ClipEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList(
            ClipLayer(c.hidden_size, c.intermediate_size, c.num_attention_heads, c.hidden_act, c.layer_norm_eps)
            for _ in range(c.num_hidden_layers)
        )

    def forward(self, x, mask=None, all_hidden: bool = False):
        hs = [x]
        for layer in self.layers:
            x = layer(x, mask)
            hs.append(x)
        return (x, hs) if all_hidden else x


class ClipVisionEmbeddings(nn.Module):
    def __init__(self, c: VisionCfg):
        super().__init__()
        self.class_embedding = nn.Parameter(torch.randn(c.hidden_size) * 0.02)
        self.patch_embedding = nn.Conv2d(c.num_channels, c.hidden_size, c.patch_size, c.patch_size, bias=False)
        n = (c.image_size // c.patch_size) ** 2 + 1
        self.position_embedding = nn.Embedding(n, c.hidden_size)
        self.register_buffer("position_ids", torch.arange(n)[None], persistent=False)

    def forward(self, pixel_values):
        p = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        cls = self.class_embedding.view(1, 1, -1).expand(p.shape[0], 1, -1)
        return torch.cat([cls, p], 1) + self.position_embedding(self.position_ids)


class ClipVisionTransformer(nn.Module):
    def __init__(self, c: VisionCfg):
        super().__init__()
        self.cfg = c
        self.embeddings = ClipVisionEmbeddings(c)
        self.pre_layrnorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)  # HF's spelling
        self.encoder = ClipEncoder(c)
        self.post_layernorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, pixel_values, all_hidden: bool = False):
        x = self.pre_layrnorm(self.embeddings(pixel_values))
        last, hs = self.encoder(x, None, all_hidden=True)
        pooled = self.post_layernorm(last[:, 0, :])
        return (last, pooled, hs) if all_hidden else (last, pooled)


class ClipTextTransformer(nn.Module):
    def __init__(self, c: TextCfg):
        super().__init__()
        self.cfg = c
        self.token_embedding = nn.Embedding(c.vocab_size, c.hidden_size)
        self.position_embedding = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.encoder = ClipEncoder(c)
        self.final_layer_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, input_ids, attention_mask=None):
        b, s = input_ids.shape
        pos = torch.arange(s, device=input_ids.device)
        x = self.token_embedding(input_ids) + self.position_embedding(pos)[None]
        causal = pos[None, :] <= pos[:, None]  # [s, s] query x key
        mask = causal[None, None]
        if attention_mask is not None:
            mask = mask & (attention_mask[:, None, None, :] > 0)
        last = self.final_layer_norm(self.encoder(x, mask))
        # EOS is the largest id in the vocabulary: argmax finds the (first) EOS
        eos = input_ids.to(torch.int32).argmax(-1)
        pooled = last[torch.arange(b, device=input_ids.device), eos]
        return last, pooled


def sincos_2d(grid: int, dim: int) -> torch.Tensor:
    q = dim // 4
    omega = 1.0 / (10000 ** (torch.arange(q, dtype=torch.float32) / q))
    ys, xs = torch.meshgrid(torch.arange(grid, dtype=torch.float32), torch.arange(grid, dtype=torch.float32), indexing="ij")
    oy, ox = ys.reshape(-1, 1) * omega, xs.reshape(-1, 1) * omega
    return torch.cat([oy.sin(), oy.cos(), ox.sin(), ox.cos()], 1)


class CLIP(nn.Module):
    def __init__(self, vc: VisionCfg, tc: TextCfg, logit_scale_init: float = 2.6592):
        super().__init__()
        self.vision_model = ClipVisionTransformer(vc)
        self.text_model = ClipTextTransformer(tc)
        self.visual_projection = nn.Linear(vc.hidden_size, vc.projection_dim, bias=False)
        self.text_projection = nn.Linear(tc.hidden_size, tc.projection_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(logit_scale_init))

    @torch.no_grad()
    def hf_init(self, f: float = 1.0, sincos: float = 0.0) -> "CLIP":
        """Hugging Face CLIPPreTrainedModel._init_weights."""
        for tower in (self.vision_model, self.text_model):
            c = tower.cfg
            d, L = c.hidden_size, c.num_hidden_layers
            in_std = d**-0.5 * (2 * L) ** -0.5 * f
            for layer in tower.encoder.layers:
                a = layer.self_attn
                for lin in (a.q_proj, a.k_proj, a.v_proj):
                    nn.init.normal_(lin.weight, std=in_std)
                nn.init.normal_(a.out_proj.weight, std=d**-0.5 * f)
                nn.init.normal_(layer.mlp.fc1.weight, std=(2 * d) ** -0.5 * f)
                nn.init.normal_(layer.mlp.fc2.weight, std=in_std)
        for m in self.modules():
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
        e = self.vision_model.embeddings
        nn.init.normal_(e.class_embedding, std=e.class_embedding.shape[0] ** -0.5 * f)
        nn.init.normal_(e.patch_embedding.weight, std=0.02 * f)
        nn.init.normal_(e.position_embedding.weight, std=0.02 * f)
        if sincos:  # 2D sin-cos start for the patch positions (MAE-style); still learned
            g = self.vision_model.cfg.image_size // self.vision_model.cfg.patch_size
            e.position_embedding.weight[1:] = sincos_2d(g, e.position_embedding.weight.shape[1]) * sincos
        nn.init.normal_(self.text_model.token_embedding.weight, std=0.02 * f)
        nn.init.normal_(self.text_model.position_embedding.weight, std=0.02 * f)
        nn.init.normal_(self.visual_projection.weight, std=self.vision_model.cfg.hidden_size**-0.5 * f)
        nn.init.normal_(self.text_projection.weight, std=self.text_model.cfg.hidden_size**-0.5 * f)
        return self

    def encode_image(self, pixel_values):
        last, pooled = self.vision_model(pixel_values)
        return self.visual_projection(pooled), last

    def encode_text(self, input_ids, attention_mask=None):
        last, pooled = self.text_model(input_ids, attention_mask)
        return self.text_projection(pooled), last

    def logits(self, text_embeds, image_embeds):
        t = text_embeds / text_embeds.norm(dim=-1, keepdim=True)
        i = image_embeds / image_embeds.norm(dim=-1, keepdim=True)
        logits_per_text = torch.matmul(t, i.t()) * self.logit_scale.exp()
        return logits_per_text.t(), logits_per_text, t, i


# the ONNX wrappers (names and outputs as in the hub's CLIP exports)
class ClipTextExport(nn.Module):
    def __init__(self, m: CLIP):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask):
        return self.m.encode_text(input_ids, attention_mask)


class ClipVisionExport(nn.Module):
    def __init__(self, m: CLIP):
        super().__init__()
        self.m = m

    def forward(self, pixel_values):
        return self.m.encode_image(pixel_values)


class ClipFullExport(nn.Module):
    def __init__(self, m: CLIP):
        super().__init__()
        self.m = m

    def forward(self, input_ids, pixel_values, attention_mask):
        te, _ = self.m.encode_text(input_ids, attention_mask)
        ie, _ = self.m.encode_image(pixel_values)
        lpi, lpt, t, i = self.m.logits(te, ie)
        return lpi, lpt, t, i


# ----------------------------------------------------------------------------------- LLaMA
@dataclass
class LlamaCfg:
    vocab_size: int = 128
    hidden_size: int = 64
    intermediate_size: int = 192
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int = 16
    max_position_embeddings: int = 512
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    hidden_act: str = "silu"
    tie_word_embeddings: bool = False
    bos_token_id: int = 1
    eos_token_id: int = 2
    pad_token_id: int = 0

    def hf(self) -> dict:
        d = asdict(self)
        d.update(model_type="llama", attention_bias=False, mlp_bias=False, attention_dropout=0.0,
                 initializer_range=0.02, pretraining_tp=1, rope_scaling=None, use_cache=True,
                 torch_dtype="float32", architectures=["LlamaForCausalLM"])
        return d


class RMSNorm(nn.Module):
    def __init__(self, n: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        v = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(v + self.eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


class LlamaAttention(nn.Module):
    def __init__(self, c: LlamaCfg):
        super().__init__()
        self.h, self.kv, self.d = c.num_attention_heads, c.num_key_value_heads, c.head_dim
        self.q_proj = nn.Linear(c.hidden_size, self.h * self.d, bias=False)
        self.k_proj = nn.Linear(c.hidden_size, self.kv * self.d, bias=False)
        self.v_proj = nn.Linear(c.hidden_size, self.kv * self.d, bias=False)
        self.o_proj = nn.Linear(self.h * self.d, c.hidden_size, bias=False)

    def forward(self, x, cos, sin, mask, past_k=None, past_v=None):
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.h, self.d).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.kv, self.d).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.kv, self.d).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past_k is not None:
            k = torch.cat([past_k, k], 2)
            v = torch.cat([past_v, v], 2)
        present = (k, v)
        rep = self.h // self.kv
        if rep > 1:  # HF repeat_kv: query head i uses kv head i // rep
            t = k.shape[2]
            k = k[:, :, None].expand(b, self.kv, rep, t, self.d).reshape(b, self.h, t, self.d)
            v = v[:, :, None].expand(b, self.kv, rep, t, self.d).reshape(b, self.h, t, self.d)
        att = torch.matmul(q, k.transpose(-1, -2)) * (self.d**-0.5)
        att = torch.where(mask, att, torch.full_like(att, NEG))
        att = att.softmax(-1)
        o = torch.matmul(att, v).transpose(1, 2).reshape(b, s, self.h * self.d)
        return self.o_proj(o), present


class LlamaMLP(nn.Module):
    def __init__(self, c: LlamaCfg):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaLayer(nn.Module):
    def __init__(self, c: LlamaCfg):
        super().__init__()
        self.self_attn = LlamaAttention(c)
        self.mlp = LlamaMLP(c)
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)

    def forward(self, x, cos, sin, mask, pk=None, pv=None):
        a, present = self.self_attn(self.input_layernorm(x), cos, sin, mask, pk, pv)
        x = x + a
        return x + self.mlp(self.post_attention_layernorm(x)), present


class LlamaForCausalLM(nn.Module):
    def __init__(self, c: LlamaCfg):
        super().__init__()
        self.cfg = c
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList(LlamaLayer(c) for _ in range(c.num_hidden_layers))
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        inv = 1.0 / (c.rope_theta ** (torch.arange(0, c.head_dim, 2, dtype=torch.float32) / c.head_dim))
        self.register_buffer("inv_freq", inv, persistent=False)

    def forward(self, inputs_embeds, attention_mask, position_ids, past=None, num_logits_to_keep=None):
        """inputs_embeds [B,S,H]; attention_mask [B,T] (T = past + S, 0 = padding);
        position_ids [B,S]; past: list of (k, v) [B,KV,P,D] or None.
        Returns logits [B,S',V] and the presents."""
        b, s, _ = inputs_embeds.shape
        t = attention_mask.shape[1]
        freqs = position_ids.to(torch.float32)[..., None] * self.inv_freq  # [B,S,D/2]
        emb = torch.cat([freqs, freqs], -1)[:, None]  # [B,1,S,D]
        cos, sin = emb.cos(), emb.sin()
        # key j is visible to query i (absolute position past + i) iff j <= past + i and
        # attention_mask[j] == 1; past length comes from attention_mask, not from the cache
        key_pos = torch.arange(t, device=inputs_embeds.device)
        q_pos = key_pos[t - s :]
        mask = (key_pos[None, :] <= q_pos[:, None])[None, None] & (attention_mask[:, None, None, :] > 0)
        x = inputs_embeds
        presents = []
        for i, layer in enumerate(self.layers):
            pk, pv = past[i] if past is not None else (None, None)
            x, pr = layer(x, cos, sin, mask, pk, pv)
            presents.append(pr)
        x = self.norm(x)
        if num_logits_to_keep is not None:
            # HF semantics: keep the last k positions, 0 keeps all. Dynamic in ONNX.
            n = onnx_ops.shape_as_tensor(x)[1]
            k = torch.where(num_logits_to_keep > 0, torch.minimum(num_logits_to_keep, n), n)
            idx = torch.arange(n - k, n, device=x.device)
            x = x.index_select(1, idx)
        return self.lm_head(x), presents


class LlavaProjector(nn.Module):
    """HF LlavaMultiModalProjector: linear_1 -> GELU -> linear_2."""

    def __init__(self, vision_hidden: int, text_hidden: int):
        super().__init__()
        self.linear_1 = nn.Linear(vision_hidden, text_hidden)
        self.linear_2 = nn.Linear(text_hidden, text_hidden)

    def forward(self, x):
        return self.linear_2(F.gelu(self.linear_1(x)))


class Llava(nn.Module):
    """vision_feature_layer = -1 (last encoder layer, before post_layernorm),
    vision_feature_select_strategy = 'full' (CLS + patches)."""

    def __init__(self, vc: VisionCfg, lc: LlamaCfg, vision_feature_layer: int = -1):
        super().__init__()
        self.vision_tower = ClipVisionTransformer(vc)
        self.multi_modal_projector = LlavaProjector(vc.hidden_size, lc.hidden_size)
        self.language_model = LlamaForCausalLM(lc)
        self.vision_feature_layer = vision_feature_layer

    def image_features(self, pixel_values):
        _, _, hs = self.vision_tower(pixel_values, all_hidden=True)
        return self.multi_modal_projector(hs[self.vision_feature_layer])

    def embed(self, input_ids):
        return self.language_model.embed_tokens(input_ids)

    def merge(self, input_ids, embeds, feats, image_token_index: int):
        """masked_scatter: image tokens, in order, take the image features (flattened)."""
        m = input_ids == image_token_index
        out = embeds.clone()
        out[m] = feats.reshape(-1, feats.shape[-1]).to(out.dtype)
        return out


class VisionEncoderExport(nn.Module):
    def __init__(self, m: Llava):
        super().__init__()
        self.m = m

    def forward(self, pixel_values):
        return self.m.image_features(pixel_values)


class EmbedExport(nn.Module):
    def __init__(self, m: Llava):
        super().__init__()
        self.m = m

    def forward(self, input_ids):
        return self.m.embed(input_ids)


class DecoderExport(nn.Module):
    def __init__(self, lm: LlamaForCausalLM):
        super().__init__()
        self.lm = lm

    def forward(self, inputs_embeds, attention_mask, position_ids, num_logits_to_keep, *past_flat):
        n = self.lm.cfg.num_hidden_layers
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(n)]
        logits, presents = self.lm(inputs_embeds, attention_mask, position_ids, past, num_logits_to_keep)
        flat = []
        for k, v in presents:
            flat += [k, v]
        return (logits, *flat)
