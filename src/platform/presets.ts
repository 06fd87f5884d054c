/**
 * The brief's recommended configurations as typed presets, plus mmrt's per-platform defaults
 * underneath them. Planning layers: base defaults < platform defaults < brief presets for the
 * model's table row < the model's `transformers.js_config` < the user's config.
 *
 * The brief writes them as Python dicts in snake_case; here they are camelCase
 * (`normalizeConfig` turns the brief's spelling into exactly these objects — tested).
 */
import type { Architecture } from '../package/family-spec.js';
import type { PlatformName } from '../runtime/providers.js';
import type { PlatformConfig } from './config-keys.js';

export interface Preset {
  readonly id: string;
  readonly title: string;
  readonly origin: 'brief' | 'mmrt';
  /** The model the guide wrote the configuration for. */
  readonly exampleModel?: string;
  readonly platform: PlatformName;
  /** Table rows (architectures) it applies to. */
  readonly architectures: readonly Architecture[];
  readonly config: PlatformConfig;
}

// The brief's LLaVA configurations also serve LLaVA-Next: same components, same levers.
const LLAVA: readonly Architecture[] = ['LLaVA', 'LLaVA-Next'];
const BLIP: readonly Architecture[] = ['BLIP/BLIP-2'];
const CLIP: readonly Architecture[] = ['CLIP'];

/** The optimization guide's recommended configurations, one per platform and architecture. */
export const RECOMMENDED_CONFIGS: readonly Preset[] = [
  {
    id: 'cuda-clip',
    title: 'CLIP on CUDA',
    origin: 'brief',
    exampleModel: 'openai/clip-vit-base-patch32',
    platform: 'cuda',
    architectures: CLIP,
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
    exampleModel: 'llava-hf/llava-1.5-7b-hf',
    platform: 'cuda',
    architectures: LLAVA,
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
    exampleModel: 'Salesforce/blip2-opt-2.7b',
    platform: 'cuda',
    architectures: BLIP,
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
    exampleModel: 'openai/clip-vit-base-patch32',
    platform: 'rocm',
    architectures: CLIP,
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
    exampleModel: 'Salesforce/blip-image-captioning-base',
    platform: 'rocm',
    architectures: BLIP,
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
    exampleModel: 'openai/clip-vit-base-patch32',
    platform: 'mps',
    architectures: CLIP,
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
    exampleModel: 'llava-hf/llava-1.5-7b-hf',
    platform: 'mps',
    architectures: LLAVA,
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
    exampleModel: 'openai/clip-vit-base-patch32',
    platform: 'qualcomm',
    architectures: CLIP,
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
    exampleModel: 'Salesforce/blip-image-captioning-base',
    platform: 'qualcomm',
    architectures: BLIP,
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
    exampleModel: 'openai/clip-vit-base-patch32',
    platform: 'webnn',
    architectures: CLIP,
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
    exampleModel: 'Salesforce/blip-image-captioning-base',
    platform: 'webnn',
    architectures: BLIP,
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
    exampleModel: 'openai/clip-vit-base-patch32',
    platform: 'webgpu',
    architectures: CLIP,
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
    exampleModel: 'llava-hf/llava-1.5-1.1b-hf',
    platform: 'webgpu',
    architectures: LLAVA,
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
    exampleModel: 'microsoft/xclip-base-patch32',
    platform: 'webgpu',
    architectures: ['X-CLIP'],
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
    exampleModel: 'llava-hf/llava-1.5-7b-hf',
    platform: 'webgpu',
    architectures: LLAVA,
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

/** The recommended configurations for an architecture on a platform, in layering order. */
export function presetsFor(platform: PlatformName, architecture: Architecture): Preset[] {
  return RECOMMENDED_CONFIGS.filter((p) => p.platform === platform && p.architectures.includes(architecture));
}

export function presetById(id: string): Preset | undefined {
  return RECOMMENDED_CONFIGS.find((p) => p.id === id);
}
