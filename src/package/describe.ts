/**
 * Reads a model folder in the hub's ONNX layout (DESIGN.md, "Model packages") and describes
 * it: family, configs, tokenizer, and every ONNX component with the precision variants that
 * exist for it. Either a complete `ModelPackage` comes out, or a `ModelPackageError` naming
 * what is missing.
 */
import { ModelPackageError } from '../errors.js';
import type { ModelFiles } from '../host/host.js';
import type { FamilySpec } from './family-spec.js';
import { type ModelDims, readModelDims } from './model-config.js';
import { PRECISIONS, componentFileName, parseComponentFileStem, type Precision } from './precision.js';

export type Json = Record<string, unknown>;

/** The largest JSON file of a package mmrt reads (tokenizer.json is the big one: tens of MB). */
export const MAX_JSON_BYTES = 256 * 1024 * 1024;

export interface ComponentVariant {
  readonly precision: Precision;
  /** Path inside the package, e.g. `onnx/vision_model_fp16.onnx`. */
  readonly file: string;
  readonly bytes: number;
  /** External weight files that travel with the graph (`.onnx_data`, `.onnx_data_1`, ...). */
  readonly externalData: ReadonlyArray<{ readonly file: string; readonly bytes: number }>;
  /** Graph plus external data. */
  readonly totalBytes: number;
}

export interface ComponentInfo {
  readonly name: string;
  readonly variants: Readonly<Partial<Record<Precision, ComponentVariant>>>;
}

export interface TokenizerFiles {
  readonly tokenizerJson: Json;
  readonly tokenizerConfig: Json;
}

export interface ModelPackage {
  readonly files: ModelFiles;
  readonly location: string;
  readonly modelType: string;
  /** The family's name (`clip`, `llava_next`). */
  readonly family: string;
  /** What the family is: layouts, component roles, table row, defaults. */
  readonly familySpec: FamilySpec;
  readonly config: Json;
  /** `config.json`'s geometry, read once (see model-config.ts). */
  readonly dims: ModelDims;
  readonly preprocessorConfig?: Json;
  readonly processorConfig?: Json;
  readonly generationConfig?: Json;
  readonly tokenizer?: TokenizerFiles;
  /** `config.json`'s `transformers.js_config`, which may carry per-component dtype defaults. */
  readonly transformersJsConfig?: Json;
  readonly components: Readonly<Record<string, ComponentInfo>>;
  /** The component set of the family's layouts that this package satisfies. */
  readonly layout: readonly string[];
  /**
   * `onnx/quantization.json`, written by `mmrt quantize`: how each variant was made and how far
   * it drifts from fp32 (shown by `explain()`).
   */
  readonly quantization?: Json;
}

