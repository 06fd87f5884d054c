/**
 * The brief's recommended configurations as typed presets, plus mmrt's per-platform defaults
 * underneath them. Planning layers: base defaults < platform defaults < brief presets for the
 * model's table row < the model's `transformers.js_config` < the user's config.
 *
 * The brief writes them as Python dicts in snake_case; here they are camelCase
 * (`normalizeConfig` turns the brief's spelling into exactly these objects — tested).
 */
import { FAMILY_LAYOUTS, type ModelFamily } from '../package/families.js';
import type { PlatformName } from '../runtime/providers.js';
import type { BriefModel } from './compatibility.js';
import type { PlatformConfig } from './config-keys.js';

export interface Preset {
  readonly id: string;
  readonly title: string;
  readonly origin: 'brief' | 'mmrt';
  /** The model the brief wrote the configuration for. */
  readonly briefModelName?: string;
  readonly platform: PlatformName;
  /** Table rows it applies to. */
  readonly models: readonly BriefModel[];
  readonly config: PlatformConfig;
}

// The brief's LLaVA configurations also serve LLaVA-Next: same components, same levers.
const LLAVA: readonly BriefModel[] = ['LLaVA', 'LLaVA-Next'];
const BLIP: readonly BriefModel[] = ['BLIP/BLIP-2'];
const CLIP: readonly BriefModel[] = ['CLIP'];

export const BRIEF_PRESETS: readonly Preset[] = [
  {
    id: 'cuda-clip',
    title: 'CLIP on CUDA',
    origin: 'brief',
    briefModelName: 'openai/clip-vit-base-patch32',
    platform: 'cuda',
    models: CLIP,
    config: {
      precision: 'fp16',
      batchSize: 32,
      cudaOptimizationLevel: 'highest',
      parallelEncoderExecution: true,
    },
  },
  {
    id: 'cuda-llava',
    title: 'LLaVA on CUDA',
    origin: 'brief',
    briefModelName: 'llava-hf/llava-1.5-7b-hf',
    platform: 'cuda',
    models: LLAVA,
    config: {
      precision: 'int8',
      batchSize: 1,
      cudaOptimizationLevel: 'highest',
      visionPrecision: 'fp16',
      llmPrecision: 'int8',
      kvCacheEnabled: true,
      kvCacheMaxLength: 2048,
    },
  },
  {
    id: 'cuda-blip2',
    title: 'BLIP-2 on CUDA',
    origin: 'brief',
    briefModelName: 'Salesforce/blip2-opt-2.7b',
    platform: 'cuda',
    models: BLIP,
    config: {
      precision: 'fp16',
      batchSize: 4,
      cudaOptimizationLevel: 'highest',
      visionPrecision: 'fp16',
      textPrecision: 'fp16',
      parallelEncoderExecution: true,
    },
  },
  {
    id: 'rocm-clip',
    title: 'CLIP on ROCm',
    origin: 'brief',
    briefModelName: 'openai/clip-vit-base-patch32',
    platform: 'rocm',
    models: CLIP,
    config: {
      precision: 'fp16',
      batchSize: 16,
      rocmOptimizationLevel: 'high',
      parallelEncoderExecution: true,
    },
  },
  {
    id: 'rocm-blip',
    title: 'BLIP on ROCm',
    origin: 'brief',
    briefModelName: 'Salesforce/blip-image-captioning-base',
    platform: 'rocm',
    models: BLIP,
    config: {
      precision: 'fp16',
      batchSize: 4,
      rocmOptimizationLevel: 'high',
      parallelEncoderExecution: true,
    },
  },
  {
    id: 'mps-clip',
    title: 'CLIP on MPS',
    origin: 'brief',
    briefModelName: 'openai/clip-vit-base-patch32',
    platform: 'mps',
    models: CLIP,
    config: {
      precision: 'fp16',
      batchSize: 8,
      useMpsGraph: true,
      parallelEncoderExecution: true,
      powerEfficient: true,
    },
  },
  {
    id: 'mps-llava',
    title: 'LLaVA on MPS',
    origin: 'brief',
    briefModelName: 'llava-hf/llava-1.5-7b-hf',
    platform: 'mps',
    models: LLAVA,
    config: {
      precision: 'int8',
      batchSize: 1,
      useMpsGraph: true,
      visionPrecision: 'fp16',
      llmPrecision: 'int8',
      kvCacheEnabled: true,
      kvCacheMaxLength: 512,
    },
  },
  {
    id: 'qualcomm-clip',
    title: 'CLIP on Qualcomm',
    origin: 'brief',
    briefModelName: 'openai/clip-vit-base-patch32',
    platform: 'qualcomm',
    models: CLIP,
    config: {
      precision: 'int8',
      batchSize: 1,
      powerMode: 'efficient',
      hexagonEnabled: true,
      visionFeatureLevel: 'high',
    },
  },
  {
    id: 'qualcomm-blip',
    title: 'Small BLIP on Qualcomm',
    origin: 'brief',
    briefModelName: 'Salesforce/blip-image-captioning-base',
    platform: 'qualcomm',
    models: BLIP,
    config: {
      precision: 'int8',
      batchSize: 1,
      powerMode: 'efficient',
      hexagonEnabled: true,
      visionFeatureLevel: 'high',
      textPrecision: 'int8',
    },
  },
  {
    id: 'webnn-clip',
    title: 'CLIP on WebNN',
    origin: 'brief',
    briefModelName: 'openai/clip-vit-base-patch32',
    platform: 'webnn',
    models: CLIP,
    config: {
      precision: 'fp16',
      batchSize: 1,
      useWasmThreads: true,
      useSimd: true,
      parallelEncoderExecution: true,
    },
  },
  {
    id: 'webnn-blip',
    title: 'Tiny BLIP on WebNN',
    origin: 'brief',
    briefModelName: 'Salesforce/blip-image-captioning-base',
    platform: 'webnn',
    models: BLIP,
    config: {
      precision: 'fp16',
      batchSize: 1,
      useWasmThreads: true,
      useSimd: true,
      progressiveLoading: true,
    },
  },
  {
    id: 'webgpu-clip',
    title: 'CLIP on WebGPU',
    origin: 'brief',
    briefModelName: 'openai/clip-vit-base-patch32',
    platform: 'webgpu',
    models: CLIP,
    config: {
      precision: 'fp16',
      batchSize: 1,
      shaderPrecompile: true,
      optimizeForBrowser: 'auto',
      parallelLoading: true,
      computeShaderOptimizations: true,
    },
  },
  {
    id: 'webgpu-llava',
    title: 'Smaller LLaVA on WebGPU',
    origin: 'brief',
    briefModelName: 'llava-hf/llava-1.5-1.1b-hf',
    platform: 'webgpu',
    models: LLAVA,
    config: {
      precision: 'int8',
      batchSize: 1,
      shaderPrecompile: true,
      optimizeForBrowser: 'auto',
      parallelLoading: true,
      visionPrecision: 'int8',
      llmPrecision: 'int4',
      kvCacheEnabled: true,
      memoryEfficient: true,
    },
  },
  {
    id: 'webgpu-xclip',
    title: 'X-CLIP (video-text) on WebGPU',
    origin: 'brief',
    briefModelName: 'microsoft/xclip-base-patch32',
    platform: 'webgpu',
    models: ['X-CLIP'],
    config: {
      precision: 'fp16',
      batchSize: 1,
      shaderPrecompile: true,
      optimizeForBrowser: 'auto',
      parallelLoading: true,
      temporalResolution: 'low',
    },
  },
  {
    // The brief's MultimodalLoader example: the same LLaVA on WebGPU, decided per component.
    // Its precisions agree with 'webgpu-llava', so the two layer without conflict.
    id: 'webgpu-llava-loader',
    title: 'MultimodalLoader: LLaVA on WebGPU, per component',
    origin: 'brief',
    briefModelName: 'llava-hf/llava-1.5-7b-hf',
    platform: 'webgpu',
    models: LLAVA,
    config: {
      components: {
        vision_encoder: { precision: 'int8', loadStrategy: 'eager' },
        language_model: { precision: 'int4', loadStrategy: 'lazy' },
      },
    },
  },
];

