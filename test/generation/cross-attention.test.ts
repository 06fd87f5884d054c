/**
 * The cross-attention decoder's protocol, against a fake merged seq2seq decoder that records its
 * feeds: the first step gets empty cross-attention inputs and use_cache_branch false, every later
 * step the first step's present.*.encoder.* back with use_cache_branch true (and does not fetch
 * the empty cross presents); a plain graph gets only encoder_hidden_states. Tokens go in as ids.
 */
import { Tensor } from 'onnxruntime-common';
import { describe, expect, it } from 'vitest';
import { ModelPackageError } from '../../src/errors.js';
import { CrossAttentionDecoder } from '../../src/generation/cross-attention-decoder.js';
import { runDecodeLoop } from '../../src/generation/loop.js';
import { generationDefaults, resolveGeneration } from '../../src/generation/options.js';
import { idsTokens } from '../../src/generation/step.js';
import { Session } from '../../src/runtime/session.js';
import { fakeOrt } from './fake-lm.js';

const VOCAB = 8;
const H = 2;
const D = 2;
const EOS = 7;

interface Call {
  readonly feeds: Record<string, Tensor>;
  readonly fetches?: readonly string[];
}

/** Next token = (sum of encoder states + number of positions) mod VOCAB; EOS after 4 steps. */
function fakeSession(merged: boolean, drop: readonly string[] = []) {
  const calls: Call[] = [];
  const self = merged
    ? ['past_key_values.0.decoder.key', 'past_key_values.0.decoder.value']
    : ['past_key_values.0.key', 'past_key_values.0.value'];
  const cross = merged ? ['past_key_values.0.encoder.key', 'past_key_values.0.encoder.value'] : [];
  const inputNames = [
    'input_ids',
    'attention_mask',
    'encoder_hidden_states',
    'encoder_attention_mask',
    ...self,
    ...cross,
    ...(merged ? ['use_cache_branch'] : []),
  ];
  const kept = inputNames.filter((n) => !drop.includes(n));
  const present = (n: string) => n.replace('past_key_values', 'present');
  const outputNames = ['logits', ...self.map(present), ...cross.map(present)];
  const raw = {
    inputNames: kept,
    outputNames,
    inputMetadata: kept.map((name) => ({
      name,
      isTensor: true,
      type:
        name.startsWith('past') || name === 'encoder_hidden_states'
          ? 'float32'
          : name === 'use_cache_branch'
            ? 'bool'
            : 'int64',
      shape: name.startsWith('past')
        ? ['batch_size', H, 'past_sequence_length', D]
        : ['batch_size', 'sequence_length'],
    })),
    outputMetadata: [],
    async run(feeds: Record<string, Tensor>, fetches?: string[]) {
      calls.push({ feeds, ...(fetches ? { fetches } : {}) });
      const [b, s] = feeds.input_ids!.dims as [number, number];
      const total = feeds.attention_mask!.dims[1]!;
      const enc = feeds.encoder_hidden_states!;
      const [, e] = enc.dims as [number, number, number];
      const sum = Array.from(enc.data as Float32Array).reduce((a, v) => a + v, 0) / b;
      const logits = new Float32Array(b * s * VOCAB);
      for (let r = 0; r < b; r++) {
        const next = total >= 5 ? EOS : Math.round(sum + total) % EOS;
        logits[(r * s + s - 1) * VOCAB + next] = 10;
      }
      const kv = (len: number) => new Tensor('float32', new Float32Array(b * H * len * D), [b, H, len, D]);
      const out: Record<string, Tensor> = { logits: new Tensor('float32', logits, [b, s, VOCAB]) };
      for (const n of self) out[present(n)] = kv(total);
      const reuse = merged && (feeds.use_cache_branch!.data as unknown as boolean[])[0];
      for (const n of cross) out[present(n)] = kv(reuse ? 0 : e);
      return out;
    },
    async release() {},
  };
  return { session: new Session(raw as never, 'text_decoder_model_merged', ['cpu'], 0), calls };
}

const defaults = generationDefaults(
  { eos_token_id: EOS, pad_token_id: 0, max_new_tokens: 10 },
  {
    text_config: { max_position_embeddings: 32 },
  },
);

async function generateWith(merged: boolean) {
  const fake = fakeSession(merged);
  const decoder = new CrossAttentionDecoder(fakeOrt, fake.session);
  const encoder = {
    data: Float32Array.from([0.5, 0.5, 1, 1, 0, 0]),
    batch: 1,
    length: 3,
    mask: BigInt64Array.from([1n, 1n, 0n]),
  };
  const out = await runDecodeLoop(
    decoder,
    {
      batch: 1,
      tokens: idsTokens([5, 6]),
      newLength: 2,
      newMask: BigInt64Array.from([1n, 1n]),
      cache: decoder.start(encoder),
      contextIds: [[5, 6]],
    },
    resolveGeneration({}, defaults),
    { next: async (ids) => idsTokens(ids), onToken: () => false },
  );
  return { decoder, out, calls: fake.calls };
}

describe('CrossAttentionDecoder', () => {
  it('computes cross-attention keys/values on the first step and feeds them back after', async () => {
    const { decoder, out, calls } = await generateWith(true);
    expect(decoder.reusesCrossAttention).toBe(true);
    expect(decoder.tokenInput).toBe('ids');
    expect(out.rows[0]!.tokens).toEqual([5, 6, 0, 7]);
    const [first, ...later] = calls;
    expect(Array.from(first!.feeds.use_cache_branch!.data as Uint8Array)).toEqual([0]);
    expect(first!.feeds['past_key_values.0.encoder.key']!.dims).toEqual([1, H, 0, D]);
    expect(first!.fetches).toBeUndefined();
    expect(first!.feeds.encoder_attention_mask!.data).toEqual(BigInt64Array.from([1n, 1n, 0n]));
    expect(later).toHaveLength(3);
    for (const c of later) {
      expect(Array.from(c.feeds.use_cache_branch!.data as Uint8Array)).toEqual([1]);
      expect(c.feeds['past_key_values.0.encoder.key']!.dims).toEqual([1, H, 3, D]);
      expect(c.fetches).toEqual(['logits', 'present.0.decoder.key', 'present.0.decoder.value']);
      expect(c.feeds.input_ids!.dims).toEqual([1, 1]);
    }
    // the self-attention cache grows; the cross one stays the first step's
    expect(later[1]!.feeds['past_key_values.0.decoder.key']!.dims).toEqual([1, H, 3, D]);
    expect(out.cache.cross!['past_key_values.0.encoder.value']!.dims).toEqual([1, H, 3, D]);
  });

  it('runs a plain graph (cross-attention recomputed) to the same tokens', async () => {
    const merged = await generateWith(true);
    const plain = await generateWith(false);
    expect(plain.decoder.reusesCrossAttention).toBe(false);
    expect(plain.out.rows).toEqual(merged.out.rows);
    for (const c of plain.calls) expect(c.feeds.encoder_hidden_states!.dims).toEqual([1, 3, 2]);
  });

  it('refuses a graph without encoder inputs, or with cross inputs but no use_cache_branch', () => {
    const noEncoder = fakeSession(false, ['encoder_hidden_states']).session;
    expect(() => new CrossAttentionDecoder(fakeOrt, noEncoder)).toThrow(ModelPackageError);
    const noFlag = fakeSession(true, ['use_cache_branch']).session;
    expect(() => new CrossAttentionDecoder(fakeOrt, noFlag)).toThrow(/use_cache_branch/);
  });
});
