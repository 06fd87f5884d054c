"""Training of the tiny LLaVA-style VLM.

LLaVA recipe, shrunk: the vision tower is the tiny CLIP's (frozen, as in LLaVA), its
last-layer hidden states (CLS + patches, strategy "full") go through a trained 2-layer MLP
projector into a LLaMA-style decoder trained from scratch on chats about the image
(1-3 question/answer turns, loss on the assistant answers and their EOS only).
"""
from __future__ import annotations

import math
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

import render
from models import Llava, LlamaCfg, VisionCfg, CLIP
from preprocess import normalize
from tok import IMAGE_TOKEN, WordPieceTokenizer, render_chat

QUESTION_KEYS = ["color", "shape", "describe"]


def first_user(question: str) -> dict:
    return {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}


def expand_image_tokens(text: str, n: int) -> str:
    """What LlavaProcessor does: one <image> -> n image tokens."""
    return text.replace(IMAGE_TOKEN, IMAGE_TOKEN * n)


def chat_example(tok: WordPieceTokenizer, color: str, shape: str, n_img: int, rng: random.Random):
    """ids and target mask for one conversation (1-3 turns)."""
    turns = rng.randint(1, 3)
    keys = rng.sample(QUESTION_KEYS, turns)
    ans = render.answers(color, shape)
    ids: list[int] = []
    tgt: list[int] = []
    messages: list[dict] = []
    for t, k in enumerate(keys):
        q = render.QUESTIONS[k]
        messages.append(first_user(q) if t == 0 else {"role": "user", "content": q})
        prompt = expand_image_tokens(render_chat(messages, add_generation_prompt=True), n_img)
        p_ids = tok.encode(prompt, add_special_tokens=False)
        new = p_ids[len(ids):]
        assert p_ids[: len(ids)] == ids
        ids += new
        tgt += [0] * len(new)
        messages.append({"role": "assistant", "content": ans[k]})
        full = expand_image_tokens(render_chat(messages, add_generation_prompt=False), n_img)
        f_ids = tok.encode(full, add_special_tokens=False)
        assert f_ids[: len(ids)] == ids
        new = f_ids[len(ids):]
        ids += new
        tgt += [1] * len(new)  # answer tokens + </s>
    return ids, tgt


def n_image_tokens(vc: VisionCfg) -> int:
    return (vc.image_size // vc.patch_size) ** 2 + 1  # "full": CLS + patches


@torch.no_grad()
def vision_hidden(model: Llava, x_u8: np.ndarray, batch: int = 256) -> torch.Tensor:
    outs = []
    for i in range(0, len(x_u8), batch):
        px = torch.from_numpy(normalize(x_u8[i : i + batch]))
        _, _, hs = model.vision_tower(px, all_hidden=True)
        outs.append(hs[model.vision_feature_layer])
    return torch.cat(outs)


def train_vlm(
    clip: CLIP,
    x_train: np.ndarray,
    y_train: np.ndarray,
    tok: WordPieceTokenizer,
    lc: LlamaCfg,
    image_token_index: int,
    steps: int = 1500,
    batch: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    log_every: int = 250,
) -> Llava:
    torch.manual_seed(seed)
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    vc = clip.vision_model.cfg
    model = Llava(vc, lc)
    model.vision_tower.load_state_dict(clip.vision_model.state_dict())
    for p in model.vision_tower.parameters():
        p.requires_grad_(False)
    # LLaMA init: normal(0, 0.02) for linear and embedding weights
    for m in [model.language_model, model.multi_modal_projector]:
        for mod in m.modules():
            if isinstance(mod, (torch.nn.Linear, torch.nn.Embedding)):
                torch.nn.init.normal_(mod.weight, std=0.02)
                if getattr(mod, "bias", None) is not None:
                    torch.nn.init.zeros_(mod.bias)
    n_img = n_image_tokens(vc)
    t0 = time.time()
    # frozen tower: compute its features once for the training images, plus flipped copies
    feats = [vision_hidden(model, x_train)]
    feats.append(vision_hidden(model, np.ascontiguousarray(x_train[:, :, ::-1])))
    feats.append(vision_hidden(model, np.ascontiguousarray(np.rot90(x_train, 1, (1, 2)))))
    print(f"  vlm: vision features for {len(x_train)} x {len(feats)} views in {time.time() - t0:.0f}s", flush=True)
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.98))
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps))))
    lm = model.language_model
    model.train()
    for step in range(steps):
        idx = nrng.integers(0, len(x_train), batch)
        view = nrng.integers(0, len(feats), batch)
        hs = torch.stack([feats[v][i] for v, i in zip(view, idx)])
        img = model.multi_modal_projector(hs)  # [B, n_img, H]
        exs = [chat_example(tok, *render.CLASSES[int(y_train[i])], n_img, rng) for i in idx]
        L = max(len(e[0]) for e in exs)
        ids = torch.full((batch, L), lc.pad_token_id, dtype=torch.long)
        tgt = torch.zeros(batch, L, dtype=torch.bool)
        am = torch.zeros(batch, L, dtype=torch.long)
        for r, (i_, t_) in enumerate(exs):
            ids[r, : len(i_)] = torch.tensor(i_)
            tgt[r, : len(t_)] = torch.tensor(t_, dtype=torch.bool)
            am[r, : len(i_)] = 1
        emb = model.embed(ids)
        emb = model.merge(ids, emb, img, image_token_index)
        pos = torch.arange(L)[None].expand(batch, L)
        logits, _ = lm(emb, am, pos)
        # token t predicts token t+1; targets are the answer tokens
        lg = logits[:, :-1][tgt[:, 1:]]
        lab = ids[:, 1:][tgt[:, 1:]]
        loss = F.cross_entropy(lg, lab)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        if (step + 1) % log_every == 0 or step == 0:
            acc = (lg.argmax(-1) == lab).float().mean().item()
            print(f"  vlm step {step + 1}/{steps} loss {loss.item():.4f} token-acc {acc:.3f} "
                  f"({time.time() - t0:.0f}s)", flush=True)
    model.eval()
    return model


