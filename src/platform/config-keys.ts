/**
 * Every configuration key the platform accepts: the brief's keys (camelCase in TypeScript, the
 * brief's snake_case accepted too) and mmrt's own few. Each key says what values it takes,
 * which platforms and families it affects and what it turns into, so validation, the
 * "no effect here" warnings, `mmrt explain` and the docs all read one table.
 */
import type { FamilyTrait } from '../package/family-spec.js';
import { PLATFORMS, type PlatformName } from '../runtime/providers.js';
import { REQUESTABLE_PRECISIONS, type RequestedPrecision } from './precision-map.js';

export const OPTIMIZATION_LEVELS = ['none', 'basic', 'extended', 'high', 'highest'] as const;
export type OptimizationLevel = (typeof OPTIMIZATION_LEVELS)[number];
export const POWER_MODES = ['efficient', 'balanced', 'performance'] as const;
export type PowerMode = (typeof POWER_MODES)[number];
export const FEATURE_LEVELS = ['low', 'medium', 'high'] as const;
export type FeatureLevel = (typeof FEATURE_LEVELS)[number];
export const WEBNN_DEVICE_TYPES = ['cpu', 'gpu', 'npu'] as const;
export type WebnnDeviceType = (typeof WEBNN_DEVICE_TYPES)[number];
export const LOAD_STRATEGIES = ['eager', 'lazy'] as const;
export type LoadStrategy = (typeof LOAD_STRATEGIES)[number];

/** Per-component settings (the brief's MultimodalLoader sections). */
export interface ComponentConfig {
  precision?: RequestedPrecision;
  /** true = load with the model (`loadStrategy: 'eager'`), false = on first use. */
  preload?: boolean;
  loadStrategy?: LoadStrategy;
}

export interface PlatformConfig {
  precision?: RequestedPrecision;
  batchSize?: number;
  cudaOptimizationLevel?: OptimizationLevel;
  rocmOptimizationLevel?: OptimizationLevel;
  parallelEncoderExecution?: boolean;
  visionPrecision?: RequestedPrecision;
  textPrecision?: RequestedPrecision;
  llmPrecision?: RequestedPrecision;
  kvCacheEnabled?: boolean;
  kvCacheMaxLength?: number;
  useMpsGraph?: boolean;
  powerEfficient?: boolean;
  powerMode?: PowerMode;
  hexagonEnabled?: boolean;
  visionFeatureLevel?: FeatureLevel;
  useWasmThreads?: boolean;
  useSimd?: boolean;
  progressiveLoading?: boolean;
  shaderPrecompile?: boolean;
  optimizeForBrowser?: 'auto' | boolean;
  parallelLoading?: boolean;
  computeShaderOptimizations?: boolean;
  memoryEfficient?: boolean;
  /** 'low' | 'medium' | 'high' or a frame count. */
  temporalResolution?: FeatureLevel | number;
  /** mmrt: bytes, or a string like '2GB' / '512MiB'. */
  memoryBudget?: number | string;
  /** mmrt: intra-op threads (default: every logical core). */
  numThreads?: number;
  /** mmrt (Node): keep ORT's optimized graphs on disk and load them next time. */
  graphCache?: boolean;
  /**
   * mmrt (Node): let idle intra-op threads spin-wait for work (ORT's default). Off, a session
   * that just finished gives its cores back at once to the next one (see FAMILY_DEFAULTS).
   */
  threadSpinning?: boolean;
  /** mmrt (WebNN): the MLContext device; default the first the browser offers of gpu, npu, cpu. */
  webnnDeviceType?: WebnnDeviceType;
  /** Per-component sections, keyed by component name or section alias (`vision_encoder`, `language_model`, `text_encoder`). */
  components?: Record<string, ComponentConfig>;
}

export type ConfigKey = Exclude<keyof PlatformConfig, 'components'>;
export type ComponentKey = keyof ComponentConfig;

export type ValueType =
  | { readonly kind: 'boolean' }
  | { readonly kind: 'enum'; readonly values: ReadonlyArray<string | boolean> }
  | { readonly kind: 'precision' }
  | { readonly kind: 'int'; readonly min: number; readonly max?: number }
  | { readonly kind: 'bytes' }
  | { readonly kind: 'level-or-int'; readonly values: readonly string[]; readonly min: number };

