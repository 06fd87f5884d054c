/** Text generation over ONNX decoders with a KV cache: host-free, model-family agnostic. */
export {
  CrossAttentionDecoder,
  EncoderDecoderCache,
  type EncoderStates,
} from './cross-attention-decoder.js';
export { CausalDecoder, type ForwardInput, type ForwardOutput } from './decoder.js';
export { floatToHalf, halfToFloat } from './float16.js';
export {
  type GenerateArgs,
  type GenerateOutcome,
  type GenerationResult,
  type GenerationTimings,
  generate,
  type TokenUsage,
} from './generate.js';
export {
  type DecodeFn,
  findStop,
  IncrementalText,
  partialStopLength,
  type PushResult,
} from './incremental-text.js';
export { type FeatureSpan, type FeatureVectors, scatterFeatures, TokenEmbedder } from './inputs-embeds.js';
export { KvCache, type KvDtype, type KvEntry, type KvLayout, kvLayoutOf } from './kv-cache.js';
export {
  contextOverflow,
  type FinishReason,
  type LoopCallbacks,
  type LoopOutcome,
  type PrefillRequest,
  type RowOutcome,
  runDecodeLoop,
} from './loop.js';
export {
  type GenerationDefaults,
  type GenerationOptions,
  generationDefaults,
  type ResolvedGeneration,
  resolveGeneration,
} from './options.js';
export { appendOnes, concatMasks, positionIds } from './positions.js';
export { createRng, randomSeed, type Rng } from './prng.js';
export {
  applyRepetitionPenalty,
  argmax,
  type SamplingOptions,
  samplingDistribution,
  sampleToken,
  type TokenChoice,
} from './sampling.js';
export {
  type DecoderCache,
  idsTokens,
  lastLogits,
  type StepDecoder,
  type StepInput,
  type StepOutput,
  type StepTokens,
} from './step.js';
export { BatchTextStream, type IndexedDelta, TextStream } from './text-stream.js';
export * from './openai.js';
