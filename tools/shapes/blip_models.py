"""BLIP and BLIP-2 in plain PyTorch, written after Hugging Face's modeling_blip.py,
modeling_blip_text.py, modeling_blip_2.py and modeling_opt.py: the same module tree and parameter
names (so a Hugging Face state dict loads into them, see tools/blip_export/), the same math
(masks as HF builds them: -10000 for BLIP text self-attention, the dtype's minimum elsewhere),
and caches made explicit so each component traces into ONNX with the layout of docs/blip-layout.md:

- BlipVisionModel: pixel_values -> image_embeds (post-LayerNorm last hidden state)
- BlipTextModel (VQA question encoder): ids + image embeds -> question states
- BlipTextLMHeadModel (caption / answer decoder): ids + encoder states + self-attention cache
  (+ the cross-attention keys/values of an earlier step) -> logits, presents, cross keys/values
- Blip2VisionModel, Blip2QFormerModel + language_projection, OPTForCausalLM
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.onnx import operators as onnx_ops

NEG = torch.finfo(torch.float32).min


def act(name: str):
    return {"gelu": F.gelu, "relu": F.relu, "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x)}[name]


def invert_mask(mask: torch.Tensor) -> torch.Tensor:
    """HF's invert_attention_mask: [B, T] (1 = attend) -> additive [B, 1, 1, T]."""
    m = mask[:, None, None, :].to(torch.float32)
    return (1.0 - m) * NEG


def positions_from_mask(attention_mask: torch.Tensor, new: int) -> torch.Tensor:
    """HF generate's position ids: cumsum(mask) - 1, padding at 1; the last `new` columns."""
    pos = attention_mask.long().cumsum(-1) - 1
    pos = pos.masked_fill(attention_mask == 0, 1)
    t = onnx_ops.shape_as_tensor(attention_mask)[1]
    return pos.index_select(1, torch.arange(t - new, t, device=attention_mask.device))


# ------------------------------------------------------------------------------------ vision
@dataclass
class BlipVisionCfg:
    image_size: int = 64
    patch_size: int = 16
    hidden_size: int = 64
    intermediate_size: int = 256
    num_hidden_layers: int = 3
    num_attention_heads: int = 4
    layer_norm_eps: float = 1e-5
    hidden_act: str = "gelu"
    #: BLIP-2's attention: qkv without bias plus separate q_bias / v_bias (EVA ViT)
    qkv_bias_split: bool = False

    def hf(self, model_type: str = "blip_vision_model") -> dict:
        d = asdict(self)
        d.pop("qkv_bias_split")
        d.update(model_type=model_type, num_channels=3, attention_dropout=0.0, initializer_range=0.02)
        if self.qkv_bias_split:
            d["qkv_bias"] = True
        return d


class BlipVisionEmbeddings(nn.Module):
    def __init__(self, c: BlipVisionCfg):
        super().__init__()
        n = (c.image_size // c.patch_size) ** 2 + 1
        self.class_embedding = nn.Parameter(torch.randn(1, 1, c.hidden_size) * 0.02)
        self.patch_embedding = nn.Conv2d(3, c.hidden_size, kernel_size=c.patch_size, stride=c.patch_size)
        self.position_embedding = nn.Parameter(torch.randn(1, n, c.hidden_size) * 0.02)

    def forward(self, pixel_values):
        p = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(p.shape[0], 1, -1)
        x = torch.cat([cls, p], dim=1)
        return x + self.position_embedding[:, : x.shape[1], :]


class BlipAttention(nn.Module):
    def __init__(self, c: BlipVisionCfg):
        super().__init__()
        self.h, self.d = c.num_attention_heads, c.hidden_size // c.num_attention_heads
        self.split_bias = c.qkv_bias_split
        self.qkv = nn.Linear(c.hidden_size, 3 * c.hidden_size, bias=not c.qkv_bias_split)
        if c.qkv_bias_split:
            self.q_bias = nn.Parameter(torch.zeros(c.hidden_size))
            self.v_bias = nn.Parameter(torch.zeros(c.hidden_size))
        self.projection = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, x):
        b, t, e = x.shape
        if self.split_bias:
            bias = torch.cat([self.q_bias, torch.zeros_like(self.v_bias), self.v_bias])
            qkv = F.linear(x, self.qkv.weight, bias)
        else:
            qkv = self.qkv(x)
        qkv = qkv.reshape(b, t, 3, self.h, self.d).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = torch.matmul(q, k.transpose(-1, -2)) * (self.d**-0.5)
        att = att.softmax(-1)
        o = torch.matmul(att, v).permute(0, 2, 1, 3).reshape(b, t, e)
        return self.projection(o)


