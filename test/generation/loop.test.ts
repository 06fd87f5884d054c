/**
 * The decode loop against a deterministic fake decoder (fake-lm.ts): the cached loop must
 * give what recomputing the whole context each step gives; left-padded batches must give each
 * row's solo result; the cache bound, stop ids and abort behave as documented.
 */
import { describe, expect, it } from 'vitest';
import { GenerationError, MmrtError } from '../../src/errors.js';
import { CausalDecoder } from '../../src/generation/decoder.js';
import { generate } from '../../src/generation/generate.js';
import { KvCache } from '../../src/generation/kv-cache.js';
import { runDecodeLoop } from '../../src/generation/loop.js';
import { generationDefaults, resolveGeneration } from '../../src/generation/options.js';
import { positionIds } from '../../src/generation/positions.js';
import { embedIds, fakeDecoderSession, fakeOrt, HIDDEN, VOCAB } from './fake-lm.js';

const EOS = 11;
const defaults = generationDefaults(
  { eos_token_id: EOS, pad_token_id: 0, max_new_tokens: 8 },
  { text_config: { max_position_embeddings: 64 } },
);

function decoderOf(opts = {}) {
  const fake = fakeDecoderSession(opts);
  return { decoder: new CausalDecoder(fakeOrt, fake.session), fake };
}

/** Left-padded prompts as embeddings, from an empty cache of `decoder`. */
function request(prompts: number[][], decoder: CausalDecoder) {
  const width = Math.max(...prompts.map((p) => p.length));
  const ids: number[] = [];
  const mask = new BigInt64Array(prompts.length * width);
  prompts.forEach((p, r) => {
    ids.push(...new Array(width - p.length).fill(0), ...p);
    mask.fill(1n, r * width + width - p.length, (r + 1) * width);
  });
  return {
    batch: prompts.length,
    tokens: { kind: 'embeds' as const, data: embedIds(ids) },
    newLength: width,
    newMask: mask,
    cache: decoder.emptyCache(prompts.length),
    contextIds: prompts,
  };
}

const callbacks = (batch: number) => ({
  next: async (ids: readonly number[]) => {
    expect(ids.length).toBe(batch);
    return { kind: 'embeds' as const, data: embedIds(ids) };
  },
  onToken: () => false,
});

/** Reference: the fake's rule applied to the growing sequence, no cache. */
function naive(
  prompt: number[],
  n: number,
  rule = (sum: number, count: number) => (sum * 7 + count * 3) % VOCAB,
): number[] {
  const seq = [...prompt];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = rule(
      seq.reduce((a, b) => a + b, 0),
      seq.length,
    );
    out.push(t);
    if (t === EOS) break;
    seq.push(t);
  }
  return out;
}

