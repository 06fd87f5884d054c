/**
 * Memory estimate of a plan, before anything is loaded. Documented formula (all in bytes):
 *
 *   weights     = Σ over components of the chosen variant's file sizes (graph + external data):
 *                 ONNX Runtime holds the initializers roughly once in memory.
 *   kvCache     = 2 (K and V) × layers × kvHeads × headDim × maxLength × batch × bytesPerValue
 *                 for decoder families with the cache on; bytesPerValue is 2 when the decoder
 *                 variant computes in fp16 (fp16, q4f16), else 4. layers/kvHeads/headDim come
 *                 from `text_config` (num_hidden_layers, num_key_value_heads or
 *                 num_attention_heads, head_dim or hidden_size / num_attention_heads).
 *   activations = peak over the components that run one after another; encoders that run in
 *                 parallel (`parallel_encoder_execution`) add up. One component's peak is
 *                   batch' × (tokens × (intermediate + 3 × hidden) + heads × tokens²) × bytesPerValue
 *                 (hidden states, Q/K/V, the MLP's wide layer and one layer's attention scores),
 *                 plus, for decoders, the prefill logits batch × tokens × vocab × 4. tokens is
 *                 (image_size / patch_size)² + 1 for image encoders, max_position_embeddings for
 *                 text encoders, maxLength for decoders (an upper bound: a full-length prefill),
 *                 num_query_tokens for a Q-Former; batch' is batch × frames for video encoders.
 *   total       = weights + kvCache + activations
 *
 * A field missing from config.json takes CLIP ViT-B/32's value (224 px, patch 32, hidden 768,
 * 12 heads, 77 text tokens). It is an estimate for choosing precisions and budgets, not a promise.
 */
import type { ComponentVariant, Json } from '../package/describe.js';
import type { ComponentSpec, StageKind } from '../package/family-spec.js';
import { type ModelDims, type TowerDims, jsonObject, positive } from '../package/model-config.js';
import { HALF_ACTIVATION } from './precision-map.js';

export interface MemoryComponent {
  readonly name: string;
  readonly spec: ComponentSpec;
  readonly variant: ComponentVariant;
}

export interface MemoryInputs {
  /** config.json's geometry (`ModelPackage.dims`). */
  readonly dims: ModelDims;
  readonly preprocessorConfig?: Json;
  readonly components: readonly MemoryComponent[];
  readonly batchSize: number;
  /** Decoder families with the KV cache on. */
  readonly kvCache?: { readonly maxLength: number };
  /** Longest sequence a decoder prefills (maxLength, with or without a cache). */
  readonly decoderTokens: number;
  /** Video families: frames per clip. */
  readonly frames?: number;
  readonly parallelEncoders: boolean;
}

export interface ComponentMemory {
  readonly weightsBytes: number;
  readonly activationBytes: number;
}

export interface MemoryEstimate {
  readonly weightsBytes: number;
  readonly kvCacheBytes: number;
  readonly activationBytes: number;
  /** ONNX Runtime itself: environment, thread pools, arenas, kernel registries (see RUNTIME_BYTES). */
  readonly runtimeBytes: number;
  readonly totalBytes: number;
  readonly components: Readonly<Record<string, ComponentMemory>>;
  /** What the KV-cache number was computed from, or why it is 0. */
  readonly kvCacheNote: string;
}

interface Shape {
  readonly tokens: number;
  readonly hidden: number;
  readonly intermediate: number;
  readonly heads: number;
  readonly vocab?: number;
  readonly batchFactor: number;
}

function imageSize(dims: ModelDims, pre: Json | undefined): number {
  const crop = jsonObject(pre?.crop_size);
  const size = jsonObject(pre?.size);
  return (
    dims.vision.imageSize ??
    positive(crop.height) ??
    positive(size.height) ??
    positive(size.shortest_edge) ??
    224
  );
}