@torch.no_grad()
def prefill_embeds(model: Llava, ids: torch.Tensor, pixel_values: torch.Tensor, image_token_index: int):
    emb = model.embed(ids)
    return model.merge(ids, emb, model.image_features(pixel_values), image_token_index)


@torch.no_grad()
def greedy(model: Llava, tok: WordPieceTokenizer, prompt_ids: list[list[int]], pixel_values: torch.Tensor,
           image_token_index: int, max_new_tokens: int = 16) -> tuple[list[list[int]], torch.Tensor]:
    """Greedy decoding with a KV cache, left-padded batch (like transformers.js); returns the
    new tokens per row (up to and including EOS) and the first step's last-position logits."""
    lm = model.language_model
    eos, pad = lm.cfg.eos_token_id, lm.cfg.pad_token_id
    b = len(prompt_ids)
    L = max(len(p) for p in prompt_ids)
    ids = torch.full((b, L), pad, dtype=torch.long)
    am = torch.zeros(b, L, dtype=torch.long)
    for r, p in enumerate(prompt_ids):
        ids[r, L - len(p):] = torch.tensor(p)
        am[r, L - len(p):] = 1
    emb = prefill_embeds(model, ids, pixel_values, image_token_index)
    pos = (am.cumsum(-1) - 1).masked_fill(am == 0, 1)
    logits, past = lm(emb, am, pos, None, torch.tensor(1))
    first = logits[:, -1].clone()
    out: list[list[int]] = [[] for _ in range(b)]
    done = [False] * b
    for _ in range(max_new_tokens):
        nxt = logits[:, -1].argmax(-1)
        for r in range(b):
            if not done[r]:
                out[r].append(int(nxt[r]))
                done[r] = int(nxt[r]) == eos
        if all(done):
            break
        am = torch.cat([am, torch.ones(b, 1, dtype=torch.long)], 1)
        pos = am.sum(-1, keepdim=True) - 1
        logits, past = lm(model.embed(nxt[:, None]), am, pos, past, torch.tensor(1))
    return out, first


def prompt_for(tok: WordPieceTokenizer, question: str, n_img: int) -> list[int]:
    text = expand_image_tokens(render_chat([first_user(question)], add_generation_prompt=True), n_img)
    return tok.encode(text, add_special_tokens=False)


@torch.no_grad()
def vlm_accuracy(model: Llava, tok: WordPieceTokenizer, x: np.ndarray, y: np.ndarray, image_token_index: int,
                 batch: int = 120) -> dict[str, float]:
    n_img = n_image_tokens(model.vision_tower.cfg)
    res = {}
    for k in QUESTION_KEYS:
        p = prompt_for(tok, render.QUESTIONS[k], n_img)
        correct = 0
        for i in range(0, len(x), batch):
            px = torch.from_numpy(normalize(x[i : i + batch]))
            outs, _ = greedy(model, tok, [p] * len(px), px, image_token_index)
            for o, yy in zip(outs, y[i : i + batch]):
                want = render.answers(*render.CLASSES[int(yy)])[k]
                correct += int(tok.decode(o) == want)
        res[k] = correct / len(x)
    return res