export interface ConfigKeySpec {
  readonly name: string;
  /** The brief's spelling. */
  readonly snake: string;
  readonly type: ValueType;
  /** Platforms where the key changes something. */
  readonly platforms: readonly PlatformName[];
  /** Families where it changes something: every family, or those with this trait. */
  readonly families: FamilyTrait | 'any';
  /** What it turns into, in one line (shown by `mmrt explain` and in warnings). */
  readonly mapsTo: string;
  /** Named in the brief, or mmrt's own addition. */
  readonly origin: 'brief' | 'mmrt';
}

const ALL = PLATFORMS;
const ANY = 'any';
const DUAL_ENCODER_FAMILIES = 'dual-encoder';
const DECODER_FAMILIES = 'generates';
const VIDEO_FAMILIES = 'video';
const BOOL = { kind: 'boolean' } as const;
const PRECISION = { kind: 'precision' } as const;
const LEVEL = { kind: 'enum', values: OPTIMIZATION_LEVELS } as const;
/** Platforms whose ORT is onnxruntime-web, where unsupported ops run on the WASM kernels. */
const WEB_ORT: readonly PlatformName[] = ['wasm', 'webnn', 'webgpu'];
/** Where mmrt's Node host creates sessions from files it can cache. */
const NODE_PLATFORMS: readonly PlatformName[] = [
  'cpu',
  'cuda',
  'rocm',
  'mps',
  'openvino',
  'qualcomm',
  'webgpu',
];
const WITH_TEXT = 'text';

// Generic over the spelling and the value type so the registry keeps them as literal types:
// `ConfigInput` below is computed from it.
function spec<const S extends string, const T extends ValueType>(
  name: ConfigKey,
  snake: S,
  type: T,
  platforms: readonly PlatformName[],
  families: FamilyTrait | 'any',
  mapsTo: string,
  origin: 'brief' | 'mmrt' = 'brief',
): ConfigKeySpec & { readonly snake: S; readonly type: T } {
  return { name, snake, type, platforms, families, mapsTo, origin };
}

