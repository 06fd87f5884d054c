"""Whole-word WordPiece tokenizers for the shapes world, written as Hugging Face
`tokenizer.json` files, plus a pure-Python encoder that reproduces what
`@huggingface/tokenizers` (and Rust `tokenizers`) do with them.

Why WordPiece: `@huggingface/tokenizers` 0.2 has no WordLevel model. A WordPiece vocabulary
of whole words plus single characters (and their `##` continuations) gives one id per known
word and still spells out any unknown word, never an error.

Pipeline (same in Python here and in JS):
  added (special) tokens are split out first (not normalized),
  normalizer Lowercase, pre-tokenizer Whitespace (regex \\w+|[^\\w\\s]+),
  WordPiece greedy longest match (## continuation), unknown word -> unk,
  post-processor TemplateProcessing (CLIP: BOS $A EOS; VLM: $A only, the chat template
  writes the BOS itself), decoder WordPiece.
"""
from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass, field

_WS = re.compile(r"\w+|[^\w\s]+", re.ASCII)

CHARS = list(string.ascii_lowercase) + list(string.digits) + list(".,?!'-:;\"()/&")


@dataclass
class WordPieceTokenizer:
    vocab: dict[str, int]
    special: list[str]  # added special tokens, matched before normalization
    unk: str
    prefix_tokens: list[str] = field(default_factory=list)  # post-processor, single sequence
    suffix_tokens: list[str] = field(default_factory=list)
    max_chars: int = 100

    def __post_init__(self) -> None:
        self.inv = {i: t for t, i in self.vocab.items()}
        alts = sorted(self.special, key=len, reverse=True)
        self._split = re.compile("(" + "|".join(re.escape(t) for t in alts) + ")") if alts else None

    def _wordpiece(self, word: str) -> list[str]:
        if len(word) > self.max_chars:
            return [self.unk]
        out, start = [], 0
        while start < len(word):
            end, cur = len(word), None
            while start < end:
                sub = word[start:end]
                if start > 0:
                    sub = "##" + sub
                if sub in self.vocab:
                    cur = sub
                    break
                end -= 1
            if cur is None:
                return [self.unk]
            out.append(cur)
            start = end
        return out

    def tokenize(self, text: str, add_special_tokens: bool = True) -> list[str]:
        sections = self._split.split(text) if self._split else [text]
        toks: list[str] = []
        for sec in sections:
            if not sec:
                continue
            if sec in self.special:
                toks.append(sec)
                continue
            for w in _WS.findall(sec.lower()):
                toks.extend(self._wordpiece(w))
        if add_special_tokens:
            toks = self.prefix_tokens + toks + self.suffix_tokens
        return toks

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        return [self.vocab[t] for t in self.tokenize(text, add_special_tokens)]

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        toks = [self.inv[i] for i in ids]
        if skip_special_tokens:
            toks = [t for t in toks if t not in self.special]
        out = ""
        for i, t in enumerate(toks):
            if i > 0:
                out += t[2:] if t.startswith("##") else " " + t
            else:
                out += t
        # the WordPiece decoder's cleanup (subset that matters for our vocabulary)
        for a, b in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'")):
            out = out.replace(a, b)
        return out

    # ---- Hugging Face files -------------------------------------------------------------
    def tokenizer_json(self) -> dict:
        added = [
            {
                "id": self.vocab[t],
                "content": t,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
            for t in self.special
        ]
        added.sort(key=lambda a: a["id"])

        def tmpl(seqs: list[str]) -> list[dict]:
            items = [{"SpecialToken": {"id": t, "type_id": 0}} for t in self.prefix_tokens]
            for s in seqs:
                items.append({"Sequence": {"id": s, "type_id": 0}})
                items += [{"SpecialToken": {"id": t, "type_id": 0}} for t in self.suffix_tokens]
            return items

        used = list(dict.fromkeys(self.prefix_tokens + self.suffix_tokens))
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": added,
            "normalizer": {"type": "Lowercase"},
            "pre_tokenizer": {"type": "Whitespace"},
            "post_processor": {
                "type": "TemplateProcessing",
                "single": tmpl(["A"]),
                "pair": tmpl(["A", "B"]),
                # the special token's "id" field is the token string; "ids" holds the numbers
                "special_tokens": {t: {"id": t, "ids": [self.vocab[t]], "tokens": [t]} for t in used},
            },
            "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
            "model": {
                "type": "WordPiece",
                "unk_token": self.unk,
                "continuing_subword_prefix": "##",
                "max_input_chars_per_word": self.max_chars,
                "vocab": dict(sorted(self.vocab.items(), key=lambda kv: kv[1])),
            },
        }

    def added_tokens_decoder(self) -> dict:
        return {
            str(self.vocab[t]): {
                "content": t,
                "lstrip": False,
                "normalized": False,
                "rstrip": False,
                "single_word": False,
                "special": True,
            }
            for t in sorted(self.special, key=lambda t: self.vocab[t])
        }


def _build_vocab(head: list[str], words: list[str], tail: list[str], size: int | None = None) -> dict[str, int]:
    toks = list(head)
    seen = set(toks) | set(tail)
    for t in words + CHARS + ["##" + c for c in CHARS]:
        if t not in seen:
            toks.append(t)
            seen.add(t)
    if size is not None:
        # bench-size vocabularies: pad with synthetic whole words (never produced by our texts
        # unless typed) up to the real model's size
        i = 0
        while len(toks) + len(tail) < size:
            t = f"w{i:05d}"
            if t not in seen:
                toks.append(t)
            i += 1
        assert len(toks) + len(tail) == size, (len(toks), len(tail), size)
    toks += tail
    return {t: i for i, t in enumerate(toks)}


