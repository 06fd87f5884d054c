/**
 * `quantizeModel`: precision variants of a model folder's ONNX components, written beside the
 * originals under the hub's file names (`onnx/vision_model_q4.onnx`, + `.onnx_data` chunks
 * when large). Each variant is converted (src/quantize), streamed to a staging folder, loaded by
 * ONNX Runtime and run once on the package's reference inputs, and only then moved into place;
 * one that fails is deleted and reported with a typed error. What was done, and the drift
 * against fp32 on the reference inputs, goes to `onnx/quantization.json`.
 */
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, ModelPackageError } from '../errors.js';
import type { OrtModule } from '../host/host.js';
import { warmupHints } from '../loader/warmup.js';
import { type ComponentInfo, type Json, listComponents } from '../package/describe.js';
import { readModelDims } from '../package/model-config.js';
import { componentFileName } from '../package/precision.js';
import { convertModel } from '../quantize/convert.js';
import {
  type ConvertOptions,
  DEFAULT_QUANTIZE_PRECISIONS,
  type QuantizePrecision,
  isQuantizePrecision,
} from '../quantize/options.js';
import { type ConversionReport, summarize } from '../quantize/report.js';
import { type ReferenceHints, type Verification, referenceRun, verifyVariant } from '../quantize/verify.js';
import { createSession } from '../runtime/session.js';
import { LocalModelFiles } from './files.js';
import { readOnnxFile, writeOnnxFile } from './onnx-files.js';
import { ort as nodeOrt } from './ort.js';

export type QuantizePhase = 'convert' | 'write' | 'verify' | 'done' | 'skipped';

export interface QuantizeProgress {
  readonly component: string;
  readonly precision: QuantizePrecision;
  readonly phase: QuantizePhase;
  /** This variant, 0-100. */
  readonly percent: number;
  /** All variants of this run, 0-100. */
  readonly overallPercent: number;
  readonly message: string;
}

export interface QuantizeOptions extends ConvertOptions {
  /** A local model folder (config.json + onnx/). */
  readonly model: string;
  /** Default fp16, q8, q4, q4f16. */
  readonly precisions?: readonly QuantizePrecision[];
  /** Default: every component with an fp32 file. */
  readonly components?: readonly string[];
  /** Replace variants that exist already (default false: they are skipped). */
  readonly force?: boolean;
  /** 'auto' (default): external data for models over 2 GiB or whose fp32 file uses it. */
  readonly externalData?: boolean | 'auto';
  /** External data chunk size (default 2 GiB - 1). */
  readonly maxChunkBytes?: number;
  readonly onProgress?: (e: QuantizeProgress) => void;
  readonly signal?: AbortSignal;
  /** The ONNX Runtime that checks each variant (default onnxruntime-node). */
  readonly ort?: OrtModule;
}

export interface QuantizedVariant {
  readonly component: string;
  readonly precision: QuantizePrecision;
  /** `onnx/vision_model_q4.onnx`. */
  readonly file: string;
  readonly bytes: number;
  readonly externalData: ReadonlyArray<{ readonly file: string; readonly bytes: number }>;
  readonly sourceBytes: number;
  readonly report: ConversionReport;
  readonly verification: Verification;
}

export interface QuantizeResult {
  readonly model: string;
  readonly variants: readonly QuantizedVariant[];
  /** Variants that existed and were left alone (no `force`). */
  readonly skipped: ReadonlyArray<{
    readonly component: string;
    readonly precision: QuantizePrecision;
    readonly file: string;
  }>;
  /** `onnx/quantization.json`. */
  readonly reportFile: string;
}

/** The file beside the variants that records how each was made and how far it drifts. */
export const QUANTIZATION_FILE = 'onnx/quantization.json';

async function readJsonFile(path: string): Promise<Json | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
  } catch {
    return undefined;
  }
}

function hintsFor(config: Json, preprocessor: Json | undefined): ReferenceHints {
  const dims = readModelDims(config);
  const vocab = dims.text.vocab ?? (typeof config.vocab_size === 'number' ? config.vocab_size : undefined);
  return {
    ...warmupHints({ config, ...(preprocessor && { preprocessorConfig: preprocessor }) }),
    ...(vocab && { vocabSize: vocab }),
  };
}

function fp32Of(info: ComponentInfo, where: string) {
  const v = info.variants.fp32;
  if (!v) {
    throw new ModelPackageError(
      'MODEL_VARIANT_MISSING',
      `${where}: "${info.name}" has no fp32 file (${componentFileName(info.name, 'fp32')}) to quantize from; it has ${Object.keys(info.variants).join(', ')}`,
      { value: info.name, valid: Object.keys(info.variants) },
    );
  }
  return v;
}

