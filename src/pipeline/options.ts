/**
 * transformers.js's pipeline options (`device`, `dtype`, `progress_callback`, ...) mapped onto
 * mmrt's load options. Host-free: data and checks only. Names that mean nothing here are
 * refused with what would be valid, never silently ignored.
 */
import { ConfigError, PlatformError, closest } from '../errors.js';
import type { LoadProgress } from '../loader/types.js';
import type { ComponentConfigInput, ConfigInput } from '../platform/config-keys.js';
import { REQUESTABLE_PRECISIONS, type RequestedPrecision } from '../platform/precision-map.js';
import type { PlatformName } from '../runtime/providers.js';

/** transformers.js's device names, plus mmrt's platform names. */
export type PipelineDevice =
  | 'auto'
  | 'gpu'
  | 'cpu'
  | 'wasm'
  | 'webgpu'
  | 'cuda'
  | 'dml'
  | 'coreml'
  | 'webnn'
  | 'webnn-npu'
  | 'webnn-gpu'
  | 'webnn-cpu'
  | PlatformName;

/** transformers.js's dtypes (mmrt's precision names are the same words). */
export type PipelineDtype = 'auto' | 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4' | 'bnb4' | 'q4f16';

/** What transformers.js passes to `progress_callback`. */
export type ProgressInfo =
  | { status: 'initiate' | 'download' | 'done'; name: string; file: string }
  | { status: 'progress'; name: string; file: string; progress: number; loaded: number; total: number }
  | {
      status: 'progress_total';
      name: string;
      progress: number;
      loaded: number;
      total: number;
      files: Record<string, { loaded: number; total: number }>;
    }
  | { status: 'ready'; task: string; model: string };

export interface PipelineOptions {
  /** Where to run: transformers.js's names (`gpu`, `webgpu`, `wasm`, `cuda`, `coreml`, ...) or an mmrt platform. */
  readonly device?: PipelineDevice;
  /** One precision for every component, or one per component (`{ vision_encoder: 'fp16', ... }`). */
  readonly dtype?: PipelineDtype | Readonly<Record<string, PipelineDtype>>;
  readonly progress_callback?: (info: ProgressInfo) => void;
  /** Hub revision (branch, tag or commit). Default 'main'. */
  readonly revision?: string;
  /** Hugging Face hub cache folder for this model (Node). */
  readonly cache_dir?: string;
  /** Use the cache only, never the network. */
  readonly local_files_only?: boolean;
  /** ONNX Runtime session options: `intraOpNumThreads` is honoured. */
  readonly session_options?: { readonly intraOpNumThreads?: number };
}

const OPTION_NAMES = [
  'device',
  'dtype',
  'progress_callback',
  'revision',
  'cache_dir',
  'local_files_only',
  'session_options',
] as const;

/** transformers.js options mmrt has no equivalent for: refused with the reason. */
const NOT_HERE: Readonly<Record<string, string>> = {
  config: 'mmrt reads config.json from the model itself',
  subfolder: 'mmrt reads ONNX files from onnx/, as the hub packages lay them out',
  model_file_name: 'mmrt picks each component file from the package by its name and dtype',
  use_external_data_format:
    'mmrt finds external data files (.onnx_data, .onnx_data_1, ...) beside each graph itself',
};

/** Where each device name runs in mmrt. */
const DEVICES: Readonly<Record<string, { platform: PlatformName | 'auto'; candidates?: PlatformName[] }>> = {
  auto: { platform: 'auto' },
  gpu: { platform: 'auto', candidates: ['cuda', 'rocm', 'mps', 'webgpu'] },
  cpu: { platform: 'cpu' },
  wasm: { platform: 'wasm' },
  webgpu: { platform: 'webgpu' },
  cuda: { platform: 'cuda' },
  coreml: { platform: 'mps' },
  webnn: { platform: 'webnn' },
  'webnn-npu': { platform: 'webnn' },
  'webnn-gpu': { platform: 'webnn' },
  'webnn-cpu': { platform: 'webnn' },
  mps: { platform: 'mps' },
  rocm: { platform: 'rocm' },
  openvino: { platform: 'openvino' },
  qualcomm: { platform: 'qualcomm' },
};

function refuse(what: string, value: unknown, valid: readonly string[], why?: string): ConfigError {
  const guess = typeof value === 'string' ? closest(value, valid) : undefined;
  return new ConfigError(
    'CONFIG_INVALID_VALUE',
    `${what} ${JSON.stringify(value)} ${why ?? 'is not one mmrt knows'}${guess ? ` (did you mean "${guess}"?)` : ''}; valid: ${valid.join(', ')}`,
    { value, valid },
  );
}

/**
 * Unknown option names are refused (a typo must not silently change nothing). `extra`: the
 * names a call takes; without it, the pipeline's own options.
 */