CLIP_WORDS = (
    "a an the of this is it photo picture image drawing shape colored coloured color colour "
    "red green blue yellow purple orange circle square triangle star "
    "big small large tiny one with on white background plain noisy"
).split()

CLIP_BOS, CLIP_EOS, CLIP_PAD, CLIP_UNK = "<|startoftext|>", "<|endoftext|>", "<pad>", "<unk>"


def clip_tokenizer(vocab_size: int | None = None) -> WordPieceTokenizer:
    """pad 0, unk 1, ..., BOS = V-2, EOS = V-1: EOS is the largest id, so argmax pooling
    (HF CLIP's legacy rule) and first-EOS pooling (its current rule) pick the same token, and
    pad id (0) <= eos id."""
    vocab = _build_vocab([CLIP_PAD, CLIP_UNK], CLIP_WORDS, [CLIP_BOS, CLIP_EOS], vocab_size)
    return WordPieceTokenizer(
        vocab=vocab,
        special=[CLIP_PAD, CLIP_UNK, CLIP_BOS, CLIP_EOS],
        unk=CLIP_UNK,
        prefix_tokens=[CLIP_BOS],
        suffix_tokens=[CLIP_EOS],
    )


VLM_PAD, VLM_BOS, VLM_EOS, VLM_UNK = "<pad>", "<s>", "</s>", "<unk>"
IMAGE_TOKEN, USER_TOKEN, ASSISTANT_TOKEN = "<image>", "<|user|>", "<|assistant|>"
VLM_WORDS = (
    "what which color colour is the shape this describe image picture of a an in it "
    "red green blue yellow purple orange circle square triangle star "
    "tell me please do you see there kind"
).split()


def vlm_tokenizer(vocab_size: int | None = None) -> WordPieceTokenizer:
    """<pad> 0, <s> 1, </s> 2, <unk> 3, <image> 4, <|user|> 5, <|assistant|> 6, words..."""
    specials = [VLM_PAD, VLM_BOS, VLM_EOS, VLM_UNK, IMAGE_TOKEN, USER_TOKEN, ASSISTANT_TOKEN]
    vocab = _build_vocab(specials, VLM_WORDS, [], vocab_size)
    return WordPieceTokenizer(vocab=vocab, special=specials, unk=VLM_UNK)


# The chat template (jinja, rendered by @huggingface/jinja in JS). Python has no jinja2 on
# these machines, so render_chat() below is its hand-written twin; the JS tests check that
# both produce the same string.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}{{ '<image>\\n' }}"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{% if message['role'] == 'assistant' %}{{ eos_token }}{% endif %}"
    "{{ '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)


def render_chat(messages: list[dict], add_generation_prompt: bool = True) -> str:
    out = VLM_BOS
    for m in messages:
        out += f"<|{m['role']}|>\n"
        if isinstance(m["content"], str):
            out += m["content"]
        else:
            for item in m["content"]:
                if item["type"] == "image":
                    out += "<image>\n"
                elif item["type"] == "text":
                    out += item["text"]
        if m["role"] == "assistant":
            out += VLM_EOS
        out += "\n"
    if add_generation_prompt:
        out += "<|assistant|>\n"
    return out


def write_json(path: str, obj: object) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write("\n")


# ---- BLIP (BERT-style: [CLS] $A [SEP], [DEC] starts the decoder) and BLIP-2 (OPT-style: </s> $A)
BLIP_PAD, BLIP_UNK, BLIP_CLS, BLIP_SEP, BLIP_MASK, BLIP_DEC, BLIP_ENC = (
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]", "[ENC]")
BLIP_WORDS = (
    "what which color colour is the shape this describe image picture photo of a an in it "
    "red green blue yellow purple orange circle square triangle star kind tell me do you see there"
).split()


def blip_tokenizer(vocab_size: int | None = None) -> WordPieceTokenizer:
    """[PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4, [DEC] 5 (bos), [ENC] 6, words... (BERT's
    post-processor; the BLIP decoder replaces [CLS] with [DEC] and stops at [SEP])."""
    specials = [BLIP_PAD, BLIP_UNK, BLIP_CLS, BLIP_SEP, BLIP_MASK, BLIP_DEC, BLIP_ENC]
    vocab = _build_vocab(specials, BLIP_WORDS, [], vocab_size)
    return WordPieceTokenizer(vocab=vocab, special=specials, unk=BLIP_UNK,
                              prefix_tokens=[BLIP_CLS], suffix_tokens=[BLIP_SEP])


OPT_BOS, OPT_PAD, OPT_EOS, OPT_UNK = "<s>", "<pad>", "</s>", "<unk>"
OPT_WORDS = (
    "question answer what which color colour is the shape this describe image picture photo of a an in it "
    "red green blue yellow purple orange circle square triangle star kind tell me do you see there"
).split()


def opt_tokenizer(vocab_size: int | None = None) -> WordPieceTokenizer:
    """<s> 0, <pad> 1, </s> 2, <unk> 3, words... As OPT's tokenizer, every text starts with </s>
    (bos = eos = 2)."""
    specials = [OPT_BOS, OPT_PAD, OPT_EOS, OPT_UNK]
    vocab = _build_vocab(specials, OPT_WORDS, [], vocab_size)
    return WordPieceTokenizer(vocab=vocab, special=specials, unk=OPT_UNK, prefix_tokens=[OPT_EOS])
