/**
 * The shapes tokenizers give, in JS, exactly the ids the PyTorch side used (tools/shapes/tok.py):
 * `@huggingface/tokenizers` directly and through `@huggingface/transformers`.
 */
import { AutoTokenizer, env } from '@huggingface/transformers';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { type ClipReference, MODELS, readJson, type VlmReference } from './reference.js';

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = `${MODELS}/`;

const tokenizer = (folder: string) =>
  new Tokenizer(
    readJson(folder, 'tokenizer.json') as object,
    readJson(folder, 'tokenizer_config.json') as object,
  );

describe('shapes-clip tokenizer', () => {
  const ref = readJson<ClipReference>('shapes-clip', 'reference.json');
  const cfg = readJson<Record<string, unknown>>('shapes-clip', 'tokenizer_config.json');
  const model = readJson<{ text_config: Record<string, number> }>('shapes-clip', 'config.json');

  it('@huggingface/tokenizers encodes the reference texts to the PyTorch ids (BOS ... EOS)', () => {
    const tok = tokenizer('shapes-clip');
    ref.texts.forEach((text, i) => {
      const n = ref.attention_mask[i]!.reduce((a, b) => a + b, 0);
      expect(tok.encode(text).ids).toEqual(ref.input_ids[i]!.slice(0, n));
    });
    ref.labels.forEach((label, i) => {
      expect(tok.encode(label).ids).toEqual(ref.label_input_ids[i]);
    });
  });

  it('special tokens: pad <= eos, eos is the largest id (argmax pooling), max length', () => {
    const tok = tokenizer('shapes-clip');
    const tc = model.text_config;
    expect(tok.token_to_id(cfg.bos_token as string)).toBe(tc.bos_token_id);
    expect(tok.token_to_id(cfg.eos_token as string)).toBe(tc.eos_token_id);
    expect(tok.token_to_id(cfg.pad_token as string)).toBe(tc.pad_token_id);
    expect(tc.pad_token_id!).toBeLessThanOrEqual(tc.eos_token_id!);
    expect(tc.eos_token_id).toBe(tc.vocab_size! - 1);
    expect(cfg.model_max_length).toBe(tc.max_position_embeddings);
    expect(tok.decode(ref.input_ids[0]!, { skip_special_tokens: true })).toBe(ref.texts[0]);
  });

  it('@huggingface/transformers pads a batch to the same ids and mask', async () => {
    const tok = await AutoTokenizer.from_pretrained('shapes-clip');
    const enc = tok(ref.texts, { padding: true, truncation: true });
    expect(enc.input_ids.tolist().map((r: bigint[]) => r.map(Number))).toEqual(ref.input_ids);
    expect(enc.attention_mask.tolist().map((r: bigint[]) => r.map(Number))).toEqual(ref.attention_mask);
  });
});

describe('shapes-vlm tokenizer and chat template', () => {
  const ref = readJson<VlmReference>('shapes-vlm', 'reference.json');
  const proc = readJson<{ image_token: string }>('shapes-vlm', 'processor_config.json');
  const expand = (prompt: string) =>
    prompt.replace(proc.image_token, proc.image_token.repeat(ref.num_image_tokens));

  it('@huggingface/tokenizers encodes each reference prompt to the PyTorch ids', () => {
    const tok = tokenizer('shapes-vlm');
    for (const c of ref.cases) {
      expect(tok.encode(expand(c.prompt), { add_special_tokens: false }).ids).toEqual(c.input_ids);
      expect(tok.decode(c.generated_ids, { skip_special_tokens: true })).toBe(c.generated_text);
    }
    expect(tok.token_to_id(proc.image_token)).toBe(ref.image_token_index);
  });

  it('the jinja chat template renders the same prompts as the Python side', async () => {
    const tok = await AutoTokenizer.from_pretrained('shapes-vlm');
    for (const c of ref.cases) {
      const text = tok.apply_chat_template(c.messages as never, {
        add_generation_prompt: true,
        tokenize: false,
      });
      expect(text).toBe(c.prompt);
    }
    // and the ids the processor path produces (add_special_tokens defaults to true: no extra BOS)
    const c = ref.cases[0]!;
    const enc = tok(expand(c.prompt));
    expect(enc.input_ids.tolist()[0].map(Number)).toEqual(c.input_ids);
  });
});