describe('decode loop', () => {
  it('matches a cache-free recomputation and feeds HF position ids', async () => {
    const { decoder, fake } = decoderOf();
    const prompt = [3, 1, 4, 1, 5];
    const out = await runDecodeLoop(
      decoder,
      request([prompt], decoder),
      resolveGeneration({ maxNewTokens: 6 }, defaults),
      callbacks(1),
    );
    expect(out.rows[0]!.tokens).toEqual(naive(prompt, 6));
    expect(fake.positionsSeen[0]).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect(fake.positionsSeen[1]).toEqual([5n]);
    // the cache holds the prompt and every generated token but the last
    expect(out.cache.length).toBe(prompt.length + out.rows[0]!.tokens.length - 1);
  });

  it('gives each row of a left-padded batch its solo result, finished rows padded along', async () => {
    const prompts = [[2, 7], [5, 5, 5, 1, 9], [4]];
    const opts = resolveGeneration({ maxNewTokens: 7 }, defaults);
    const { decoder, fake } = decoderOf();
    const batch = await runDecodeLoop(decoder, request(prompts, decoder), opts, callbacks(3));
    // HF positions: padding gets 1, real tokens count from 0
    expect(fake.positionsSeen[0]).toEqual([1n, 1n, 1n, 0n, 1n, 0n, 1n, 2n, 3n, 4n, 1n, 1n, 1n, 1n, 0n]);
    for (const [i, p] of prompts.entries()) {
      const soloDecoder = decoderOf().decoder;
      const solo = await runDecodeLoop(soloDecoder, request([p], soloDecoder), opts, callbacks(1));
      expect(batch.rows[i]!.tokens).toEqual(solo.rows[0]!.tokens);
      expect(batch.rows[i]!.tokens).toEqual(naive(p, 7));
    }
  });

  it('stops on EOS ids, extra stop ids and maxNewTokens with the matching reason', async () => {
    // rule: always the token after the last count -> a predictable ramp
    const ramp = (_s: number, count: number) => (count + 6) % VOCAB;
    const { decoder } = decoderOf({ rule: ramp });
    const eos = await runDecodeLoop(
      decoder,
      request([[1, 1]], decoder),
      resolveGeneration({ maxNewTokens: 10 }, defaults),
      callbacks(1),
    );
    expect(eos.rows[0]).toEqual({ tokens: [8, 9, 10, 11], finishReason: 'eos' });
    const extra = await runDecodeLoop(
      decoder,
      request([[1, 1]], decoder),
      resolveGeneration({ maxNewTokens: 10, stopTokenIds: [9] }, defaults),
      callbacks(1),
    );
    expect(extra.rows[0]).toEqual({ tokens: [8, 9], finishReason: 'eos' });
    const max = await runDecodeLoop(
      decoder,
      request([[1, 1]], decoder),
      resolveGeneration({ maxNewTokens: 2 }, defaults),
      callbacks(1),
    );
    expect(max.rows[0]).toEqual({ tokens: [8, 9], finishReason: 'max_new_tokens' });
  });

  it('refuses a prompt over kvCacheMaxLength before running, and stops at a full cache', async () => {
    const { decoder, fake } = decoderOf({ rule: () => 3 });
    const opts = resolveGeneration({ maxNewTokens: 50, kvCacheMaxLength: 6 }, defaults);
    await expect(
      runDecodeLoop(decoder, request([[1, 2, 3, 4, 5, 6, 7]], decoder), opts, callbacks(1)),
    ).rejects.toSatisfy(
      (e: unknown) =>
        e instanceof GenerationError &&
        e.code === 'CONTEXT_OVERFLOW' &&
        /7 positions.*kvCacheMaxLength 6/.test(e.message),
    );
    expect(fake.runs()).toBe(0);
    const full = await runDecodeLoop(decoder, request([[1, 2, 3, 4]], decoder), opts, callbacks(1));
    expect(full.rows[0]!.finishReason).toBe('context_full');
    expect(full.cache.length).toBe(6);
    expect(full.rows[0]!.tokens.length).toBe(3); // 4 prompt + 2 fed + 1 last
  });

  it('aborts between steps with a typed error', async () => {
    const { decoder } = decoderOf({ rule: () => 3 });
    const ac = new AbortController();
    let n = 0;
    const p = runDecodeLoop(
      decoder,
      request([[1]], decoder),
      resolveGeneration({ maxNewTokens: 50, signal: ac.signal }, defaults),
      {
        next: async (ids) => ({ kind: 'embeds' as const, data: embedIds(ids) }),
        onToken: () => {
          if (++n === 3) ac.abort();
          return false;
        },
      },
    );
    await expect(p).rejects.toSatisfy((e: unknown) => e instanceof MmrtError && e.code === 'ABORTED');
  });

  it('sampling with a seed is reproducible, another seed differs', async () => {
    const { decoder } = decoderOf();
    const run = async (seed: number) =>
      (
        await runDecodeLoop(
          decoder,
          request([[1, 2, 3]], decoder),
          resolveGeneration(
            { maxNewTokens: 8, stopTokenIds: [], sampling: { seed, temperature: 1.5 } },
            { ...defaults, eosIds: [] },
          ),
          callbacks(1),
        )
      ).rows[0]!.tokens;
    const a = await run(1);
    expect(await run(1)).toEqual(a);
    const others = await Promise.all([2, 3, 4].map(run));
    expect(others.some((o) => o.join() !== a.join())).toBe(true);
  });

  it('generate() reports usage and timings and streams per row', async () => {
    const { decoder } = decoderOf({ rule: (_s: number, count: number) => (count % 2 === 1 ? 1 : 2) });
    const deltas: string[] = [];
    const { results } = await generate({
      decoder,
      request: request([[5, 5, 5]], decoder),
      options: resolveGeneration({ maxNewTokens: 5, stopStrings: ['ba'] }, { ...defaults, eosIds: [] }),
      next: async (ids) => ({ kind: 'embeds' as const, data: embedIds(ids) }),
      decode: (ids) => ids.map((i) => 'xab'[i] ?? '?').join(''),
      startedAt: performance.now(),
      promptTokens: [3],
      cachedTokens: [0],
      emit: (_r, d) => deltas.push(d),
    });
    const r = results[0]!;
    expect(r.text).toBe('a'); // "ab" then "a" -> "aba" contains the stop string "ba"
    expect(r.finishReason).toBe('stop_string');
    expect(deltas.join('')).toBe('a');
    expect(r.usage).toEqual({ promptTokens: 3, cachedTokens: 0, prefillTokens: 3, generatedTokens: 3 });
    expect(r.timings.timeToFirstTokenMs).toBeGreaterThanOrEqual(r.timings.prefillMs);
    expect(r.seed).toBeUndefined();
  });
});

describe('KV cache and positions', () => {
  it('builds an empty cache from input metadata and truncates along the position axis', () => {
    const { decoder } = decoderOf();
    const empty = decoder.emptyCache(2);
    expect(empty.length).toBe(0);
    expect(empty.feeds()['past_key_values.0.key']!.dims).toEqual([2, 1, 0, HIDDEN]);
    const data = Float32Array.from({ length: 2 * 1 * 3 * HIDDEN }, (_, i) => i);
    const { Tensor } = fakeOrt;
    const full = KvCache.fromOutputs(
      decoder.layout,
      {
        'present.0.key': new Tensor('float32', data, [2, 1, 3, HIDDEN]),
        'present.0.value': new Tensor('float32', data, [2, 1, 3, HIDDEN]),
      },
      3,
      2,
    );
    const cut = full.truncate(fakeOrt, 1);
    expect(cut.length).toBe(1);
    expect(Array.from(cut.feeds()['past_key_values.0.key']!.data as Float32Array)).toEqual([
      0, 1, 2, 3, 12, 13, 14, 15,
    ]);
    expect(cut.bytes).toBe(8 * 4 * 2);
  });

  it('position ids count real tokens; padding gets 1', () => {
    const mask = BigInt64Array.from([0n, 0n, 1n, 1n, 1n, 1n, 1n, 1n]);
    expect(Array.from(positionIds(mask, 4, 4, 2))).toEqual([1n, 1n, 0n, 1n, 0n, 1n, 2n, 3n]);
    expect(Array.from(positionIds(mask, 4, 1, 2))).toEqual([1n, 3n]);
  });
});