/** Quantize the components of a model folder (see the module comment). */
export async function quantizeModel(options: QuantizeOptions): Promise<QuantizeResult> {
  const files = await LocalModelFiles.open(options.model);
  const root = files.root;
  const ort = options.ort ?? nodeOrt;
  const precisions = [...(options.precisions ?? DEFAULT_QUANTIZE_PRECISIONS)];
  for (const p of precisions) {
    if (!isQuantizePrecision(p)) {
      throw new ConfigError('CONFIG_INVALID_VALUE', `"${p}" is not a precision the quantizer writes`, {
        value: p,
      });
    }
  }
  const config = (await readJsonFile(join(root, 'config.json'))) ?? {};
  const preprocessor = await readJsonFile(join(root, 'preprocessor_config.json'));
  const hints = hintsFor(config, preprocessor);
  const all = await listComponents(files);
  const wanted =
    options.components ??
    Object.keys(all)
      .filter((c) => all[c]!.variants.fp32)
      .sort();
  if (wanted.length === 0) {
    throw new ModelPackageError(
      'MODEL_COMPONENT_MISSING',
      `${root} has no fp32 ONNX component under onnx/ to quantize`,
      {
        value: root,
      },
    );
  }
  for (const c of wanted) {
    if (!all[c]) {
      throw new ModelPackageError('MODEL_COMPONENT_MISSING', `${root} has no component "${c}"`, {
        value: c,
        valid: Object.keys(all),
      });
    }
    fp32Of(all[c]!, root);
  }

  const jobs = wanted.flatMap((component) => precisions.map((precision) => ({ component, precision })));
  let finished = 0;
  const emit = (
    component: string,
    precision: QuantizePrecision,
    phase: QuantizePhase,
    percent: number,
    message: string,
  ) =>
    options.onProgress?.({
      component,
      precision,
      phase,
      percent,
      overallPercent: Math.min(100, ((finished + percent / 100) / jobs.length) * 100),
      message,
    });

  const variants: QuantizedVariant[] = [];
  const skipped: Array<{ component: string; precision: QuantizePrecision; file: string }> = [];
  const staging = join(root, 'onnx', `.mmrt-quantize-${process.pid}-${Date.now().toString(36)}`);
  await mkdir(staging, { recursive: true });
  try {
    for (const component of wanted) {
      const todo: QuantizePrecision[] = [];
      for (const precision of precisions) {
        const file = componentFileName(component, precision);
        if (!options.force && (await stat(join(root, file)).catch(() => undefined))) {
          skipped.push({ component, precision, file });
          emit(component, precision, 'skipped', 100, `${file} exists (use force to replace it)`);
          finished++;
        } else todo.push(precision);
      }
      if (todo.length === 0) continue;
      const source = fp32Of(all[component]!, root);
      const sourcePath = join(root, source.file);
      const opened = await readOnnxFile(sourcePath);
      const session = await createSession(ort, {
        name: component,
        model: sourcePath,
        providers: ['cpu'],
        intraOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
      // The fp32 run is all the checks need: its session goes before any variant's is made.
      const reference = await referenceRun(session, ort, hints).finally(() => session.release());
      try {
        for (const precision of todo) {
          options.signal?.throwIfAborted();
          const file = componentFileName(component, precision);
          emit(component, precision, 'convert', 0, `converting ${source.file} to ${precision}`);
          const { working, report } = convertModel(opened.working, precision, options);
          const staged = join(staging, file.slice('onnx/'.length));
          const written = await writeOnnxFile(staged, working, {
            externalData: options.externalData ?? 'auto',
            preferExternal: opened.externalFiles.length > 0,
            ...(options.maxChunkBytes !== undefined && { maxChunkBytes: options.maxChunkBytes }),
            ...(options.signal && { signal: options.signal }),
            onProgress: (done, total) =>
              emit(component, precision, 'write', 5 + (75 * done) / Math.max(1, total), `writing ${file}`),
          });
          emit(component, precision, 'verify', 80, `checking ${file} in ONNX Runtime`);
          let verification: Verification;
          try {
            verification = await verifyVariant(
              ort,
              reference,
              { model: staged, name: `${component} ${precision}` },
              hints,
            );
          } catch (e) {
            await removeStaged(staging, written.file, written.externalData);
            throw e;
          }
          await moveIntoPlace(staging, join(root, 'onnx'), written);
          variants.push({
            component,
            precision,
            file,
            bytes: written.bytes,
            externalData: written.externalData.map((x) => ({ file: `onnx/${x.file}`, bytes: x.bytes })),
            sourceBytes: source.totalBytes,
            report,
            verification,
          });
          emit(component, precision, 'done', 100, `${file}: ${summarize(report)}`);
          finished++;
        }
      } finally {
        await opened.close();
      }
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  const reportFile = join(root, QUANTIZATION_FILE);
  await recordVariants(reportFile, variants, options);
  await recordExternalData(join(root, 'config.json'), config, variants);
  return { model: root, variants, skipped, reportFile };
}

async function removeStaged(
  dir: string,
  file: string,
  chunks: ReadonlyArray<{ file: string }>,
): Promise<void> {
  await rm(file, { force: true });
  for (const c of chunks) await rm(join(dir, c.file), { force: true });
}

async function moveIntoPlace(
  staging: string,
  target: string,
  written: { file: string; externalData: ReadonlyArray<{ file: string }> },
): Promise<void> {
  const base = written.file.slice(staging.length + 1);
  // Chunks of an earlier, larger variant of the same name would be orphans.
  for (const f of await readdir(target)) {
    if (f.startsWith(`${base}_data`) && !written.externalData.some((c) => c.file === f))
      await rm(join(target, f), { force: true });
  }
  for (const c of written.externalData) await rename(join(staging, c.file), join(target, c.file));
  await rename(written.file, join(target, base));
}

/** One entry per variant file, merged into what the file already records. */
async function recordVariants(
  path: string,
  variants: readonly QuantizedVariant[],
  options: ConvertOptions,
): Promise<void> {
  if (variants.length === 0) return;
  const old = (await readJsonFile(path)) ?? {};
  const entries = { ...((old.variants as Json | undefined) ?? {}) } as Record<string, unknown>;
  for (const v of variants) {
    const prior = (entries[v.file] as Json | undefined) ?? {};
    entries[v.file] = {
      component: v.component,
      precision: v.precision,
      source: componentFileName(v.component, 'fp32'),
      bytes: v.bytes + v.externalData.reduce((s, x) => s + x.bytes, 0),
      sourceBytes: v.sourceBytes,
      externalData: v.externalData.map((x) => x.file),
      options: {
        ...(options.blockSize !== undefined && { blockSize: options.blockSize }),
        ...(options.accuracyLevel !== undefined && { accuracyLevel: options.accuracyLevel }),
        ...(options.perChannel !== undefined && { perChannel: options.perChannel }),
        ...(options.exclude && { exclude: options.exclude }),
      },
      summary: summarize(v.report),
      converted: count(v.report.converted),
      kept: v.report.kept.map((k) => ({ node: k.node, op: k.op, reason: k.reason })),
      castsAdded: v.report.castsAdded,
      clampedValues: v.report.clampedValues,
      reference: v.verification.drift.map((d) => ({
        output: d.output,
        maxAbsDiff: round(d.maxAbsDiff),
        cosine: round(d.cosine),
      })),
      // Family-level drift (held-out images, reference prompts) is measured separately; keep it.
      ...(prior.drift !== undefined && { drift: prior.drift }),
    };
  }
  const sorted = Object.fromEntries(Object.entries(entries).sort(([a], [b]) => a.localeCompare(b)));
  await writeFile(path, `${JSON.stringify({ ...old, format: 1, variants: sorted }, null, 1)}\n`);
}

function count(xs: ReadonlyArray<{ op: string; as: string }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[`${x.op} -> ${x.as}`] = (out[`${x.op} -> ${x.as}`] ?? 0) + 1;
  return out;
}

function round(x: number): number {
  return Number(x.toPrecision(6));
}

/**
 * transformers.js fetches external data only when `transformers.js_config.use_external_data_format`
 * says how many chunks a file has: record it for variants that have any.
 */
async function recordExternalData(
  path: string,
  config: Json,
  variants: readonly QuantizedVariant[],
): Promise<void> {
  const chunked = variants.filter((v) => v.externalData.length > 0);
  if (chunked.length === 0) return;
  const tjs = { ...((config['transformers.js_config'] as Json | undefined) ?? {}) };
  const prior = tjs.use_external_data_format;
  if (prior !== undefined && (typeof prior !== 'object' || prior === null)) return;
  const map = { ...((prior as Json | undefined) ?? {}) };
  for (const v of chunked) map[v.file.slice('onnx/'.length)] = v.externalData.length;
  tjs.use_external_data_format = map;
  await writeFile(path, `${JSON.stringify({ ...config, 'transformers.js_config': tjs }, null, 1)}\n`);
}