class BlipMLP(nn.Module):
    def __init__(self, c: BlipVisionCfg):
        super().__init__()
        self.act = act(c.hidden_act)
        self.fc1 = nn.Linear(c.hidden_size, c.intermediate_size)
        self.fc2 = nn.Linear(c.intermediate_size, c.hidden_size)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class BlipEncoderLayer(nn.Module):
    def __init__(self, c: BlipVisionCfg):
        super().__init__()
        self.self_attn = BlipAttention(c)
        self.layer_norm1 = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.mlp = BlipMLP(c)
        self.layer_norm2 = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class BlipEncoder(nn.Module):
    def __init__(self, c: BlipVisionCfg):
        super().__init__()
        self.layers = nn.ModuleList(BlipEncoderLayer(c) for _ in range(c.num_hidden_layers))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class BlipVisionModel(nn.Module):
    """BlipVisionModel / Blip2VisionModel: the image embeds are the post-LayerNorm last hidden state."""

    def __init__(self, c: BlipVisionCfg):
        super().__init__()
        self.cfg = c
        self.embeddings = BlipVisionEmbeddings(c)
        self.encoder = BlipEncoder(c)
        self.post_layernorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, pixel_values):
        return self.post_layernorm(self.encoder(self.embeddings(pixel_values)))


def blip_vision_to_blip2(src: BlipVisionModel, dst: BlipVisionModel) -> None:
    """Copy a BLIP tower into a BLIP-2 one. Exact: the key bias BLIP-2 drops adds q.b_k to every
    score of a query row, which softmax ignores."""
    sd = {k: v.clone() for k, v in src.state_dict().items()}
    for i in range(src.cfg.num_hidden_layers):
        key = f"encoder.layers.{i}.self_attn.qkv.bias"
        bias = sd.pop(key)
        e = bias.shape[0] // 3
        sd[f"encoder.layers.{i}.self_attn.q_bias"] = bias[:e]
        sd[f"encoder.layers.{i}.self_attn.v_bias"] = bias[2 * e :]
    dst.load_state_dict(sd)


# -------------------------------------------------------------------------------------- text
@dataclass
class BlipTextCfg:
    vocab_size: int = 128
    hidden_size: int = 64
    encoder_hidden_size: int = 64
    intermediate_size: int = 256
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    max_position_embeddings: int = 32
    layer_norm_eps: float = 1e-12
    hidden_act: str = "gelu"
    pad_token_id: int = 0
    bos_token_id: int = 5
    eos_token_id: int = 3
    sep_token_id: int = 3

    def hf(self) -> dict:
        d = asdict(self)
        d.update(model_type="blip_text_model", is_decoder=True, use_cache=True, label_smoothing=0.0,
                 hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, initializer_range=0.02)
        return d


class BlipTextEmbeddings(nn.Module):
    def __init__(self, c: BlipTextCfg):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, input_ids, position_ids):
        return self.LayerNorm(self.word_embeddings(input_ids) + self.position_embeddings(position_ids))


class BlipTextSelfAttention(nn.Module):
    def __init__(self, c: BlipTextCfg, is_cross: bool):
        super().__init__()
        self.h, self.d = c.num_attention_heads, c.hidden_size // c.num_attention_heads
        src = c.encoder_hidden_size if is_cross else c.hidden_size
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(src, c.hidden_size)
        self.value = nn.Linear(src, c.hidden_size)

    def heads(self, x):
        b, t, _ = x.shape
        return x.view(b, t, self.h, self.d).transpose(1, 2)

    def kv(self, states):
        return self.heads(self.key(states)), self.heads(self.value(states))

    def forward(self, x, additive_mask, k, v):
        b, s, _ = x.shape
        q = self.heads(self.query(x))
        att = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.d) + additive_mask
        att = att.softmax(-1)
        return torch.matmul(att, v).transpose(1, 2).reshape(b, s, self.h * self.d)


