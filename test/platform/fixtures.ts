/**
 * Test fixtures for planning: model packages built as objects (planning reads only which
 * variants exist and their sizes), host capabilities for each kind of machine, and real
 * package folders whose ONNX files are the 170-byte probe graph (a real graph ORT can run).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ComponentInfo, ComponentVariant, Json, ModelPackage } from '../../src/package/describe.js';
import { familyByName } from '../../src/families/registry.js';
import { readModelDims } from '../../src/package/model-config.js';
import { type Precision, componentFileName } from '../../src/package/precision.js';
import type { HostCapabilities, ProviderStatus } from '../../src/platform/capabilities.js';
import { probeModelBytes } from '../../src/runtime/probe-model.js';
import type { ExecutionProviderName } from '../../src/runtime/providers.js';

export const MiB = 1024 * 1024;

/** Rough bytes per weight for a variant's file size. */
const PER_PARAM: Record<Precision, number> = {
  fp32: 4,
  fp16: 2,
  int8: 1,
  uint8: 1,
  q8: 1,
  q4: 0.55,
  q4f16: 0.5,
  bnb4: 0.55,
};

export const ALL_PRECISIONS: readonly Precision[] = [
  'fp32',
  'fp16',
  'int8',
  'uint8',
  'q8',
  'q4',
  'q4f16',
  'bnb4',
];

/** The families planning knows, by name. */
export type ModelFamily = 'clip' | 'siglip' | 'llava' | 'llava_next' | 'blip' | 'blip2' | 'xclip';

export const MODEL_TYPE: Record<ModelFamily, string> = {
  clip: 'clip',
  siglip: 'siglip',
  llava: 'llava',
  llava_next: 'llava_next',
  blip: 'blip',
  blip2: 'blip-2',
  xclip: 'xclip',
};

/** Small but realistic-shaped configs (CLIP ViT-B/32-like towers; a 4-layer decoder). */
export function configFor(family: ModelFamily): Json {
  const vision = {
    hidden_size: 768,
    intermediate_size: 3072,
    num_attention_heads: 12,
    image_size: 224,
    patch_size: 32,
  };
  const textEncoder = {
    hidden_size: 512,
    intermediate_size: 2048,
    num_attention_heads: 8,
    max_position_embeddings: 77,
  };
  const decoder = {
    hidden_size: 256,
    intermediate_size: 1024,
    num_attention_heads: 8,
    num_key_value_heads: 2,
    num_hidden_layers: 4,
    max_position_embeddings: 1024,
    vocab_size: 1000,
  };
  const two = { vision_config: vision, text_config: textEncoder };
  const vlm = { vision_config: vision, text_config: decoder };
  const byFamily: Record<ModelFamily, Json> = {
    clip: two,
    siglip: two,
    xclip: { ...two, vision_config: { ...vision, num_frames: 8 } },
    llava: vlm,
    llava_next: vlm,
    blip: vlm,
    blip2: { ...vlm, qformer_config: { hidden_size: 768, num_attention_heads: 12 }, num_query_tokens: 32 },
  };
  return { model_type: MODEL_TYPE[family], ...byFamily[family] };
}

export interface FakePackageOptions {
  /** Parameters per component (default 10M each). */
  readonly params?: Readonly<Record<string, number>>;
  /** Variants per component (default: all precisions). */
  readonly variants?: Readonly<Record<string, readonly Precision[]>> | readonly Precision[];
  readonly transformersJsConfig?: Json;
  readonly config?: Json;
  readonly layout?: readonly string[];
}

