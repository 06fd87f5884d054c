"""X-CLIP in plain PyTorch with Hugging Face's module structure, parameter names and forward
signatures (transformers' modeling_x_clip: XCLIPModel), so that

- its state_dict loads into `transformers.XCLIPModel` unchanged (same keys, same shapes), and
- the ONNX wrappers in xclip_onnx.py run on this model and on a real Hugging Face checkpoint alike.

Parts: a CLIP text tower (causal, pooled at EOS = the largest id), a CLIP vision tower whose
layers exchange one "message" token per frame (cross-frame communication), the multi-frame
integration transformer (MIT) over the projected frame embeddings, and the video-specific prompt
generator (cross-attention from the text embeddings to the mean patch features of the frames).
Attention modules return (output, None) and encoder layers return a 1-tuple, as Hugging Face's do.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn

from models import act_fn

NEG = torch.finfo(torch.float32).min


@dataclass
class XTextCfg:
    vocab_size: int = 128
    hidden_size: int = 64
    intermediate_size: int = 256
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    max_position_embeddings: int = 16
    hidden_act: str = "quick_gelu"
    layer_norm_eps: float = 1e-5
    pad_token_id: int = 0
    bos_token_id: int = 126
    eos_token_id: int = 127

    def hf(self) -> dict:
        d = asdict(self)
        d.update(model_type="xclip_text_model", attention_dropout=0.0, dropout=0.0, initializer_factor=1.0,
                 initializer_range=0.02)
        return d


@dataclass
class XVisionCfg:
    image_size: int = 32
    patch_size: int = 8
    hidden_size: int = 64
    intermediate_size: int = 256
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    mit_hidden_size: int = 64
    mit_intermediate_size: int = 256
    mit_num_hidden_layers: int = 1
    mit_num_attention_heads: int = 4
    num_channels: int = 3
    num_frames: int = 8
    hidden_act: str = "quick_gelu"
    layer_norm_eps: float = 1e-5

    def hf(self) -> dict:
        d = asdict(self)
        d.update(model_type="xclip_vision_model", attention_dropout=0.0, dropout=0.0, drop_path_rate=0.0,
                 initializer_factor=1.0, initializer_range=0.02)
        return d


@dataclass
class XClipCfg:
    text: XTextCfg
    vision: XVisionCfg
    projection_dim: int = 64
    prompt_layers: int = 1
    prompt_alpha: float = 0.1
    prompt_hidden_act: str = "quick_gelu"
    prompt_num_attention_heads: int = 4
    logit_scale_init_value: float = 2.6592

    def hf(self) -> dict:
        """config.json as XCLIPConfig.to_dict() writes it (the fields mmrt and transformers read)."""
        return {
            "architectures": ["XCLIPModel"],
            "model_type": "xclip",
            "projection_dim": self.projection_dim,
            "prompt_layers": self.prompt_layers,
            "prompt_alpha": self.prompt_alpha,
            "prompt_hidden_act": self.prompt_hidden_act,
            "prompt_num_attention_heads": self.prompt_num_attention_heads,
            "prompt_attention_dropout": 0.0,
            "prompt_projection_dropout": 0.0,
            "logit_scale_init_value": self.logit_scale_init_value,
            "initializer_factor": 1.0,
            "torch_dtype": "float32",
            "text_config": self.text.hf(),
            "vision_config": self.vision.hf(),
        }


class XCLIPAttention(nn.Module):
    def __init__(self, hidden: int, heads: int):
        super().__init__()
        self.num_heads, self.head_dim = heads, hidden // heads
        self.scale = self.head_dim**-0.5
        self.k_proj = nn.Linear(hidden, hidden)
        self.v_proj = nn.Linear(hidden, hidden)
        self.q_proj = nn.Linear(hidden, hidden)
        self.out_proj = nn.Linear(hidden, hidden)

    def forward(self, hidden_states, attention_mask=None, causal_attention_mask=None, output_attentions=False):
        b, s, d = hidden_states.shape
        q = (self.q_proj(hidden_states) * self.scale).view(b, s, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(hidden_states).view(b, -1, self.num_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(hidden_states).view(b, -1, self.num_heads, self.head_dim).transpose(1, 2)
        att = torch.matmul(q, k.transpose(-1, -2))
        if causal_attention_mask is not None:
            att = att + causal_attention_mask
        if attention_mask is not None:
            att = att + attention_mask
        att = att.softmax(-1)
        o = torch.matmul(att, v).transpose(1, 2).reshape(b, s, d)
        return self.out_proj(o), None


class XCLIPMLP(nn.Module):
    def __init__(self, hidden: int, inter: int, act: str):
        super().__init__()
        self.activation_fn = act_fn(act)
        self.fc1 = nn.Linear(hidden, inter)
        self.fc2 = nn.Linear(inter, hidden)

    def forward(self, x):
        return self.fc2(self.activation_fn(self.fc1(x)))


class XCLIPEncoderLayer(nn.Module):
    def __init__(self, hidden: int, inter: int, heads: int, act: str, eps: float):
        super().__init__()
        self.self_attn = XCLIPAttention(hidden, heads)
        self.layer_norm1 = nn.LayerNorm(hidden, eps=eps)
        self.mlp = XCLIPMLP(hidden, inter, act)
        self.layer_norm2 = nn.LayerNorm(hidden, eps=eps)

    def forward(self, hidden_states, attention_mask=None, causal_attention_mask=None, output_attentions=False):
        x = hidden_states
        x = x + self.self_attn(self.layer_norm1(x), attention_mask, causal_attention_mask)[0]
        return (x + self.mlp(self.layer_norm2(x)),)


class XCLIPEncoder(nn.Module):
    def __init__(self, hidden: int, inter: int, heads: int, layers: int, act: str, eps: float):
        super().__init__()
        self.layers = nn.ModuleList(XCLIPEncoderLayer(hidden, inter, heads, act, eps) for _ in range(layers))

    def forward(self, inputs_embeds, attention_mask=None, causal_attention_mask=None):
        x = inputs_embeds
        for layer in self.layers:
            x = layer(x, attention_mask, causal_attention_mask)[0]
        return (x,)


class XCLIPTextEmbeddings(nn.Module):
    def __init__(self, c: XTextCfg):
        super().__init__()
        self.token_embedding = nn.Embedding(c.vocab_size, c.hidden_size)
        self.position_embedding = nn.Embedding(c.max_position_embeddings, c.hidden_size)

    def forward(self, input_ids):
        pos = torch.arange(input_ids.shape[-1], device=input_ids.device)
        return self.token_embedding(input_ids) + self.position_embedding(pos)[None]


class XCLIPTextTransformer(nn.Module):
    def __init__(self, c: XTextCfg):
        super().__init__()
        self.cfg = c
        self.embeddings = XCLIPTextEmbeddings(c)
        self.encoder = XCLIPEncoder(c.hidden_size, c.intermediate_size, c.num_attention_heads,
                                    c.num_hidden_layers, c.hidden_act, c.layer_norm_eps)
        self.final_layer_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, input_ids, attention_mask=None):
        b, s = input_ids.shape
        x = self.embeddings(input_ids)
        # HF's additive masks: causal (min above the diagonal) and padding ((1 - mask) * min)
        pos = torch.arange(s, device=input_ids.device)
        causal = torch.where(pos[None, :] <= pos[:, None], torch.zeros(()), torch.full((), NEG))[None, None]
        mask = None
        if attention_mask is not None:
            mask = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * NEG
        last = self.final_layer_norm(self.encoder(x, mask, causal)[0])
        pooled = last[torch.arange(b, device=input_ids.device), input_ids.argmax(-1)]
        return last, pooled


class XCLIPVisionEmbeddings(nn.Module):
    def __init__(self, c: XVisionCfg):
        super().__init__()
        self.class_embedding = nn.Parameter(torch.randn(c.hidden_size))
        self.patch_embedding = nn.Conv2d(c.num_channels, c.hidden_size, c.patch_size, c.patch_size, bias=False)
        n = (c.image_size // c.patch_size) ** 2 + 1
        self.position_embedding = nn.Embedding(n, c.hidden_size)
        self.register_buffer("position_ids", torch.arange(n)[None], persistent=False)

    def forward(self, pixel_values):
        p = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(p.shape[0], 1, -1)
        return torch.cat([cls, p], 1) + self.position_embedding(self.position_ids)


class XCLIPVisionEncoderLayer(nn.Module):
    """A CLIP layer plus one message token per frame: message_fc of each frame's CLS, attention
    across the frames of a video, appended to every frame's tokens for its self-attention."""

    def __init__(self, c: XVisionCfg):
        super().__init__()
        d = c.hidden_size
        self.num_frames = c.num_frames
        self.message_fc = nn.Linear(d, d)
        self.message_ln = nn.LayerNorm(d, eps=c.layer_norm_eps)
        self.message_attn = XCLIPAttention(d, c.num_attention_heads)
        self.self_attn = XCLIPAttention(d, c.num_attention_heads)
        self.layer_norm1 = nn.LayerNorm(d, eps=c.layer_norm_eps)
        self.mlp = XCLIPMLP(d, c.intermediate_size, c.hidden_act)
        self.layer_norm2 = nn.LayerNorm(d, eps=c.layer_norm_eps)
        self.drop_path = nn.Identity()

    def forward(self, hidden_states, attention_mask=None, causal_attention_mask=None, output_attentions=False):
        bt, s, d = hidden_states.shape
        msg = self.message_fc(hidden_states[:, 0, :]).view(bt // self.num_frames, self.num_frames, d)
        msg = msg + self.drop_path(self.message_attn(self.message_ln(msg))[0])
        x = torch.cat([hidden_states, msg.view(-1, 1, d)], 1)
        x = x + self.self_attn(self.layer_norm1(x))[0]
        x = x[:, :s, :]
        return (x + self.mlp(self.layer_norm2(x)),)


class XCLIPVisionEncoder(nn.Module):
    def __init__(self, c: XVisionCfg):
        super().__init__()
        self.layers = nn.ModuleList(XCLIPVisionEncoderLayer(c) for _ in range(c.num_hidden_layers))

    def forward(self, inputs_embeds):
        x = inputs_embeds
        for layer in self.layers:
            x = layer(x)[0]
        return (x,)


class XCLIPVisionTransformer(nn.Module):
    def __init__(self, c: XVisionCfg):
        super().__init__()
        self.cfg = c
        self.embeddings = XCLIPVisionEmbeddings(c)
        self.pre_layernorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.encoder = XCLIPVisionEncoder(c)
        self.post_layernorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, pixel_values):
        last = self.encoder(self.pre_layernorm(self.embeddings(pixel_values)))[0]
        return last, self.post_layernorm(last[:, 0, :])


