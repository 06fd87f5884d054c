/** Token choice: HF's processors and warpers, and a seeded generator that reproduces runs. */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { generationDefaults, resolveGeneration } from '../../src/generation/options.js';
import { createRng } from '../../src/generation/prng.js';
import {
  applyRepetitionPenalty,
  argmax,
  samplingDistribution,
  sampleToken,
} from '../../src/generation/sampling.js';

const sample = (temperature = 1, topK = 0, topP = 1) => ({
  kind: 'sample' as const,
  temperature,
  topK,
  topP,
  seed: 1,
});

describe('token choice', () => {
  it('argmax takes the first maximum, as torch.argmax', () => {
    expect(argmax(Float32Array.of(1, 3, 3, 2))).toBe(1);
  });

  it('repetition penalty divides positive and multiplies negative logits of seen tokens', () => {
    const l = Float32Array.of(2, -2, 1);
    applyRepetitionPenalty(l, new Set([0, 1]), 2);
    expect(Array.from(l)).toEqual([1, -4, 1]);
  });

  it('top-k keeps the k best, top-p the smallest set reaching p, renormalized', () => {
    const logits = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)]);
    const k2 = samplingDistribution(logits, sample(1, 2));
    expect(Array.from(k2.ids)).toEqual([0, 1]);
    expect(k2.probs[0]).toBeCloseTo(0.5 / 0.8, 6);
    const p = samplingDistribution(logits, sample(1, 0, 0.8));
    expect(Array.from(p.ids)).toEqual([0, 1]); // 0.5 + 0.3 reaches 0.8
    const p2 = samplingDistribution(logits, sample(1, 0, 0.81));
    expect(Array.from(p2.ids)).toEqual([0, 1, 2]);
    const all = samplingDistribution(logits, sample());
    expect(all.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(all.probs[3]).toBeCloseTo(0.05, 6);
  });

  it('temperature sharpens or flattens the distribution', () => {
    const logits = Float32Array.of(2, 1, 0);
    const cold = samplingDistribution(logits, sample(0.25));
    const hot = samplingDistribution(logits, sample(4));
    expect(cold.probs[0]).toBeGreaterThan(0.98);
    expect(hot.probs[0]).toBeLessThan(0.45);
  });

  it('a seed reproduces the draws; another seed gives other draws; frequencies follow the distribution', () => {
    const logits = Float32Array.from([0, 0.5, 1, 1.5, 2].map((x) => x));
    const draw = (seed: number) => {
      const rng = createRng(seed);
      return Array.from({ length: 2000 }, () => sampleToken(logits, sample(), rng));
    };
    const a = draw(42);
    expect(draw(42)).toEqual(a);
    expect(draw(43)).not.toEqual(a);
    const { probs } = samplingDistribution(logits, sample());
    for (let i = 0; i < 5; i++) expect(a.filter((x) => x === i).length / a.length).toBeCloseTo(probs[i]!, 1);
  });

  it('streams of one seed differ per row and seeds above 2^32 are not folded together', () => {
    const first = (seed: number, stream = 0) => createRng(seed, stream)();
    expect(first(7, 0)).not.toBe(first(7, 1));
    expect(first(5)).not.toBe(first(5 + 2 ** 32));
  });
});

describe('generation options', () => {
  const defaults = generationDefaults(
    { eos_token_id: [2, 9], max_new_tokens: 16, pad_token_id: 0 },
    { text_config: { max_position_embeddings: 64, eos_token_id: 2 } },
  );

  it('reads defaults from generation_config.json and the text config', () => {
    expect(defaults).toMatchObject({
      maxNewTokens: 16,
      eosIds: [2, 9],
      padId: 0,
      maxPositions: 64,
      repetitionPenalty: 1,
    });
    const r = resolveGeneration({}, defaults);
    expect(r.choice).toEqual({ kind: 'greedy' });
    expect([...r.stopIds]).toEqual([2, 9]);
    expect(r.kvCacheMaxLength).toBe(64);
    const s = resolveGeneration({ sampling: { temperature: 0.7 } }, defaults);
    expect(s.choice.kind).toBe('sample');
    expect(Number.isInteger((s.choice as { seed: number }).seed)).toBe(true);
    const g = generationDefaults({ do_sample: true, temperature: 0.5, top_k: 3 }, {});
    expect(resolveGeneration({}, g).choice).toMatchObject({
      kind: 'sample',
      temperature: 0.5,
      topK: 3,
      topP: 1,
    });
    expect(resolveGeneration({ sampling: false }, g).choice).toEqual({ kind: 'greedy' });
  });

  it('rejects invalid values with a typed error naming the option', () => {
    const bad: Array<[object, string]> = [
      [{ maxNewTokens: 0 }, 'maxNewTokens'],
      [{ sampling: { temperature: 0 } }, 'temperature'],
      [{ sampling: { topP: 1.5 } }, 'topP'],
      [{ sampling: { topK: -1 } }, 'topK'],
      [{ repetitionPenalty: 0 }, 'repetitionPenalty'],
      [{ stopStrings: [''] }, 'stopStrings'],
      [{ kvCacheMaxLength: 65 }, 'max_position_embeddings'],
    ];
    for (const [opts, word] of bad) {
      try {
        resolveGeneration(opts, defaults);
        expect.unreachable(JSON.stringify(opts));
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        expect((e as InputError).code).toBe('INPUT_INVALID');
        expect((e as Error).message).toContain(word);
      }
    }
  });
});