class BlipTextSelfOutput(nn.Module):
    def __init__(self, c: BlipTextCfg):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, x, residual):
        return self.LayerNorm(self.dense(x) + residual)


class BlipTextAttention(nn.Module):
    def __init__(self, c: BlipTextCfg, is_cross: bool = False):
        super().__init__()
        self.self = BlipTextSelfAttention(c, is_cross)
        self.output = BlipTextSelfOutput(c)


class BlipTextIntermediate(nn.Module):
    def __init__(self, c: BlipTextCfg):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)
        self.act = act(c.hidden_act)

    def forward(self, x):
        return self.act(self.dense(x))


class BlipTextOutput(nn.Module):
    def __init__(self, c: BlipTextCfg):
        super().__init__()
        self.dense = nn.Linear(c.intermediate_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, x, residual):
        return self.LayerNorm(self.dense(x) + residual)


class BlipTextLayer(nn.Module):
    def __init__(self, c: BlipTextCfg):
        super().__init__()
        self.attention = BlipTextAttention(c)
        self.crossattention = BlipTextAttention(c, is_cross=True)
        self.intermediate = BlipTextIntermediate(c)
        self.output = BlipTextOutput(c)

    def forward(self, x, self_mask, cross_mask, past_kv, cross_kv):
        """past_kv: (k, v) of earlier positions or None; cross_kv: (k, v) over the encoder states.
        Returns the new hidden states and this layer's self-attention (k, v) over all positions."""
        sa = self.attention.self
        k, v = sa.kv(x)
        if past_kv is not None:
            k = torch.cat([past_kv[0], k], 2)
            v = torch.cat([past_kv[1], v], 2)
        a = self.attention.output(sa(x, self_mask, k, v), x)
        c = self.crossattention.output(self.crossattention.self(a, cross_mask, *cross_kv), a)
        return self.output(self.intermediate(c), c), (k, v)


class BlipTextEncoder(nn.Module):
    def __init__(self, c: BlipTextCfg):
        super().__init__()
        self.layer = nn.ModuleList(BlipTextLayer(c) for _ in range(c.num_hidden_layers))


class BlipTextModel(nn.Module):
    """BERT with cross-attention in every layer. As a decoder (is_decoder) self-attention is causal
    and may continue from a cache; as the VQA question encoder it is bidirectional."""

    def __init__(self, c: BlipTextCfg):
        super().__init__()
        self.cfg = c
        self.embeddings = BlipTextEmbeddings(c)
        self.encoder = BlipTextEncoder(c)

    def cross_kv(self, encoder_hidden_states):
        return [layer.crossattention.self.kv(encoder_hidden_states) for layer in self.encoder.layer]

    def forward(self, input_ids, attention_mask, encoder_attention_mask, encoder_hidden_states=None,
                cross_kv=None, past=None, is_decoder=True, position_ids=None):
        b, s = input_ids.shape
        if position_ids is None:
            position_ids = positions_from_mask(attention_mask, s)
        x = self.embeddings(input_ids, position_ids)
        m = attention_mask.to(torch.float32)
        if is_decoder:
            # HF get_extended_attention_mask: new query i sees every past key and new keys <= i
            t = onnx_ops.shape_as_tensor(attention_mask)[1]
            key_pos = torch.arange(t, device=input_ids.device)
            q_pos = torch.arange(t - s, t, device=input_ids.device)
            causal = (key_pos[None, :] <= q_pos[:, None]).to(torch.float32)
            ext = causal[None, None] * m[:, None, None, :]
        else:
            ext = m[:, None, None, :]
        self_mask = (1.0 - ext) * -10000.0
        cross_mask = invert_mask(encoder_attention_mask)
        if cross_kv is None:
            cross_kv = self.cross_kv(encoder_hidden_states)
        presents = []
        for i, layer in enumerate(self.encoder.layer):
            x, pr = layer(x, self_mask, cross_mask, past[i] if past is not None else None, cross_kv[i])
            presents.append(pr)
        return x, presents, cross_kv