/** Tokens and widths of one stage, from config.json (see the formula above). */
function stageShape(kind: Exclude<StageKind, 'image+text'>, inp: MemoryInputs): Shape {
  const widths = (o: TowerDims, hidden0: number, heads0: number) => {
    const hidden = o.hidden ?? hidden0;
    return { hidden, intermediate: o.intermediate ?? 4 * hidden, heads: o.heads ?? heads0 };
  };
  const { text, vision, qformer } = inp.dims;
  switch (kind) {
    case 'image': {
      const side = Math.floor(imageSize(inp.dims, inp.preprocessorConfig) / (vision.patchSize ?? 32));
      return { tokens: side * side + 1, ...widths(vision, 768, 12), batchFactor: inp.frames ?? 1 };
    }
    case 'text':
      return { tokens: text.maxPositions ?? 77, ...widths(text, 512, 8), batchFactor: 1 };
    case 'queries':
      return { tokens: qformer.queryTokens ?? 32, ...widths(qformer, 768, 12), batchFactor: 1 };
    case 'decoder':
    case 'embed':
      return {
        tokens: inp.decoderTokens,
        ...widths(text, 4096, 32),
        vocab: text.vocab ?? 32000,
        batchFactor: 1,
      };
  }
}

function stageBytes(kind: Exclude<StageKind, 'image+text'>, inp: MemoryInputs, bytes: number): number {
  const s = stageShape(kind, inp);
  const b = inp.batchSize * s.batchFactor;
  if (kind === 'embed') return b * s.tokens * s.hidden * bytes;
  const layer = b * (s.tokens * (s.intermediate + 3 * s.hidden) + s.heads * s.tokens * s.tokens) * bytes;
  const logits = kind === 'decoder' ? b * s.tokens * (s.vocab ?? 0) * 4 : 0;
  return layer + logits;
}

function activationOf(c: MemoryComponent, inp: MemoryInputs): number {
  const bytes = HALF_ACTIVATION.has(c.variant.precision) ? 2 : 4;
  if (c.spec.stage === 'image+text') {
    const both = stageBytes('image', inp, bytes) + stageBytes('text', inp, bytes);
    // One graph runs its two towers one after another unless told otherwise.
    return inp.parallelEncoders
      ? both
      : Math.max(stageBytes('image', inp, bytes), stageBytes('text', inp, bytes));
  }
  return stageBytes(c.spec.stage, inp, bytes);
}

function kvCache(inp: MemoryInputs): { bytes: number; note: string } {
  if (!inp.kvCache)
    return { bytes: 0, note: 'no KV cache (not a decoder family, or kv_cache_enabled is false)' };
  const decoder = inp.components.find((c) => c.spec.stage === 'decoder');
  const { layers, kvHeads, headDim } = inp.dims.text;
  if (!decoder || !layers || !kvHeads || !headDim) {
    return { bytes: 0, note: 'KV cache not estimated: text_config lacks num_hidden_layers / head counts' };
  }
  const per = HALF_ACTIVATION.has(decoder.variant.precision) ? 2 : 4;
  const bytes = 2 * layers * kvHeads * headDim * inp.kvCache.maxLength * inp.batchSize * per;
  return {
    bytes,
    note: `2 × ${layers} layers × ${kvHeads} kv heads × ${headDim} head dim × ${inp.kvCache.maxLength} tokens × batch ${inp.batchSize} × ${per} B`,
  };
}

/**
 * What ONNX Runtime costs before any weight: measured with onnxruntime-node 1.30 on CPU as the
 * resident-set growth for the tiny shapes models (1-2 MiB of weights, 2-3 sessions, one
 * request): 41-42 MiB (`npm run bench -- memory`). Rounded to a base plus a per-session share.
 */
export const RUNTIME_BYTES = { base: 30 * 1024 * 1024, perSession: 4 * 1024 * 1024 } as const;

export function estimateMemory(inp: MemoryInputs): MemoryEstimate {
  const components: Record<string, ComponentMemory> = {};
  let weights = 0;
  let sequentialPeak = 0;
  let parallelSum = 0;
  for (const c of inp.components) {
    const act = activationOf(c, inp);
    components[c.name] = { weightsBytes: c.variant.totalBytes, activationBytes: act };
    weights += c.variant.totalBytes;
    const isEncoder = c.spec.stage === 'image' || c.spec.stage === 'text';
    if (inp.parallelEncoders && isEncoder) parallelSum += act;
    else sequentialPeak = Math.max(sequentialPeak, act);
  }
  const activations = Math.max(sequentialPeak, parallelSum);
  const kv = kvCache(inp);
  const runtime = RUNTIME_BYTES.base + RUNTIME_BYTES.perSession * inp.components.length;
  return {
    weightsBytes: weights,
    kvCacheBytes: kv.bytes,
    activationBytes: activations,
    runtimeBytes: runtime,
    totalBytes: weights + kv.bytes + activations + runtime,
    components,
    kvCacheNote: kv.note,
  };
}
