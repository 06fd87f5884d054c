"""Training of the tiny BLIP (captioning), BLIP VQA and BLIP-2 on the shapes world.

- BLIP captioning (BlipForConditionalGeneration): ViT and BERT-style decoder with cross-attention
  trained together from scratch on "a red circle" (from [DEC]), and on the same caption after a
  prompt ("a picture of", ...; the loss skips the prompt, as BLIP's fine-tuning does).
- BLIP VQA (BlipForQuestionAnswering): the caption model's tower, frozen; a question encoder
  (bidirectional, cross-attending the image) and an answer decoder (cross-attending the question
  states), both started from the caption decoder's weights, trained on the three questions and
  paraphrases of them.
- BLIP-2 (Blip2ForConditionalGeneration): the caption model's tower, frozen (as BLIP-2 freezes
  its ViT); learned queries, a Q-Former, the projection and an OPT-style decoder trained on
  captions, prompted captions and "Question: ... Answer:" prompts.

Images go through BlipImageProcessor's preprocessing (resize to 64x64, aspect not kept).
"""
from __future__ import annotations

import math
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

import render
from blip_models import (
    Blip,
    Blip2,
    BlipTextCfg,
    BlipVisionCfg,
    BlipVisionModel,
    OptCfg,
    QFormerCfg,
    blip_vision_to_blip2,
)
from preprocess import normalize
from tok import WordPieceTokenizer

CAPTION_PROMPTS = ["a picture of", "a photo of", "an image of"]
QUESTION_KEYS = ["color", "shape", "describe"]
PARAPHRASES = {
    "color": [render.QUESTIONS["color"], "what colour is the shape?", "which color is it?",
              "what color is this shape?", "what is the color of the shape?"],
    "shape": [render.QUESTIONS["shape"], "what is the shape?", "which shape is it?",
              "what kind of shape is this?", "what shape do you see?"],
    "describe": [render.QUESTIONS["describe"], "describe this picture.", "what is in the image?",
                 "tell me what you see."],
}
BLIP2_QUESTION = "Question: {} Answer:"