export function fakePackage(family: ModelFamily, opts: FakePackageOptions = {}): ModelPackage {
  const familySpec = familyByName(family);
  const layout = opts.layout ?? familySpec.layouts[0]!;
  const components: Record<string, ComponentInfo> = {};
  for (const name of layout) {
    const params = opts.params?.[name] ?? 10_000_000;
    const list = Array.isArray(opts.variants)
      ? (opts.variants as Precision[])
      : ((opts.variants as Record<string, readonly Precision[]> | undefined)?.[name] ?? ALL_PRECISIONS);
    const variants: Partial<Record<Precision, ComponentVariant>> = {};
    for (const p of list) {
      const bytes = Math.round(params * PER_PARAM[p]);
      variants[p] = {
        precision: p,
        file: componentFileName(name, p),
        bytes,
        externalData: [],
        totalBytes: bytes,
      };
    }
    components[name] = { name, variants };
  }
  const config = {
    ...(opts.config ?? configFor(family)),
    ...(opts.transformersJsConfig && { 'transformers.js_config': opts.transformersJsConfig }),
  };
  return {
    files: {
      location: `/fake/${family}`,
      list: async () => [],
      exists: async () => false,
      readText: async () => {
        throw new Error('fake package');
      },
      readBytes: async () => {
        throw new Error('fake package');
      },
      size: async () => 0,
      fingerprint: async () => 'fake',
    },
    location: `/fake/${family}`,
    modelType: MODEL_TYPE[family],
    family,
    familySpec,
    config,
    dims: readModelDims(config),
    ...(opts.transformersJsConfig && { transformersJsConfig: opts.transformersJsConfig }),
    components,
    layout,
  };
}

function status(name: ExecutionProviderName, usable: boolean): ProviderStatus {
  return { name, bundled: usable, usable, ...(!usable && { reason: `${name} absent in this test` }) };
}

/** A Node machine: cpu works, plus whichever providers are named. */
export function nodeCaps(usable: readonly ExecutionProviderName[] = ['cpu'], cores = 2): HostCapabilities {
  const all: ExecutionProviderName[] = ['cpu', 'cuda', 'tensorrt', 'webgpu', 'coreml', 'qnn'];
  return {
    host: 'node',
    os: 'linux 6.1',
    arch: 'x64',
    runtime: 'node 20',
    ort: { package: 'onnxruntime-node', version: '1.30.0' },
    cpu: { model: 'test cpu', logicalCores: cores, simd: ['avx2'] },
    memory: { totalBytes: 16 * 1024 * MiB },
    gpus: [],
    providers: all.map((n) => status(n, usable.includes(n))),
  };
}

/** A browser: WebGPU (with or without shader-f16), WebNN, WASM. */
export function webCaps(
  opts: { shaderF16?: boolean; webnn?: boolean; isolated?: boolean; cores?: number } = {},
): HostCapabilities {
  return {
    host: 'web',
    os: 'Linux',
    arch: 'unknown',
    runtime: 'Chrome',
    ort: { package: 'onnxruntime-web', version: '1.30.0' },
    cpu: { model: 'unknown', logicalCores: opts.cores ?? 8, simd: ['wasm-simd128'] },
    memory: { totalBytes: 8 * 1024 * MiB },
    gpus: [
      { vendor: 'google', name: 'swiftshader', shaderF16: opts.shaderF16 ?? true, maxBufferSize: 2 ** 30 },
    ],
    providers: [status('webgpu', true), status('webnn', opts.webnn ?? true), status('wasm', true)],
    web: {
      webgpu: true,
      webnn: opts.webnn ?? true,
      wasmSimd: true,
      wasmThreads: true,
      crossOriginIsolated: opts.isolated ?? true,
    },
  };
}

/**
 * A real package folder for `family`, each component's variants written as the probe graph
 * (y = 2x), so sessions really create and run.
 */
export async function writeProbePackage(
  dir: string,
  family: ModelFamily,
  variants: readonly Precision[] = ['fp32'],
  extraConfig: Json = {},
): Promise<string> {
  await mkdir(join(dir, 'onnx'), { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify({ ...configFor(family), ...extraConfig }));
  await writeFile(
    join(dir, 'preprocessor_config.json'),
    JSON.stringify({ image_processor_type: 'CLIPImageProcessor' }),
  );
  await writeFile(
    join(dir, 'tokenizer.json'),
    JSON.stringify({ model: { type: 'BPE', vocab: {}, merges: [] } }),
  );
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({}));
  for (const name of familyByName(family).layouts[0]!) {
    for (const p of variants) await writeFile(join(dir, componentFileName(name, p)), probeModelBytes());
  }
  return dir;
}