export const CONFIG_KEYS = {
  precision: spec(
    'precision',
    'precision',
    PRECISION,
    ALL,
    ANY,
    'file variant of every component without a more specific precision (fp16 -> *_fp16.onnx, int8 -> *_quantized/_int8/_uint8, int4 -> *_q4/_q4f16/_bnb4)',
  ),
  batchSize: spec(
    'batchSize',
    'batch_size',
    { kind: 'int', min: 1, max: 4096 },
    ALL,
    ANY,
    'family plan batch size (inputs per run); activation memory estimate; pinned batch dimension on webgpu',
  ),
  cudaOptimizationLevel: spec(
    'cudaOptimizationLevel',
    'cuda_optimization_level',
    LEVEL,
    ['cuda'],
    ANY,
    'graphOptimizationLevel (none=disabled, basic, extended, high/highest=all) + CUDA EP cudnn_conv_algo_search (highest=EXHAUSTIVE, high/extended=HEURISTIC, else DEFAULT)',
  ),
  rocmOptimizationLevel: spec(
    'rocmOptimizationLevel',
    'rocm_optimization_level',
    LEVEL,
    ['rocm'],
    ANY,
    'graphOptimizationLevel (as cuda_optimization_level) + ROCm EP tunable_op_enable/tunable_op_tuning_enable at highest',
  ),
  parallelEncoderExecution: spec(
    'parallelEncoderExecution',
    'parallel_encoder_execution',
    BOOL,
    ALL,
    DUAL_ENCODER_FAMILIES,
    'family plan: run the text and vision encoders concurrently (activation memory counts both)',
  ),
  visionPrecision: spec(
    'visionPrecision',
    'vision_precision',
    PRECISION,
    ALL,
    ANY,
    'file variant of the vision components (vision_model, vision_encoder, qformer)',
  ),
  textPrecision: spec(
    'textPrecision',
    'text_precision',
    PRECISION,
    ALL,
    WITH_TEXT,
    'file variant of the text components (text_model; BLIP text decoder; BLIP-2 language model)',
  ),
  llmPrecision: spec(
    'llmPrecision',
    'llm_precision',
    PRECISION,
    ALL,
    DECODER_FAMILIES,
    'file variant of the language-model components (embed_tokens, decoder_model_merged)',
  ),
  kvCacheEnabled: spec(
    'kvCacheEnabled',
    'kv_cache_enabled',
    BOOL,
    ALL,
    DECODER_FAMILIES,
    'generation plan: reuse past key/values between steps (off = re-run the whole sequence each token)',
  ),
  kvCacheMaxLength: spec(
    'kvCacheMaxLength',
    'kv_cache_max_length',
    { kind: 'int', min: 1, max: 1_048_576 },
    ALL,
    DECODER_FAMILIES,
    'generation plan: longest prompt+answer; sizes the KV-cache memory estimate',
  ),
  useMpsGraph: spec(
    'useMpsGraph',
    'use_mps_graph',
    BOOL,
    ['mps'],
    ANY,
    'CoreML EP ModelFormat=MLProgram (onnxruntime-node: coreMlFlags COREML_FLAG_CREATE_MLPROGRAM); false = NeuralNetwork',
  ),
  powerEfficient: spec(
    'powerEfficient',
    'power_efficient',
    BOOL,
    ['mps', 'webnn', 'webgpu'],
    ANY,
    'CoreML MLComputeUnits=CPUAndNeuralEngine (false: ALL); WebNN powerPreference=low-power',
  ),
  powerMode: spec(
    'powerMode',
    'power_mode',
    { kind: 'enum', values: POWER_MODES },
    ['qualcomm'],
    ANY,
    'QNN EP htp_performance_mode (efficient=power_saver, balanced=balanced, performance=high_performance)',
  ),
  hexagonEnabled: spec(
    'hexagonEnabled',
    'hexagon_enabled',
    BOOL,
    ['qualcomm'],
    ANY,
    'QNN EP backend_path: the HTP (Hexagon) backend; false = the QNN CPU backend',
  ),
  visionFeatureLevel: spec(
    'visionFeatureLevel',
    'vision_feature_level',
    { kind: 'enum', values: FEATURE_LEVELS },
    ['qualcomm'],
    ANY,
    'QNN EP htp_graph_finalization_optimization_mode for vision components (low=1, medium=2, high=3: longer preparation, faster graph)',
  ),
  useWasmThreads: spec(
    'useWasmThreads',
    'use_wasm_threads',
    BOOL,
    WEB_ORT,
    ANY,
    'ort.env.wasm.numThreads (cores when crossOriginIsolated, else 1)',
  ),
  useSimd: spec(
    'useSimd',
    'use_simd',
    BOOL,
    WEB_ORT,
    ANY,
    'ort.env.wasm.simd (onnxruntime-web only ships SIMD builds: false cannot turn SIMD off)',
  ),
  progressiveLoading: spec(
    'progressiveLoading',
    'progressive_loading',
    BOOL,
    ALL,
    ANY,
    'loading plan: components load one after another in answer order, each usable when ready',
  ),
  shaderPrecompile: spec(
    'shaderPrecompile',
    'shader_precompile',
    BOOL,
    WEB_ORT,
    ANY,
    'loading plan warmup=true: one run on dummy inputs at load (WebGPU compiles its shaders, WASM/WebNN allocate) before the first real input; NaN/Inf there moves an auto plan to the next platform',
  ),
  optimizeForBrowser: spec(
    'optimizeForBrowser',
    'optimize_for_browser',
    { kind: 'enum', values: ['auto', true, false] },
    ['webgpu'],
    ANY,
    'WebGPU EP preferredLayout=NHWC and validationMode=wgpuOnly (auto/true); false keeps ORT defaults',
  ),
  parallelLoading: spec(
    'parallelLoading',
    'parallel_loading',
    BOOL,
    ALL,
    ANY,
    "loading plan: create the eager components' sessions concurrently",
  ),
  computeShaderOptimizations: spec(
    'computeShaderOptimizations',
    'compute_shader_optimizations',
    BOOL,
    ['webgpu'],
    ANY,
    'freeDimensionOverrides pin batch_size (static shapes let WebGPU specialise shaders) + graphOptimizationLevel=all',
  ),
  memoryEfficient: spec(
    'memoryEfficient',
    'memory_efficient',
    BOOL,
    ALL,
    ANY,
    'enableCpuMemArena=false and enableMemPattern=false (no arena that only grows); WebGPU storageBufferCacheMode=simple',
  ),
  temporalResolution: spec(
    'temporalResolution',
    'temporal_resolution',
    { kind: 'level-or-int', values: FEATURE_LEVELS, min: 1 },
    ALL,
    VIDEO_FAMILIES,
    'video plan frames per clip (low=4, medium=8, high=16, or a number)',
  ),
  memoryBudget: spec(
    'memoryBudget',
    'memory_budget',
    { kind: 'bytes' },
    ALL,
    ANY,
    'downgrade component precisions (largest first) until the estimate fits, else MEMORY_BUDGET_EXCEEDED',
    'mmrt',
  ),
  numThreads: spec(
    'numThreads',
    'num_threads',
    { kind: 'int', min: 1, max: 1024 },
    ALL,
    ANY,
    'intraOpNumThreads (Node) / ort.env.wasm.numThreads (web); default every logical core',
    'mmrt',
  ),
  graphCache: spec(
    'graphCache',
    'graph_cache',
    BOOL,
    NODE_PLATFORMS,
    ANY,
    "Node: cache ORT's optimized graph on disk and load it with optimizations off next time",
    'mmrt',
  ),
  threadSpinning: spec(
    'threadSpinning',
    'thread_spinning',
    BOOL,
    NODE_PLATFORMS,
    ANY,
    "session option session.intra_op.allow_spinning (Node): false stops one session's idle threads from spinning while another session runs",
    'mmrt',
  ),
  webnnDeviceType: spec(
    'webnnDeviceType',
    'webnn_device_type',
    { kind: 'enum', values: WEBNN_DEVICE_TYPES },
    ['webnn'],
    ANY,
    'WebNN EP deviceType (MLContext cpu | gpu | npu); default the first the browser can create of gpu, npu, cpu',
    'mmrt',
  ),
} as const satisfies Readonly<Record<ConfigKey, ConfigKeySpec>>;