class XCLIPMultiframeIntegrationTransformer(nn.Module):
    def __init__(self, c: XVisionCfg):
        super().__init__()
        self.position_embedding = nn.Parameter(torch.empty(1, c.num_frames, c.mit_hidden_size))
        self.encoder = XCLIPEncoder(c.mit_hidden_size, c.mit_intermediate_size, c.mit_num_attention_heads,
                                    c.mit_num_hidden_layers, c.hidden_act, c.layer_norm_eps)

    def forward(self, hidden_states):
        last = self.encoder(hidden_states + self.position_embedding)[0] + hidden_states
        return last, last.mean(1)


class XCLIPCrossAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.num_heads = heads
        self.scale = (dim // heads) ** -0.5
        self.q_proj = nn.Linear(dim, dim, bias=False)
        self.k_proj = nn.Linear(dim, dim, bias=False)
        self.v_proj = nn.Linear(dim, dim, bias=False)
        self.attn_drop = nn.Dropout(0.0)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(0.0)

    def forward(self, queries, keys, values):
        b, nq, d = queries.shape
        nk = keys.shape[1]
        h = self.num_heads
        q = self.q_proj(queries).reshape(b, nq, h, d // h).permute(0, 2, 1, 3)
        k = self.k_proj(keys).reshape(b, nk, h, d // h).permute(0, 2, 1, 3)
        v = self.v_proj(values).reshape(b, nk, h, d // h).permute(0, 2, 1, 3)
        att = ((q @ k.transpose(-2, -1)) * self.scale).softmax(-1)
        return self.proj((att @ v).transpose(1, 2).reshape(b, nq, d))


class PromptGeneratorLayer(nn.Module):
    def __init__(self, c: XClipCfg):
        super().__init__()
        d = c.projection_dim
        self.cross_attn = XCLIPCrossAttention(d, c.prompt_num_attention_heads)
        self.norm1 = nn.LayerNorm(d, eps=c.text.layer_norm_eps)
        self.norm3 = nn.LayerNorm(d, eps=c.text.layer_norm_eps)
        act = act_fn(c.prompt_hidden_act)
        self.mlp = nn.Sequential(nn.Linear(d, d * 4), _Act(act), nn.Dropout(0.0), nn.Linear(d * 4, d))

    def forward(self, x, visual):
        x = x + self.cross_attn(self.norm1(x), visual, visual)
        return x + self.mlp(self.norm3(x))


class _Act(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class XCLIPPromptGenerator(nn.Module):
    def __init__(self, c: XClipCfg):
        super().__init__()
        d = c.projection_dim
        self.layernorm = nn.LayerNorm(d, eps=c.vision.layer_norm_eps)
        self.decoder = nn.ModuleList(PromptGeneratorLayer(c) for _ in range(c.prompt_layers))
        self.alpha = nn.Parameter(torch.ones(d) * c.prompt_alpha)

    def forward(self, text, visual):
        visual = self.layernorm(visual)
        for layer in self.decoder:
            text = layer(text, visual)
        return self.alpha * text


class XCLIPModel(nn.Module):
    def __init__(self, c: XClipCfg):
        super().__init__()
        self.cfg = c
        v, t = c.vision, c.text
        assert v.mit_hidden_size == c.projection_dim, "the MIT runs on the projected frame embeddings"
        self.text_model = XCLIPTextTransformer(t)
        self.vision_model = XCLIPVisionTransformer(v)
        self.visual_projection = nn.Linear(v.hidden_size, c.projection_dim, bias=False)
        self.text_projection = nn.Linear(t.hidden_size, c.projection_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(c.logit_scale_init_value))
        self.prompts_visual_layernorm = nn.LayerNorm(v.hidden_size, eps=v.layer_norm_eps)
        self.prompts_visual_projection = nn.Parameter(torch.randn(v.hidden_size, c.projection_dim))
        self.mit = XCLIPMultiframeIntegrationTransformer(v)
        self.prompts_generator = XCLIPPromptGenerator(c)

    @torch.no_grad()
    def hf_init(self, sincos: float = 0.0) -> "XCLIPModel":
        """XCLIPPreTrainedModel._init_weights (initializer_factor 1)."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=1.0)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            if isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for tower, cfg in ((self.text_model, self.cfg.text), (self.vision_model, self.cfg.vision)):
            d, L = cfg.hidden_size, cfg.num_hidden_layers
            for m in tower.modules():
                if isinstance(m, XCLIPAttention):
                    for lin in (m.q_proj, m.k_proj, m.v_proj):
                        nn.init.normal_(lin.weight, std=d**-0.5 * (2 * L) ** -0.5)
                    nn.init.normal_(m.out_proj.weight, std=d**-0.5)
                if isinstance(m, XCLIPMLP):
                    nn.init.normal_(m.fc1.weight, std=(2 * d) ** -0.5)
                    nn.init.normal_(m.fc2.weight, std=d**-0.5 * (2 * L) ** -0.5)
        v = self.cfg.vision
        dm, Lm = v.mit_hidden_size, v.mit_num_hidden_layers
        for m in self.mit.modules():
            if isinstance(m, XCLIPAttention):
                for lin in (m.q_proj, m.k_proj, m.v_proj):
                    nn.init.normal_(lin.weight, std=dm**-0.5 * (2 * Lm) ** -0.5)
                if sincos:
                    # Queries and keys start wider, so attention over the frames already depends
                    # on their positions: with near-uniform attention the mean-pooled MIT output
                    # carries no order, and the direction of motion is learned only after a long
                    # plateau (measured: none in 1200 steps).
                    for lin in (m.q_proj, m.k_proj):
                        nn.init.normal_(lin.weight, std=2 * dm**-0.5)
                nn.init.normal_(m.out_proj.weight, std=dm**-0.5)
            if isinstance(m, XCLIPMLP):
                nn.init.normal_(m.fc1.weight, std=(2 * dm) ** -0.5)
                nn.init.normal_(m.fc2.weight, std=dm**-0.5 * (2 * Lm) ** -0.5)
        # HF keeps normal(std=1) for plain Linear layers (the prompt generator's, message_fc);
        # too wide for a model trained from scratch at this size: they start at fan_in^-0.5 here.
        plain = [m for m in self.prompts_generator.modules() if isinstance(m, nn.Linear)]
        plain += [layer.message_fc for layer in self.vision_model.encoder.layers]
        for m in plain:
            nn.init.normal_(m.weight, std=m.weight.shape[1] ** -0.5)
        e = self.vision_model.embeddings
        nn.init.normal_(e.class_embedding, std=v.hidden_size**-0.5)
        nn.init.normal_(e.patch_embedding.weight, std=0.02)
        nn.init.normal_(e.position_embedding.weight, std=0.02)
        if sincos:  # a 2D sin-cos start for the patch positions (still learned): where the shape is matters
            from models import sincos_2d

            g = v.image_size // v.patch_size
            e.position_embedding.weight[1:] = sincos_2d(g, v.hidden_size) * sincos
        te = self.text_model.embeddings
        nn.init.normal_(te.token_embedding.weight, std=0.02)
        nn.init.normal_(te.position_embedding.weight, std=0.02)
        nn.init.normal_(self.text_projection.weight, std=self.cfg.text.hidden_size**-0.5)
        nn.init.normal_(self.visual_projection.weight, std=v.hidden_size**-0.5)
        nn.init.normal_(self.prompts_visual_projection, std=v.hidden_size**-0.5)
        nn.init.normal_(self.mit.position_embedding, std=1.0)  # HF: initializer_factor
        if sincos:  # a 1D sin-cos start for the frame positions (still learned): order is the signal
            tpos = torch.arange(v.num_frames, dtype=torch.float32)[:, None]
            omega = 1.0 / (10000 ** (torch.arange(dm // 2, dtype=torch.float32) / (dm // 2)))
            self.mit.position_embedding[0] = torch.cat([(tpos * omega).sin(), (tpos * omega).cos()], 1)
        return self

    def forward(self, input_ids, pixel_values, attention_mask=None):
        """XCLIPModel.forward: logits_per_video [B, K] (and the embeddings), for training."""
        b, t, c, h, w = pixel_values.shape
        last, pooled = self.vision_model(pixel_values.reshape(-1, c, h, w))
        frames = self.visual_projection(pooled).view(b, t, -1)
        video = self.mit(frames)[1]
        feats = self.prompts_visual_layernorm(last[:, 1:, :]) @ self.prompts_visual_projection
        feats = feats.view(b, t, -1, video.shape[-1]).mean(1)
        text = self.text_projection(self.text_model(input_ids, attention_mask)[1])
        text = text.unsqueeze(0).expand(b, -1, -1)
        text = text + self.prompts_generator(text, feats)
        video = video / video.norm(p=2, dim=-1, keepdim=True)
        text = text / text.norm(p=2, dim=-1, keepdim=True)
        logits_per_video = torch.einsum("bd,bkd->bk", video, self.logit_scale.exp() * text)
        self.last_frame_embeds = frames  # [B, T, D], for training aids
        return logits_per_video, text, video
