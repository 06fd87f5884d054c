/**
 * CLIP / SigLIP in Node: opens the model package (folder or hub id), builds the tokenizer and
 * the Pillow-exact image processor, and hands the host-free `ClipModel` its sessions (created
 * on first use through the platform plan) and a sharp-based decoder.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InputError } from '../errors.js';
import { ClipModel, type ClipOptions, type ImageInput } from '../families/clip/model.js';
import { ImageProcessor, type ResampleMode } from '../image/processor.js';
import type { ComponentVariant, ModelPackage } from '../package/describe.js';
import type { Session } from '../runtime/session.js';
import { TextTokenizer } from '../text/tokenizer.js';
import { decodeImage } from './image/decode.js';
import type { SessionSource } from '../runtime/session-source.js';
import { ort } from './ort.js';
import { LocalModelFiles } from './files.js';
import { type CreateLoaderOptions, planModelLoad } from './loader.js';
import type { Platform } from './platform.js';

export interface ClipSessionSource {
  readonly package: ModelPackage;
  /** Create (once) the session for one component of the package. */
  session(component: string): Promise<Session>;
}

export interface NodeClipOptions extends ClipOptions {
  /** 'exact' (default) reproduces Pillow's resize; 'fast' lets the decoder shrink big JPEGs. */
  resampleMode?: ResampleMode;
  /** Decompression-bomb guard. Default 100 megapixels. */
  maxPixels?: number;
}

export interface LoadClipOptions
  extends NodeClipOptions,
    Omit<CreateLoaderOptions, 'modelType' | 'onWarning'> {
  /**
   * true: resolve once the encoders' sessions are created (the loader's eager load, with its
   * progress events). false (default): create each session on first use, so a text-only or
   * image-only caller never pays for the other tower.
   */
  readonly preload?: boolean;
}

/**
 * The one-call way in: plan the model for a platform (or 'auto'), then build CLIP on it,
 * its sessions made by the `MultimodalLoader` from the plan (precision per component,
 * providers, graph cache, warm-up). The plan's batch size and parallel-encoder setting apply
 * unless the options say otherwise. `clip.dispose()` releases its sessions.
 */
export async function loadClip(options: LoadClipOptions): Promise<ClipModel> {
  const { loader, options: given, signal, cacheDir } = await planModelLoad(options);
  const platform = loader.platform;
  // The combined graph is outside the plan when the split pair is planned: it is opened once,
  // on the plan's platform, to read the learned logit scale, and released right after.
  const planned = new Set(platform.plan.components.map((c) => c.name));
  let combined: Promise<Session> | undefined;
  let disposed = false;
  const releaseCombined = async () => {
    const s = combined;
    combined = undefined;
    await s?.then((x) => x.release()).catch(() => undefined);
  };
  const source: SessionSource = {
    package: loader.package,
    session(component, sessionSignal) {
      if (component !== 'model' || planned.has('model')) return loader.session(component, sessionSignal);
      if (disposed) return loader.session(component, sessionSignal); // the loader's typed "disposed" error
      combined ??= platform.createSession('model');
      return combined;
    },
    async dispose() {
      disposed = true;
      await Promise.all([loader.dispose(), releaseCombined()]);
    },
  };
  try {
    const wantsScale = given.logitScale === undefined && given.logitBias === undefined;
    const scaleCache =
      wantsScale && loader.package.components.model && planned.has('text_model')
        ? await logitScaleCache(platform, cacheDir)
        : undefined;
    const known = await scaleCache?.read();
    // A WebGPU plan may pin the batch dimension; texts must then come in batches of that size.
    const pinned = platform.plan.components.find((c) => c.session.freeDimensionOverrides?.batch_size)?.session
      .freeDimensionOverrides?.batch_size;
    const clip = clipFromSource(source, {
      batchSize: platform.plan.family.batchSize,
      parallelEncoders: platform.plan.family.parallelEncoderExecution,
      ...(pinned !== undefined && { textBatchSize: pinned }),
      ...given,
      ...(known && { logitScale: known.scale, logitBias: known.bias }),
      ...(scaleCache && {
        onLogitScale: async (v: { scale: number; bias: number }) => {
          await scaleCache.write(v);
          await given.onLogitScale?.(v);
        },
      }),
      ownsSource: true,
      releaseCombined,
    });
    if (given.preload) await loader.load(signal ? { signal } : {});
    return clip;
  } catch (e) {
    await source.dispose();
    throw e;
  }
}