def augment(xb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random 90-degree turns and flips (class-preserving: shapes are rotated anyway)."""
    out = xb.copy()
    for i in range(len(out)):
        img = np.rot90(out[i], int(rng.integers(4)))
        if rng.random() < 0.5:
            img = img[:, ::-1]
        out[i] = img
    return out


def schedule(opt, steps: int):
    warm = max(1, steps // 20)
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps))))


def adamw(params, lr: float):
    params = [p for p in params if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    rest = [p for p in params if p.ndim < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": rest, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.98)), params


@torch.no_grad()
def hf_init(module: torch.nn.Module, std: float = 0.02) -> None:
    """BlipPreTrainedModel._init_weights: normal(0, 0.02) weights, zero biases, unit LayerNorms."""
    for m in module.modules():
        if isinstance(m, (torch.nn.Linear, torch.nn.Embedding, torch.nn.Conv2d)):
            torch.nn.init.normal_(m.weight, std=std)
            if getattr(m, "bias", None) is not None:
                torch.nn.init.zeros_(m.bias)
        elif isinstance(m, torch.nn.LayerNorm):
            torch.nn.init.ones_(m.weight)
            torch.nn.init.zeros_(m.bias)


def pad_right(seqs: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    n = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), n), pad, dtype=torch.long)
    mask = torch.zeros(len(seqs), n, dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, : len(s)] = torch.tensor(s)
        mask[r, : len(s)] = 1
    return ids, mask


def lm_loss(logits: torch.Tensor, ids: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Position t predicts token t+1; `target` marks the tokens that count."""
    lg = logits[:, :-1][target[:, 1:]]
    lab = ids[:, 1:][target[:, 1:]]
    return F.cross_entropy(lg, lab), (lg.argmax(-1) == lab).float().mean().item()


def caption_words(tok: WordPieceTokenizer, text: str) -> list[int]:
    return tok.encode(text, add_special_tokens=False)


# ------------------------------------------------------------------------------ captioning
def caption_example(tok: WordPieceTokenizer, tc: BlipTextCfg, color: str, shape: str, rng: random.Random):
    """[DEC] (prompt) caption [SEP]; targets: the caption and [SEP]."""
    prompt = caption_words(tok, rng.choice(CAPTION_PROMPTS)) if rng.random() < 0.5 else []
    cap = caption_words(tok, render.caption(color, shape)) + [tc.sep_token_id]
    ids = [tc.bos_token_id] + prompt + cap
    return ids, [0] * (1 + len(prompt)) + [1] * len(cap)


def train_blip_caption(x: np.ndarray, y: np.ndarray, tok: WordPieceTokenizer, vc: BlipVisionCfg, tc: BlipTextCfg,
                       steps: int = 3000, per_class: int = 4, lr: float = 2e-3, seed: int = 0,
                       log_every: int = 250) -> Blip:
    """Caption loss plus, for the tower, a 24-way class head on the CLS embedding used in
    training only (BLIP pretrains its ViT with an image-text contrastive loss; over the shapes
    world's 24 captions that is this classification). Batches hold `per_class` images of each
    class, as the CLIP's do."""
    torch.manual_seed(seed)
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    model = Blip(vc, tc)
    hf_init(model)
    head = torch.nn.Linear(vc.hidden_size, len(render.CLASSES))
    opt, params = adamw([*model.parameters(), *head.parameters()], lr)
    sched = schedule(opt, steps)
    by_class = [np.flatnonzero(y == c) for c in range(len(render.CLASSES))]
    t0 = time.time()
    model.train()
    for step in range(steps):
        idx = np.concatenate([nrng.choice(ix, per_class, replace=False) for ix in by_class])
        px = torch.from_numpy(normalize(augment(x[idx], nrng)))
        exs = [caption_example(tok, tc, *render.CLASSES[int(y[i])], rng) for i in idx]
        ids, am = pad_right([e[0] for e in exs], tc.pad_token_id)
        tgt, _ = pad_right([e[1] for e in exs], 0)
        emb = model.vision_model(px)
        ones = torch.ones(emb.shape[:2], dtype=torch.long)
        logits, _, _ = model.text_decoder(ids, am, ones, emb)
        loss, acc = lm_loss(logits, ids, tgt.bool())
        cls_logits = head(emb[:, 0])
        labels = torch.from_numpy(y[idx])
        loss = loss + F.cross_entropy(cls_logits, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        if (step + 1) % log_every == 0 or step == 0:
            cacc = (cls_logits.argmax(-1) == labels).float().mean().item()
            print(f"  blip caption step {step + 1}/{steps} loss {loss.item():.4f} token-acc {acc:.3f} "
                  f"class-acc {cacc:.3f} ({time.time() - t0:.0f}s)", flush=True)
    model.eval()
    return model


@torch.no_grad()
def image_embeds(tower: BlipVisionModel, x_u8: np.ndarray, batch: int = 256) -> torch.Tensor:
    return torch.cat([tower(torch.from_numpy(normalize(x_u8[i : i + batch]))) for i in range(0, len(x_u8), batch)])


def frozen_views(tower: BlipVisionModel, x: np.ndarray) -> list[torch.Tensor]:
    """Image embeds of the training set, plus a flipped and a turned copy (the frozen tower's
    features are computed once)."""
    t0 = time.time()
    views = [image_embeds(tower, x), image_embeds(tower, np.ascontiguousarray(x[:, :, ::-1])),
             image_embeds(tower, np.ascontiguousarray(np.rot90(x, 1, (1, 2))))]
    print(f"  image embeds for {len(x)} x {len(views)} views in {time.time() - t0:.0f}s", flush=True)
    return views


# ------------------------------------------------------------------------------------- VQA
def vqa_example(tok: WordPieceTokenizer, tc: BlipTextCfg, color: str, shape: str, rng: random.Random):
    k = rng.choice(QUESTION_KEYS)
    q = tok.encode(rng.choice(PARAPHRASES[k]))  # [CLS] question [SEP], as BlipProcessor
    a = caption_words(tok, render.answers(color, shape)[k]) + [tc.sep_token_id]
    return q, [tc.bos_token_id] + a, [0] + [1] * len(a)


def train_blip_vqa(cap: Blip, x: np.ndarray, y: np.ndarray, tok: WordPieceTokenizer, steps: int = 1200,
                   batch: int = 96, lr: float = 1.5e-3, seed: int = 0, log_every: int = 200) -> Blip:
    torch.manual_seed(seed)
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    vc, tc = cap.vision_model.cfg, cap.text_decoder.cfg
    model = Blip(vc, tc, vqa=True)
    model.vision_model.load_state_dict(cap.vision_model.state_dict())
    model.text_decoder.load_state_dict(cap.text_decoder.state_dict())
    model.text_encoder.load_state_dict(cap.text_decoder.bert.state_dict())
    for p in model.vision_model.parameters():
        p.requires_grad_(False)
    views = frozen_views(model.vision_model, x)
    opt, params = adamw(model.parameters(), lr)
    sched = schedule(opt, steps)
    t0 = time.time()
    model.train()
    for step in range(steps):
        idx = nrng.integers(0, len(x), batch)
        view = nrng.integers(0, len(views), batch)
        emb = torch.stack([views[v][i] for v, i in zip(view, idx)])
        exs = [vqa_example(tok, tc, *render.CLASSES[int(y[i])], rng) for i in idx]
        q, qm = pad_right([e[0] for e in exs], tc.pad_token_id)
        a, am = pad_right([e[1] for e in exs], tc.pad_token_id)
        tgt, _ = pad_right([e[2] for e in exs], 0)
        states = model.encode_question(q, qm, emb)
        logits, _, _ = model.text_decoder(a, am, qm, states)
        loss, acc = lm_loss(logits, a, tgt.bool())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        if (step + 1) % log_every == 0 or step == 0:
            print(f"  blip vqa step {step + 1}/{steps} loss {loss.item():.4f} token-acc {acc:.3f} "
                  f"({time.time() - t0:.0f}s)", flush=True)
    model.eval()
    return model


# ----------------------------------------------------------------------------------- BLIP-2
def blip2_prompt(task: str, question: str | None = None) -> str:
    if task == "caption":
        return ""
    if task == "prompted":
        return question or ""
    return BLIP2_QUESTION.format(question)


def blip2_example(tok: WordPieceTokenizer, oc: OptCfg, color: str, shape: str, rng: random.Random):
    """OPT-style: </s> prompt answer </s>; the query features go before it."""
    r = rng.random()
    if r < 0.3:
        prompt, answer = "", render.caption(color, shape)
    elif r < 0.45:
        prompt, answer = rng.choice(CAPTION_PROMPTS), render.caption(color, shape)
    else:
        k = rng.choice(QUESTION_KEYS)
        prompt, answer = BLIP2_QUESTION.format(rng.choice(PARAPHRASES[k])), render.answers(color, shape)[k]
    p = tok.encode(prompt)  # [</s>] + prompt
    a = tok.encode(answer, add_special_tokens=False) + [oc.eos_token_id]
    return p + a, [0] * len(p) + [1] * len(a)


def blip2_from(cap: Blip, qc: QFormerCfg, oc: OptCfg, num_query_tokens: int) -> Blip2:
    vc = BlipVisionCfg(**{**cap.vision_model.cfg.__dict__, "qkv_bias_split": True})
    model = Blip2(vc, qc, oc, num_query_tokens)
    blip_vision_to_blip2(cap.vision_model, model.vision_model)
    return model


def train_blip2(cap: Blip, x: np.ndarray, y: np.ndarray, tok: WordPieceTokenizer, qc: QFormerCfg, oc: OptCfg,
                num_query_tokens: int = 8, steps: int = 1500, batch: int = 96, lr: float = 2e-3, seed: int = 0,
                log_every: int = 250) -> Blip2:
    torch.manual_seed(seed)
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    model = blip2_from(cap, qc, oc, num_query_tokens)
    for p in model.vision_model.parameters():
        p.requires_grad_(False)
    for mod in [model.qformer, model.language_projection, model.language_model]:
        hf_init(mod)
    views = frozen_views(model.vision_model, x)
    opt, params = adamw(model.parameters(), lr)
    sched = schedule(opt, steps)
    lm = model.language_model
    t0 = time.time()
    model.train()
    nq = num_query_tokens
    for step in range(steps):
        idx = nrng.integers(0, len(x), batch)
        view = nrng.integers(0, len(views), batch)
        emb = torch.stack([views[v][i] for v, i in zip(view, idx)])
        feats = model.query_features(emb)
        exs = [blip2_example(tok, oc, *render.CLASSES[int(y[i])], rng) for i in idx]
        ids, am = pad_right([e[0] for e in exs], oc.pad_token_id)
        tgt, _ = pad_right([e[1] for e in exs], 0)
        embeds = torch.cat([feats, model.embed(ids)], 1)
        mask = torch.cat([torch.ones(batch, nq, dtype=torch.long), am], 1)
        logits, _ = lm(embeds, mask)
        loss, acc = lm_loss(logits[:, nq:], ids, tgt.bool())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        if (step + 1) % log_every == 0 or step == 0:
            print(f"  blip-2 step {step + 1}/{steps} loss {loss.item():.4f} token-acc {acc:.3f} "
                  f"({time.time() - t0:.0f}s)", flush=True)
    model.eval()
    return model


# ------------------------------------------------------------------------- greedy decoding
@torch.no_grad()
def blip_greedy(model: Blip, enc: torch.Tensor, enc_mask: torch.Tensor, prompt: list[int], max_new_tokens: int = 16):
    """The runtime's procedure with the exported graphs' semantics: the prompt in one step that
    computes the cross-attention keys/values, then one token per step reusing them. Every row
    shares `prompt`. Returns the new tokens per row (up to and including [SEP]) and the first
    step's last-position logits."""
    dec = model.text_decoder
    tc = dec.cfg
    b = enc.shape[0]
    ids = torch.tensor([prompt] * b)
    am = torch.ones_like(ids)
    logits, past, cross = dec(ids, am, enc_mask, enc)
    first = logits[:, -1].clone()
    out: list[list[int]] = [[] for _ in range(b)]
    done = [False] * b
    for _ in range(max_new_tokens):
        nxt = logits[:, -1].argmax(-1)
        for r in range(b):
            if not done[r]:
                out[r].append(int(nxt[r]))
                done[r] = int(nxt[r]) == tc.sep_token_id
        if all(done):
            break
        nxt = torch.where(torch.tensor(done), torch.full_like(nxt, tc.pad_token_id), nxt)
        am = torch.cat([am, torch.ones(b, 1, dtype=torch.long)], 1)
        logits, past, _ = dec(nxt[:, None], am, enc_mask, None, cross, past)
    return out, first


@torch.no_grad()
def blip2_greedy(model: Blip2, feats: torch.Tensor, prompt: list[int], max_new_tokens: int = 16):
    lm = model.language_model
    oc = lm.cfg
    b, nq = feats.shape[0], feats.shape[1]
    ids = torch.tensor([prompt] * b)
    embeds = torch.cat([feats, model.embed(ids)], 1)
    am = torch.ones(b, embeds.shape[1], dtype=torch.long)
    logits, past = lm(embeds, am, None, torch.tensor(1))
    first = logits[:, -1].clone()
    out: list[list[int]] = [[] for _ in range(b)]
    done = [False] * b
    for _ in range(max_new_tokens):
        nxt = logits[:, -1].argmax(-1)
        for r in range(b):
            if not done[r]:
                out[r].append(int(nxt[r]))
                done[r] = int(nxt[r]) == oc.eos_token_id
        if all(done):
            break
        nxt = torch.where(torch.tensor(done), torch.full_like(nxt, oc.pad_token_id), nxt)
        am = torch.cat([am, torch.ones(b, 1, dtype=torch.long)], 1)
        logits, past = lm(model.embed(nxt[:, None]), am, past, torch.tensor(1))
    return out, first


def caption_ok(text: str, color: str, shape: str) -> bool:
    return color in text.split() and shape in text.split()


@torch.no_grad()
def blip_caption_accuracy(model: Blip, tok: WordPieceTokenizer, x: np.ndarray, y: np.ndarray,
                          batch: int = 160) -> dict[str, float]:
    tc = model.text_decoder.cfg
    res = {}
    for name, prompt in [("unconditional", []), ("prompt 'a picture of'", caption_words(tok, "a picture of"))]:
        exact = named = 0
        for i in range(0, len(x), batch):
            emb = model.vision_model(torch.from_numpy(normalize(x[i : i + batch])))
            outs, _ = blip_greedy(model, emb, torch.ones(emb.shape[:2], dtype=torch.long), [tc.bos_token_id] + prompt)
            for o, yy in zip(outs, y[i : i + batch]):
                c, s = render.CLASSES[int(yy)]
                text = tok.decode(o)
                exact += int(text == render.caption(c, s))
                named += int(caption_ok(text, c, s))
        res[name] = {"exact": exact / len(x), "names colour and shape": named / len(x)}
    return res


@torch.no_grad()
def blip_vqa_accuracy(model: Blip, tok: WordPieceTokenizer, x: np.ndarray, y: np.ndarray,
                      batch: int = 160) -> dict[str, float]:
    tc = model.text_decoder.cfg
    res = {}
    for k in QUESTION_KEYS:
        q = tok.encode(render.QUESTIONS[k])
        correct = 0
        for i in range(0, len(x), batch):
            emb = model.vision_model(torch.from_numpy(normalize(x[i : i + batch])))
            b = emb.shape[0]
            qi, qm = torch.tensor([q] * b), torch.ones(b, len(q), dtype=torch.long)
            states = model.encode_question(qi, qm, emb)
            outs, _ = blip_greedy(model, states, qm, [tc.bos_token_id])
            for o, yy in zip(outs, y[i : i + batch]):
                correct += int(tok.decode(o) == render.answers(*render.CLASSES[int(yy)])[k])
        res[k] = correct / len(x)
    return res


@torch.no_grad()
def blip2_accuracy(model: Blip2, tok: WordPieceTokenizer, x: np.ndarray, y: np.ndarray,
                   batch: int = 160) -> dict[str, float]:
    res = {}
    tasks = [("caption", tok.encode(""), "describe")] + [
        (k, tok.encode(BLIP2_QUESTION.format(render.QUESTIONS[k])), k) for k in QUESTION_KEYS]
    for name, prompt, key in tasks:
        correct = 0
        for i in range(0, len(x), batch):
            emb = model.vision_model(torch.from_numpy(normalize(x[i : i + batch])))
            outs, _ = blip2_greedy(model, model.query_features(emb), prompt)
            for o, yy in zip(outs, y[i : i + batch]):
                correct += int(tok.decode(o) == render.answers(*render.CLASSES[int(yy)])[key])
        res[name] = correct / len(x)
    return res