export const COMPONENT_KEYS: Readonly<
  Record<ComponentKey, { snake: string; type: ValueType; mapsTo: string }>
> = {
  precision: { snake: 'precision', type: PRECISION, mapsTo: 'file variant of this component' },
  preload: {
    snake: 'preload',
    type: BOOL,
    mapsTo: 'loading plan: true = load with the model (eager), false = on first use (lazy)',
  },
  loadStrategy: {
    snake: 'load_strategy',
    type: { kind: 'enum', values: LOAD_STRATEGIES },
    mapsTo: 'loading plan: eager | lazy',
  },
};

export const CONFIG_KEY_NAMES = Object.keys(CONFIG_KEYS) as ConfigKey[];

/** `kv_cache_max_length` -> `kvCacheMaxLength`. */
export function snakeToCamel(s: string): string {
  return s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export function valueTypeText(t: ValueType): string {
  switch (t.kind) {
    case 'boolean':
      return 'true or false';
    case 'enum':
      return t.values.map((v) => JSON.stringify(v)).join(' | ');
    case 'precision':
      return REQUESTABLE_PRECISIONS.join(' | ');
    case 'int':
      return `an integer >= ${t.min}${t.max !== undefined ? ` and <= ${t.max}` : ''}`;
    case 'bytes':
      return "a byte count or a size string like '2GB', '512MB', '1.5GiB'";
    case 'level-or-int':
      return `${t.values.map((v) => JSON.stringify(v)).join(' | ')} or an integer >= ${t.min}`;
  }
}

/** The TypeScript type of a value of this type: what `checkValue` accepts. */
export type ConfigValue<T extends ValueType> = T extends { readonly kind: 'boolean' }
  ? boolean
  : T extends { readonly kind: 'enum'; readonly values: ReadonlyArray<infer V> }
    ? V
    : T extends { readonly kind: 'precision' }
      ? RequestedPrecision
      : T extends { readonly kind: 'int' }
        ? number
        : T extends { readonly kind: 'bytes' }
          ? number | string
          : T extends { readonly kind: 'level-or-int'; readonly values: ReadonlyArray<infer V> }
            ? V | number
            : never;

type Registry = typeof CONFIG_KEYS;

/** A per-component section as a person writes it: camelCase or snake_case keys. */
export interface ComponentConfigInput {
  precision?: RequestedPrecision;
  preload?: boolean;
  loadStrategy?: LoadStrategy;
  load_strategy?: LoadStrategy;
}

type SectionName = 'vision_encoder' | 'text_encoder' | 'language_model';
type CamelSection = 'visionEncoder' | 'textEncoder' | 'languageModel';

/**
 * The `config` a load or plan function takes, computed from the key registry: every key in
 * camelCase and in the brief's snake_case with its value type, the per-component sections,
 * and nothing else, so `{ precison: 'fp16' }` or `{ batch_size: '8' }` fails to compile. The
 * planner still checks every value at run time (JSON from a file is not typed).
 */
export type ConfigInput = { [K in keyof Registry]?: ConfigValue<Registry[K]['type']> } & {
  [K in keyof Registry as Registry[K]['snake']]?: ConfigValue<Registry[K]['type']>;
} & {
  [S in SectionName | CamelSection]?: ComponentConfigInput;
} & {
  /** Sections by component name (`vision_model`, `decoder_model_merged`) or section alias. */
  components?: Record<string, ComponentConfigInput>;
};