/**
 * The learned logit scale, kept on disk beside the other caches: reading it means creating the
 * combined graph (as big as both towers: 577 MiB for ViT-B/32), so it is done once per model
 * file, not once per process. Keyed by the variant the platform would open: a local file by
 * path, size and modification time; a hub file by its repo, revision, path and listed size (the
 * key never downloads anything).
 */
async function logitScaleCache(platform: Platform, cacheDir: string) {
  const pkg = platform.package;
  let variant: ComponentVariant;
  try {
    variant = platform.unplannedVariant('model');
  } catch {
    return undefined;
  }
  let identity: unknown[];
  if (pkg.files instanceof LocalModelFiles) {
    const st = await stat(join(pkg.files.root, variant.file)).catch(() => undefined);
    if (!st) return undefined;
    identity = [pkg.files.root, variant.file, st.size, st.mtimeMs];
  } else {
    identity = [pkg.location, variant.file, variant.totalBytes];
  }
  const key = createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 32);
  const path = join(cacheDir, 'logit-scale', `${key}.json`);
  return {
    async read(): Promise<{ scale: number; bias: number } | undefined> {
      try {
        const v = JSON.parse(await readFile(path, 'utf8')) as { scale: unknown; bias: unknown };
        return typeof v.scale === 'number' && typeof v.bias === 'number'
          ? { scale: v.scale, bias: v.bias }
          : undefined;
      } catch {
        return undefined;
      }
    },
    async write(v: { scale: number; bias: number }): Promise<void> {
      // Best effort, atomic: a cache that cannot be written only costs the next start a calibration.
      try {
        await mkdir(dirname(path), { recursive: true });
        const tmp = `${path}.${process.pid}.tmp`;
        await writeFile(tmp, JSON.stringify({ ...v, model: pkg.location, file: variant.file }));
        await rename(tmp, path);
      } catch {}
    },
  };
}

export function clipFromSource(
  source: ClipSessionSource | SessionSource,
  options: NodeClipOptions & { ownsSource?: boolean; releaseCombined?: () => Promise<void> } = {},
): ClipModel {
  const pkg = source.package;
  if (pkg.family !== 'clip' && pkg.family !== 'siglip') {
    throw new InputError('INPUT_INVALID', `${pkg.location} is a ${pkg.family} model, not CLIP or SigLIP`, {
      value: pkg.family,
      valid: ['clip', 'siglip'],
    });
  }
  const textConfig = (pkg.config.text_config ?? {}) as Record<string, unknown>;
  const maxPositions = Number(textConfig.max_position_embeddings) || undefined;
  const tokenizer = TextTokenizer.fromJson(pkg.tokenizer!.tokenizerJson, pkg.tokenizer!.tokenizerConfig, {
    ...(maxPositions ? { maxPositions } : {}),
    padSide: 'right',
  });
  const processor = ImageProcessor.fromConfig(pkg.preprocessorConfig, {
    source: `${pkg.location}/preprocessor_config.json`,
    resampleMode: options.resampleMode ?? 'exact',
  });
  const size = processor.fixedOutputSize;
  if (!size) {
    throw new InputError(
      'INPUT_INVALID',
      `${pkg.location}: CLIP needs a fixed input size (crop_size or size {height,width})`,
    );
  }
  const hint = processor.decodeHint();
  const split = pkg.layout.includes('text_model');
  return new ClipModel(
    pkg.location,
    pkg.family,
    tokenizer,
    {
      ort,
      decodeImage: (input: ImageInput, signal?: AbortSignal) =>
        decodeImage(input, {
          ...(signal ? { signal } : {}),
          ...(options.maxPixels ? { maxPixels: options.maxPixels } : {}),
          ...(hint ? { fast: hint } : {}),
        }),
      preprocess: (rgb) => processor.preprocess(rgb).data,
      pixelShape: [3, size.height, size.width],
    },
    split
      ? {
          text: () => source.session('text_model'),
          vision: () => source.session('vision_model'),
          ...(pkg.components.model ? { combined: () => source.session('model') } : {}),
          ...(options.releaseCombined ? { releaseCombined: options.releaseCombined } : {}),
          ...(options.ownsSource && 'dispose' in source ? { dispose: () => source.dispose() } : {}),
        }
      : {
          combined: () => source.session('model'),
          ...(options.ownsSource && 'dispose' in source ? { dispose: () => source.dispose() } : {}),
        },
    pkg.config,
    options,
  );
}