/** mmrt's starting point on every platform (not in the brief): components load concurrently. */
export const BASE_DEFAULTS: PlatformConfig = {
  batchSize: 1,
  parallelLoading: true,
  progressiveLoading: false,
  memoryEfficient: false,
  graphCache: false,
};

/**
 * mmrt's per-family defaults, above the base and under everything else. Chat models create
 * their language model on first use: image features (and a cached second question) need only
 * the vision encoder, and the decoder is most of the load time. A captioner always needs its
 * decoder, so BLIP keeps it eager.
 */
export const FAMILY_DEFAULTS: Partial<Readonly<Record<ModelFamily, PlatformConfig>>> = {
  // Dual encoders alternate text and vision sessions on every call; with ORT's spinning, the idle
  // session's threads keep the cores busy while the other runs. Measured on ViT-B/32, 2 cores,
  // text then vision in turn: 43 + 58 ms spinning, 22 + 33 ms not (bench/results/clip.json).
  // Batches of 8 images: 15% more throughput than one at a time on ViT-B/32 (2 cores, CPU), and
  // the next chunk decodes while this one runs. (For decoders batch_size is prompts: left at 1.)
  clip: { threadSpinning: false, batchSize: 8 },
  siglip: { threadSpinning: false, batchSize: 8 },
  xclip: { threadSpinning: false },
  llava: { components: { language_model: { loadStrategy: 'lazy' } } },
  llava_next: { components: { language_model: { loadStrategy: 'lazy' } } },
};

/**
 * mmrt's per-platform defaults, under the brief's presets: the precision each platform runs
 * best (see PLATFORM_PRECISION_ORDER) and the platform levers that cost nothing.
 */
export const PLATFORM_DEFAULTS: Readonly<Record<PlatformName, PlatformConfig>> = {
  // fp32 on CPU: exact against the references, and ORT's CPU fp16 goes through casts.
  cpu: { precision: 'fp32' },
  // q8 on WASM: a quarter of the download and of the 4 GiB wasm32 heap (transformers.js does the same).
  wasm: { precision: 'q8', useWasmThreads: true, useSimd: true },
  cuda: { precision: 'fp16', cudaOptimizationLevel: 'highest' },
  rocm: { precision: 'fp16', rocmOptimizationLevel: 'high' },
  mps: { precision: 'fp16', useMpsGraph: true },
  openvino: { precision: 'fp16' },
  // HTP is an integer engine; balanced power until the user says otherwise.
  qualcomm: { precision: 'int8', hexagonEnabled: true, powerMode: 'balanced' },
  webnn: { precision: 'fp16', useWasmThreads: true, useSimd: true },
  webgpu: { precision: 'fp16' },
};

/** The brief presets for a family on a platform, in layering order. */
export function presetsFor(platform: PlatformName, family: ModelFamily): Preset[] {
  const row = FAMILY_LAYOUTS[family].briefModel;
  return BRIEF_PRESETS.filter((p) => p.platform === platform && p.models.includes(row));
}

export function presetById(id: string): Preset | undefined {
  return BRIEF_PRESETS.find((p) => p.id === id);
}