class BlipTextPredictionHeadTransform(nn.Module):
    def __init__(self, c: BlipTextCfg):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.act = act(c.hidden_act)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, x):
        return self.LayerNorm(self.act(self.dense(x)))


class BlipTextLMPredictionHead(nn.Module):
    def __init__(self, c: BlipTextCfg):
        super().__init__()
        self.transform = BlipTextPredictionHeadTransform(c)
        self.decoder = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(c.vocab_size))

    def forward(self, x):
        return self.decoder(self.transform(x)) + self.bias


class BlipTextOnlyMLMHead(nn.Module):
    def __init__(self, c: BlipTextCfg):
        super().__init__()
        self.predictions = BlipTextLMPredictionHead(c)


class BlipTextLMHeadModel(nn.Module):
    def __init__(self, c: BlipTextCfg):
        super().__init__()
        self.cfg = c
        self.bert = BlipTextModel(c)
        self.cls = BlipTextOnlyMLMHead(c)
        self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight  # tied, as HF

    def forward(self, input_ids, attention_mask, encoder_attention_mask, encoder_hidden_states=None,
                cross_kv=None, past=None):
        x, presents, cross = self.bert(input_ids, attention_mask, encoder_attention_mask,
                                       encoder_hidden_states, cross_kv, past, is_decoder=True)
        return self.cls.predictions(x), presents, cross


class Blip(nn.Module):
    """BlipForConditionalGeneration (vqa=False) or BlipForQuestionAnswering (vqa=True)."""

    def __init__(self, vc: BlipVisionCfg, tc: BlipTextCfg, vqa: bool = False):
        super().__init__()
        self.vision_model = BlipVisionModel(vc)
        if vqa:
            self.text_encoder = BlipTextModel(tc)
        self.text_decoder = BlipTextLMHeadModel(tc)
        self.vqa = vqa

    def encode_question(self, input_ids, attention_mask, image_embeds):
        ones = torch.ones(image_embeds.shape[:2], dtype=torch.long, device=image_embeds.device)
        x, _, _ = self.text_encoder(input_ids, attention_mask, ones, image_embeds, is_decoder=False,
                                    position_ids=torch.arange(input_ids.shape[1])[None].expand_as(input_ids))
        return x


# -------------------------------------------------------------------------- BLIP-2 Q-Former
@dataclass
class QFormerCfg:
    hidden_size: int = 64
    encoder_hidden_size: int = 64
    intermediate_size: int = 256
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    cross_attention_frequency: int = 1
    layer_norm_eps: float = 1e-12
    hidden_act: str = "gelu"
    vocab_size: int = 128
    max_position_embeddings: int = 32

    def hf(self) -> dict:
        d = asdict(self)
        d.update(model_type="blip_2_qformer", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                 position_embedding_type="absolute", pad_token_id=0, initializer_range=0.02)
        return d


class Blip2QFormerMultiHeadAttention(nn.Module):
    def __init__(self, c: QFormerCfg, is_cross: bool):
        super().__init__()
        self.h, self.d = c.num_attention_heads, c.hidden_size // c.num_attention_heads
        src = c.encoder_hidden_size if is_cross else c.hidden_size
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(src, c.hidden_size)
        self.value = nn.Linear(src, c.hidden_size)

    def heads(self, x):
        b, t, _ = x.shape
        return x.view(b, t, self.h, self.d).permute(0, 2, 1, 3)

    def forward(self, x, states, additive_mask=None):
        b, s, _ = x.shape
        q, k, v = self.heads(self.query(x)), self.heads(self.key(states)), self.heads(self.value(states))
        att = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.d)
        if additive_mask is not None:
            att = att + additive_mask
        att = att.softmax(-1)
        return torch.matmul(att, v).permute(0, 2, 1, 3).reshape(b, s, self.h * self.d)


class Blip2QFormerSelfOutput(nn.Module):
    def __init__(self, c: QFormerCfg):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, x, residual):
        return self.LayerNorm(self.dense(x) + residual)


class Blip2QFormerAttention(nn.Module):
    def __init__(self, c: QFormerCfg, is_cross: bool = False):
        super().__init__()
        self.attention = Blip2QFormerMultiHeadAttention(c, is_cross)
        self.output = Blip2QFormerSelfOutput(c)

    def forward(self, x, states, additive_mask=None):
        return self.output(self.attention(x, states, additive_mask), x)