export function checkOptionNames(options: object, extra: readonly string[] | undefined, where: string): void {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('CONFIG_INVALID_VALUE', `${where} options must be an object`, { value: options });
  }
  const valid: readonly string[] = extra ?? OPTION_NAMES;
  for (const key of Object.keys(options)) {
    if ((valid as readonly string[]).includes(key)) continue;
    if (NOT_HERE[key]) {
      throw new ConfigError(
        'CONFIG_UNKNOWN_KEY',
        `${where} option "${key}" has no effect in mmrt: ${NOT_HERE[key]}`,
        {
          value: key,
          valid,
        },
      );
    }
    const guess = closest(key, valid);
    throw new ConfigError(
      'CONFIG_UNKNOWN_KEY',
      `unknown ${where} option "${key}"${guess ? ` (did you mean "${guess}"?)` : ''}; valid: ${valid.join(', ')}`,
      { value: key, valid },
    );
  }
}

/** `device` -> mmrt's platform (and candidates for `gpu`). */
export function platformFor(device: unknown): {
  platform: PlatformName | 'auto';
  candidates?: PlatformName[];
} {
  if (device === undefined || device === null) return { platform: 'auto' };
  if (typeof device === 'string' && DEVICES[device]) return DEVICES[device]!;
  if (device === 'dml') {
    throw new PlatformError(
      'PROVIDER_UNKNOWN',
      'device "dml" (DirectML) has no execution provider in mmrt: onnxruntime-node builds for Windows include it, but mmrt does not plan for it yet; use "cpu", "cuda" or "webgpu"',
      { value: device, valid: Object.keys(DEVICES) },
    );
  }
  if (typeof device === 'object') {
    throw refuse(
      'device',
      device,
      Object.keys(DEVICES),
      'is a per-component map: mmrt plans every component of a model on one platform',
    );
  }
  throw refuse('device', device, [...Object.keys(DEVICES), 'dml']);
}

function precisionOf(dtype: unknown, where: string): RequestedPrecision | undefined {
  if (dtype === 'auto') return undefined;
  if (typeof dtype === 'string' && (REQUESTABLE_PRECISIONS as readonly string[]).includes(dtype)) {
    return dtype as RequestedPrecision;
  }
  throw refuse(where, dtype, ['auto', ...REQUESTABLE_PRECISIONS]);
}

/** `dtype` -> the config's `precision`, or a section per component. */
export function configForDtype(dtype: unknown): ConfigInput {
  if (dtype === undefined || dtype === null) return {};
  if (typeof dtype === 'string') {
    const precision = precisionOf(dtype, 'dtype');
    return precision ? { precision } : {};
  }
  if (typeof dtype !== 'object' || Array.isArray(dtype)) {
    throw refuse('dtype', dtype, ['auto', ...REQUESTABLE_PRECISIONS, '{ component: dtype }']);
  }
  const components: Record<string, ComponentConfigInput> = {};
  for (const [component, d] of Object.entries(dtype as Record<string, unknown>)) {
    const precision = precisionOf(d, `dtype.${component}`);
    if (precision) components[component] = { precision };
  }
  return Object.keys(components).length > 0 ? { components } : {};
}

/**
 * Load progress as transformers.js reports it: per file `initiate`, `download`, `progress`
 * (bytes), `done`, with `progress_total` over every file. Local files report their read.
 */
export function progressAdapter(
  model: string,
  callback: (info: ProgressInfo) => void,
): (event: LoadProgress) => void {
  const started = new Set<string>();
  const done = new Set<string>();
  const files: Record<string, { loaded: number; total: number }> = {};
  return (e) => {
    const file = e.file ?? e.component;
    if (!started.has(file)) {
      started.add(file);
      callback({ status: 'initiate', name: model, file });
      callback({ status: 'download', name: model, file });
    }
    if (done.has(file)) return;
    const bytes = e.phase === 'download' || e.phase === 'read';
    const loaded = bytes ? e.loaded : e.total;
    const total = Math.max(e.total, loaded);
    if (bytes || e.phase === 'create') {
      files[file] = { loaded, total };
      callback({
        status: 'progress',
        name: model,
        file,
        progress: total > 0 ? (loaded / total) * 100 : 100,
        loaded,
        total,
      });
      const all = Object.values(files);
      const sumLoaded = all.reduce((s, f) => s + f.loaded, 0);
      const sumTotal = all.reduce((s, f) => s + f.total, 0);
      callback({
        status: 'progress_total',
        name: model,
        progress: sumTotal > 0 ? (sumLoaded / sumTotal) * 100 : 100,
        loaded: sumLoaded,
        total: sumTotal,
        files: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, { ...v }])),
      });
    }
    // The bytes are in: creating the session is what follows.
    if (e.phase === 'create' || e.phase === 'ready') {
      done.add(file);
      callback({ status: 'done', name: model, file });
    }
  };
}