async function readJson(files: ModelFiles, path: string, required: boolean): Promise<Json | undefined> {
  if (!(await files.exists(path))) {
    if (!required) return undefined;
    throw new ModelPackageError('MODEL_FILE_MISSING', `${files.location} has no ${path}`, {
      value: path,
      hint: 'a model package needs the files of the hub ONNX layout: config.json, preprocessor_config.json, tokenizer.json, onnx/*.onnx',
    });
  }
  // Bounded: a config is kilobytes and a tokenizer tens of megabytes; 256 MiB is neither.
  const size = await files.size(path).catch(() => undefined);
  if (size !== undefined && size > MAX_JSON_BYTES) {
    throw new ModelPackageError(
      'MODEL_CONFIG_INVALID',
      `${files.location}/${path} is ${size} bytes, over the ${MAX_JSON_BYTES}-byte limit for a JSON file of a model package`,
      { value: path, valid: `at most ${MAX_JSON_BYTES} bytes` },
    );
  }
  const text = await files.readText(path);
  const where = async () => (files.describe ? files.describe(path) : `${files.location}/${path}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ModelPackageError(
      'MODEL_CONFIG_INVALID',
      `${await where()} is not valid JSON: ${(e as Error).message}`,
      { value: path, file: await where() },
      { cause: e },
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ModelPackageError('MODEL_CONFIG_INVALID', `${await where()} must hold a JSON object`, {
      value: path,
      file: await where(),
    });
  }
  return parsed as Json;
}

/**
 * How many external data chunks `transformers.js_config.use_external_data_format` gives a file
 * (`X_q4.onnx`, or its component `X`, or everything): transformers.js fetches exactly
 * `X.onnx_data`, `X.onnx_data_1`, ... that many. Undefined when it says nothing.
 */
export function externalDataChunks(
  tjs: Json | undefined,
  fileName: string,
  component: string,
): number | undefined {
  const v = tjs?.use_external_data_format;
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object') {
    const o = v as Json;
    const n = o[fileName] ?? o[component];
    return n === undefined ? undefined : Number(n) || 0;
  }
  return Number(v) || 0;
}

/** `X.onnx_data`, `X.onnx_data_1`, ...: the hub's external data chunk names. */
export function externalDataNames(file: string, chunks: number): string[] {
  return Array.from({ length: chunks }, (_, i) => `${file}_data${i === 0 ? '' : `_${i}`}`);
}

/** Group `onnx/*.onnx` files into components with their precision variants. */
export async function listComponents(
  files: ModelFiles,
  all?: readonly string[],
  transformersJsConfig?: Json,
): Promise<Record<string, ComponentInfo>> {
  const paths = all ?? (await files.list());
  const onnx = paths.filter((p) => p.startsWith('onnx/') && p.endsWith('.onnx') && !p.slice(5).includes('/'));
  const byComponent: Record<string, Partial<Record<Precision, ComponentVariant>>> = {};
  for (const file of onnx) {
    const stem = file.slice('onnx/'.length, -'.onnx'.length);
    const { component, precision } = parseComponentFileStem(stem);
    const chunks = externalDataChunks(transformersJsConfig, file.slice('onnx/'.length), stem);
    const listed = paths.filter((p) => p.startsWith(`${file}_data`) || p === `${file}.data`).sort();
    // The config's count, when it gives one, names the files; otherwise the listing does.
    const external = chunks ? externalDataNames(file, chunks) : listed;
    const missing = external.filter((f) => !paths.includes(f));
    if (missing.length > 0) {
      throw new ModelPackageError(
        'MODEL_FILE_MISSING',
        `${files.location}: transformers.js_config.use_external_data_format gives ${file} ${chunks} external data file(s), but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing`,
        {
          value: missing,
          hint: 'download the missing .onnx_data chunks, or correct use_external_data_format in config.json',
        },
      );
    }
    const externalData = await Promise.all(
      external.map(async (f) => ({ file: f, bytes: await files.size(f) })),
    );
    const bytes = await files.size(file);
    const variant: ComponentVariant = {
      precision,
      file,
      bytes,
      externalData,
      totalBytes: bytes + externalData.reduce((s, x) => s + x.bytes, 0),
    };
    byComponent[component] ??= {};
    byComponent[component][precision] = variant;
  }
  const out: Record<string, ComponentInfo> = {};
  for (const [name, variants] of Object.entries(byComponent)) out[name] = { name, variants };
  return out;
}

/**
 * Describe a model package against the families given (the registry's, in every public entry),
 * or throw a `ModelPackageError` naming what is missing.
 */
export async function readPackage(files: ModelFiles, families: readonly FamilySpec[]): Promise<ModelPackage> {
  const all = await files.list();
  const config = (await readJson(files, 'config.json', true))!;
  const modelType = config.model_type;
  const known = families.flatMap((f) => f.modelTypes);
  if (typeof modelType !== 'string') {
    throw new ModelPackageError('MODEL_CONFIG_INVALID', `${files.location}/config.json has no "model_type"`, {
      value: modelType,
      valid: known,
    });
  }
  const spec = families.find((f) => f.modelTypes.includes(modelType));
  if (!spec) {
    throw new ModelPackageError(
      'MODEL_CONFIG_INVALID',
      `model_type "${modelType}" in ${files.location}/config.json is not a family mmrt runs`,
      { value: modelType, valid: known },
    );
  }
  const family = spec.name;
  const tjsConfig = config['transformers.js_config'];
  const components = await listComponents(
    files,
    all,
    tjsConfig && typeof tjsConfig === 'object' ? (tjsConfig as Json) : undefined,
  );
  const layout = spec.layouts.find((set) => set.every((c) => c in components));
  if (!layout) {
    const wanted = spec.layouts.map((s) => s.map((c) => `onnx/${c}.onnx`).join(' + ')).join(' or ');
    throw new ModelPackageError(
      'MODEL_COMPONENT_MISSING',
      `${files.location} is a ${family} package but lacks its ONNX components: expected ${wanted}` +
        ` (any precision suffix: ${PRECISIONS.join(', ')}); found ${Object.keys(components).join(', ') || 'none'}`,
      { value: Object.keys(components), valid: spec.layouts.map((s) => s.join('+')) },
    );
  }
  const preprocessorConfig = await readJson(files, 'preprocessor_config.json', spec.needsPreprocessor);
  let tokenizer: TokenizerFiles | undefined;
  if (spec.needsTokenizer) {
    const tokenizerJson = (await readJson(files, 'tokenizer.json', true))!;
    const tokenizerConfig = (await readJson(files, 'tokenizer_config.json', false)) ?? {};
    tokenizer = { tokenizerJson, tokenizerConfig };
  }
  const processorConfig = await readJson(files, 'processor_config.json', false);
  const generationConfig = await readJson(files, 'generation_config.json', false);
  const tjs = config['transformers.js_config'];
  // A broken report must not stop a model from loading: it only feeds explain().
  const quantization = await readJson(files, 'onnx/quantization.json', false).catch(() => undefined);
  return {
    files,
    location: files.location,
    modelType,
    family,
    familySpec: spec,
    config,
    dims: readModelDims(config),
    ...(preprocessorConfig && { preprocessorConfig }),
    ...(processorConfig && { processorConfig }),
    ...(generationConfig && { generationConfig }),
    ...(tokenizer && { tokenizer }),
    ...(tjs && typeof tjs === 'object' ? { transformersJsConfig: tjs as Json } : {}),
    components,
    layout,
    ...(quantization && { quantization }),
  };
}

/** The variant of `component` at `precision`, or a typed error listing the ones that exist. */
export function componentVariant(
  pkg: ModelPackage,
  component: string,
  precision: Precision,
): ComponentVariant {
  const info = pkg.components[component];
  if (!info) {
    throw new ModelPackageError(
      'MODEL_COMPONENT_MISSING',
      `${pkg.location} has no component "${component}"`,
      {
        value: component,
        valid: Object.keys(pkg.components),
      },
    );
  }
  const v = info.variants[precision];
  if (!v) {
    const have = Object.keys(info.variants);
    throw new ModelPackageError(
      'MODEL_VARIANT_MISSING',
      `${pkg.location} has no ${precision} variant of "${component}" (${componentFileName(component, precision)}); it has: ${have.join(', ')}`,
      { value: precision, valid: have },
    );
  }
  return v;
}