class Blip2QFormerIntermediate(nn.Module):
    def __init__(self, c: QFormerCfg):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)
        self.act = act(c.hidden_act)

    def forward(self, x):
        return self.act(self.dense(x))


class Blip2QFormerOutput(nn.Module):
    def __init__(self, c: QFormerCfg):
        super().__init__()
        self.dense = nn.Linear(c.intermediate_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, x, residual):
        return self.LayerNorm(self.dense(x) + residual)


class Blip2QFormerLayer(nn.Module):
    """The query path of a Q-Former layer (BLIP-2 generation never feeds text to the Q-Former)."""

    def __init__(self, c: QFormerCfg, index: int):
        super().__init__()
        self.attention = Blip2QFormerAttention(c)
        self.has_cross_attention = index % c.cross_attention_frequency == 0
        if self.has_cross_attention:
            self.crossattention = Blip2QFormerAttention(c, is_cross=True)
        self.intermediate_query = Blip2QFormerIntermediate(c)
        self.output_query = Blip2QFormerOutput(c)

    def forward(self, x, image_embeds, image_mask):
        x = self.attention(x, x)
        if self.has_cross_attention:
            x = self.crossattention(x, image_embeds, image_mask)
        return self.output_query(self.intermediate_query(x), x)


class Blip2QFormerEncoder(nn.Module):
    def __init__(self, c: QFormerCfg):
        super().__init__()
        self.layer = nn.ModuleList(Blip2QFormerLayer(c, i) for i in range(c.num_hidden_layers))


class Blip2QFormerModel(nn.Module):
    def __init__(self, c: QFormerCfg):
        super().__init__()
        self.cfg = c
        self.layernorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.encoder = Blip2QFormerEncoder(c)

    def forward(self, query_embeds, image_embeds):
        ones = torch.ones(image_embeds.shape[:2], dtype=torch.long, device=image_embeds.device)
        mask = invert_mask(ones)
        x = self.layernorm(query_embeds)
        for layer in self.encoder.layer:
            x = layer(x, image_embeds, mask)
        return x


# --------------------------------------------------------------------------------------- OPT
@dataclass
class OptCfg:
    vocab_size: int = 128
    hidden_size: int = 64
    ffn_dim: int = 256
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    max_position_embeddings: int = 64
    do_layer_norm_before: bool = True
    word_embed_proj_dim: int = 64
    activation_function: str = "relu"
    bos_token_id: int = 2
    eos_token_id: int = 2
    pad_token_id: int = 1

    def hf(self) -> dict:
        d = asdict(self)
        d.update(model_type="opt", enable_bias=True, layer_norm_elementwise_affine=True, dropout=0.0,
                 attention_dropout=0.0, layerdrop=0.0, init_std=0.02, use_cache=True,
                 tie_word_embeddings=True, architectures=["OPTForCausalLM"])
        return d


class OPTLearnedPositionalEmbedding(nn.Embedding):
    """Positions from the attention mask (cumsum), offset by 2, as OPT does."""

    def __init__(self, n: int, dim: int):
        super().__init__(n + 2, dim)

    def forward(self, attention_mask, new):
        pos = (torch.cumsum(attention_mask, dim=1) * attention_mask - 1).long()
        t = onnx_ops.shape_as_tensor(attention_mask)[1]
        pos = pos.index_select(1, torch.arange(t - new, t, device=attention_mask.device))
        return super().forward(pos + 2)


class OPTAttention(nn.Module):
    def __init__(self, c: OptCfg):
        super().__init__()
        self.h, self.d = c.num_attention_heads, c.hidden_size // c.num_attention_heads
        self.q_proj = nn.Linear(c.hidden_size, c.hidden_size)
        self.k_proj = nn.Linear(c.hidden_size, c.hidden_size)
        self.v_proj = nn.Linear(c.hidden_size, c.hidden_size)
        self.out_proj = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, x, mask, past=None):
        b, s, e = x.shape
        q = (self.q_proj(x) * (self.d**-0.5)).view(b, s, self.h, self.d).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.h, self.d).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.h, self.d).transpose(1, 2)
        if past is not None:
            k = torch.cat([past[0], k], 2)
            v = torch.cat([past[1], v], 2)
        att = torch.matmul(q, k.transpose(-1, -2))
        att = torch.where(mask, att, torch.full_like(att, NEG)).softmax(-1)
        return self.out_proj(torch.matmul(att, v).transpose(1, 2).reshape(b, s, e)), (k, v)


