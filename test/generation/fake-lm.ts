/**
 * A deterministic stand-in for an ONNX merged decoder, for unit tests of the generation core:
 * it has the real input/output names and cache shapes, honours the attention mask, and its
 * next token depends on every unmasked token in context (so a wrong cache, mask or position
 * changes the output). Token t embeds as [t, 1, 0, 0].
 */
import { Tensor } from 'onnxruntime-common';
import type { OrtModule } from '../../src/host/host.js';
import { Session } from '../../src/runtime/session.js';

export const VOCAB = 12;
export const HIDDEN = 4;

export const fakeOrt = {
  Tensor,
  InferenceSession: {
    create: async () => {
      throw new Error('no');
    },
  },
  env: {},
} as unknown as OrtModule;

export function embedIds(ids: readonly number[]): Float32Array {
  const out = new Float32Array(ids.length * HIDDEN);
  ids.forEach((id, i) => {
    out[i * HIDDEN] = id;
    out[i * HIDDEN + 1] = 1;
  });
  return out;
}

export interface FakeDecoderOptions {
  /** Next token from the sum of context token ids and the context length. */
  rule?: (sum: number, count: number, lastPosition: number) => number;
  withLogitsToKeep?: boolean;
}

export function fakeDecoderSession(opts: FakeDecoderOptions = {}): {
  session: Session;
  runs: () => number;
  positionsSeen: bigint[][];
} {
  const rule = opts.rule ?? ((sum, count) => (sum * 7 + count * 3) % VOCAB);
  let runs = 0;
  const positionsSeen: bigint[][] = [];
  const inputNames = [
    'inputs_embeds',
    'attention_mask',
    'position_ids',
    'past_key_values.0.key',
    'past_key_values.0.value',
  ];
  if (opts.withLogitsToKeep) inputNames.push('num_logits_to_keep');
  const raw = {
    inputNames,
    outputNames: ['logits', 'present.0.key', 'present.0.value'],
    inputMetadata: inputNames.map((name) => ({
      name,
      isTensor: true,
      type:
        name === 'attention_mask' || name === 'position_ids' || name === 'num_logits_to_keep'
          ? 'int64'
          : 'float32',
      shape: name.startsWith('past')
        ? ['batch_size', 1, 'past_sequence_length', HIDDEN]
        : ['batch_size', 'sequence_length', HIDDEN],
    })),
    outputMetadata: [],
    async run(feeds: Record<string, Tensor>) {
      runs++;
      const emb = feeds.inputs_embeds!;
      const [b, s] = emb.dims as [number, number, number];
      const pk = feeds['past_key_values.0.key']!;
      const p = pk.dims[2]!;
      const t = p + s;
      const mask = feeds.attention_mask!.data as BigInt64Array;
      if (mask.length !== b * t) throw new Error(`mask ${mask.length} != ${b}x${t}`);
      const pos = feeds.position_ids!.data as BigInt64Array;
      positionsSeen.push(Array.from(pos));
      const key = new Float32Array(b * t * HIDDEN);
      const pkd = pk.data as Float32Array;
      const ed = emb.data as Float32Array;
      for (let r = 0; r < b; r++) {
        key.set(pkd.subarray(r * p * HIDDEN, (r + 1) * p * HIDDEN), r * t * HIDDEN);
        key.set(ed.subarray(r * s * HIDDEN, (r + 1) * s * HIDDEN), (r * t + p) * HIDDEN);
      }
      const logits = new Float32Array(b * VOCAB);
      for (let r = 0; r < b; r++) {
        let sum = 0;
        let count = 0;
        for (let j = 0; j < t; j++) {
          if (mask[r * t + j] === 0n) continue;
          sum += key[(r * t + j) * HIDDEN]!;
          count++;
        }
        const target = rule(sum, count, Number(pos[r * s + s - 1]));
        // A peaked but smooth distribution, so sampling has something to choose from.
        for (let v = 0; v < VOCAB; v++) logits[r * VOCAB + v] = -(((v - target + VOCAB) % VOCAB) * 0.7);
      }
      const kv = () => new Tensor('float32', key.slice(), [b, 1, t, HIDDEN]);
      return {
        logits: new Tensor('float32', logits, [b, 1, VOCAB]),
        'present.0.key': kv(),
        'present.0.value': kv(),
      };
    },
    async release() {},
  };
  return {
    session: new Session(raw as never, 'decoder_model_merged', ['cpu'], 0),
    runs: () => runs,
    positionsSeen,
  };
}