class OPTDecoderLayer(nn.Module):
    def __init__(self, c: OptCfg):
        super().__init__()
        self.self_attn = OPTAttention(c)
        self.self_attn_layer_norm = nn.LayerNorm(c.hidden_size)
        self.fc1 = nn.Linear(c.hidden_size, c.ffn_dim)
        self.fc2 = nn.Linear(c.ffn_dim, c.hidden_size)
        self.final_layer_norm = nn.LayerNorm(c.hidden_size)
        self.act = act(c.activation_function)

    def forward(self, x, mask, past=None):
        a, present = self.self_attn(self.self_attn_layer_norm(x), mask, past)
        x = x + a
        return x + self.fc2(self.act(self.fc1(self.final_layer_norm(x)))), present


class OPTDecoder(nn.Module):
    def __init__(self, c: OptCfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.word_embed_proj_dim, padding_idx=c.pad_token_id)
        self.embed_positions = OPTLearnedPositionalEmbedding(c.max_position_embeddings, c.hidden_size)
        self.final_layer_norm = nn.LayerNorm(c.hidden_size)
        self.layers = nn.ModuleList(OPTDecoderLayer(c) for _ in range(c.num_hidden_layers))


class OPTModel(nn.Module):
    def __init__(self, c: OptCfg):
        super().__init__()
        self.decoder = OPTDecoder(c)


class OPTForCausalLM(nn.Module):
    def __init__(self, c: OptCfg):
        super().__init__()
        self.cfg = c
        self.model = OPTModel(c)
        self.lm_head = nn.Linear(c.word_embed_proj_dim, c.vocab_size, bias=False)
        self.lm_head.weight = self.model.decoder.embed_tokens.weight  # tied, as OPT

    def forward(self, inputs_embeds, attention_mask, past=None, num_logits_to_keep=None):
        d = self.model.decoder
        b, s, _ = inputs_embeds.shape
        x = inputs_embeds + d.embed_positions(attention_mask, s)
        t = onnx_ops.shape_as_tensor(attention_mask)[1]
        key_pos = torch.arange(t, device=x.device)
        q_pos = torch.arange(t - s, t, device=x.device)
        mask = (key_pos[None, :] <= q_pos[:, None])[None, None] & (attention_mask[:, None, None, :] > 0)
        presents = []
        for i, layer in enumerate(d.layers):
            x, pr = layer(x, mask, past[i] if past is not None else None)
            presents.append(pr)
        x = d.final_layer_norm(x)
        if num_logits_to_keep is not None:
            n = onnx_ops.shape_as_tensor(x)[1]
            k = torch.where(num_logits_to_keep > 0, torch.minimum(num_logits_to_keep, n), n)
            x = x.index_select(1, torch.arange(n - k, n, device=x.device))
        return self.lm_head(x), presents


class Blip2(nn.Module):
    """Blip2ForConditionalGeneration: vision tower, learned queries, Q-Former, projection, OPT."""

    def __init__(self, vc: BlipVisionCfg, qc: QFormerCfg, oc: OptCfg, num_query_tokens: int = 8):
        super().__init__()
        self.vision_model = BlipVisionModel(vc)
        self.query_tokens = nn.Parameter(torch.randn(1, num_query_tokens, qc.hidden_size) * 0.02)
        self.qformer = Blip2QFormerModel(qc)
        self.language_projection = nn.Linear(qc.hidden_size, oc.hidden_size)
        self.language_model = OPTForCausalLM(oc)

    def query_features(self, image_embeds):
        q = self.query_tokens.expand(image_embeds.shape[0], -1, -1)
        return self.language_projection(self.qformer(q, image_embeds))

    def embed(self, input_ids):
        return self.language_model.model.decoder.embed_tokens(input_ids)
