/**
 * The dual-encoder kind as a family: the layouts (split towers, preferred, or the combined
 * graph), component roles, defaults, and `create`, which wires a `ClipModel` to its loader's
 * sessions, the host's decoder and the learned logit scale (kept in the host's store, keyed
 * by the combined graph's fingerprint, so it is read from the graph once per model file).
 */
import { InputError } from '../../errors.js';
import type { FamilyContext, FamilyDescriptor } from '../../families/family.js';
import type { KeyValueStore } from '../../host/host.js';
import type { MultimodalLoader } from '../../loader/loader.js';
import { decodeConcurrency, imageDecoder } from '../../media/input.js';
import {
  type Architecture,
  COMBINED_TOWERS,
  TEXT_ENCODER,
  VISION_ENCODER,
} from '../../package/family-spec.js';
import { readLogitScale } from '../../package/onnx-scalars.js';
import { ClipModel, type ClipOptions, DUAL_ENCODER_STYLES, type DualEncoderStyle } from './model.js';
import { packageImageProcessor, packageTokenizer } from '../../package/preprocessing.js';

export interface DualEncoderFamily {
  readonly name: string;
  readonly modelTypes: readonly string[];
  readonly scoring: DualEncoderStyle['scoring'];
  readonly architecture?: Architecture;
}

export function dualEncoderFamily(def: DualEncoderFamily): FamilyDescriptor<ClipModel, ClipOptions> {
  const style = DUAL_ENCODER_STYLES[def.scoring];
  return {
    name: def.name,
    kind: 'dual-encoder',
    modelTypes: def.modelTypes,
    architecture: def.architecture ?? 'CLIP',
    layouts: [['text_model', 'vision_model'], ['model']],
    // The combined graph beside the split pair carries the learned logit scale.
    optionalComponents: ['model'],
    components: { text_model: TEXT_ENCODER, vision_model: VISION_ENCODER, model: COMBINED_TOWERS },
    needsTokenizer: true,
    needsPreprocessor: true,
    traits: ['dual-encoder', 'text'],
    defaults: {
      // The towers alternate on every call; with ORT's spinning, the idle session's threads keep
      // the cores busy while the other runs. Measured on ViT-B/32, 2 cores, text then vision in
      // turn: 43 + 58 ms spinning, 22 + 33 ms not (bench/results/clip.json).
      threadSpinning: false,
      // Batches of 8 images: 15% more throughput than one at a time on ViT-B/32 (2 cores, CPU),
      // and the next chunk decodes while this one runs.
      batchSize: 8,
      // Each tower is created on first use: a text-only or image-only caller never pays for the
      // other (`preload` loads both with the model).
      components: {
        text_model: { loadStrategy: 'lazy' },
        vision_model: { loadStrategy: 'lazy' },
        model: { loadStrategy: 'lazy' },
      },
    },
    create: (context, options) => createClip(context, style, options),
  };
}

async function createClip(
  { host, loader, images = {}, onWarning }: FamilyContext,
  style: DualEncoderStyle,
  options: ClipOptions,
): Promise<ClipModel> {
  const pkg = loader.package;
  const tokenizer = packageTokenizer(pkg, { padSide: 'right', maxPositions: pkg.dims.text.maxPositions });
  const processor = packageImageProcessor(pkg, images.resampleMode);
  const size = processor.fixedOutputSize;
  if (!size) {
    throw new InputError(
      'INPUT_INVALID',
      `${pkg.location}: CLIP needs a fixed input size (crop_size or size {height,width})`,
    );
  }
  const plan = loader.placement?.plan;
  // A WebGPU plan may pin the batch dimension; texts must then come in batches of that size.
  const pinned = plan?.components.find((c) => c.session.freeDimensionOverrides?.batch_size)?.session
    .freeDimensionOverrides?.batch_size;
  // A WebNN plan pins the text length too (static graphs): texts are then padded to it.
  const pinnedLength = plan?.components.some((c) => c.session.freeDimensionOverrides?.sequence_length);
  const split = pkg.layout.includes('text_model');
  const hasCombined = loader.components.includes('model');
  const wantsScale = options.logitScale === undefined && options.logitBias === undefined;
  const scaleCache =
    wantsScale && split && hasCombined ? await logitScaleCache(host.store, loader) : undefined;
  const known = await scaleCache?.read();
  return new ClipModel(
    {
      modelId: pkg.location,
      family: pkg.family,
      style,
      tokenizer,
      images: {
        ort: host.ort,
        decodeImage: imageDecoder(host, images, processor.decodeHint()),
        preprocess: (rgb) => processor.preprocess(rgb).data,
        preprocessInto: (rgb, out, offset) =>
          processor.preprocessInto(rgb, out, offset, size.width, size.height),
        pixelShape: [3, size.height, size.width],
        decodeConcurrency: decodeConcurrency(images),
      },
      sessions: split
        ? {
            text: () => loader.session('text_model'),
            vision: () => loader.session('vision_model'),
            ...(hasCombined && {
              combined: () => loader.session('model'),
              releaseCombined: () => loader.release('model'),
              readScale: () => scanScale(loader),
            }),
          }
        : { combined: () => loader.session('model') },
      config: pkg.config,
      loader,
      ...(plan && {
        planned: {
          batchSize: plan.family.batchSize,
          parallelEncoders: plan.family.parallelEncoderExecution,
          ...(pinned !== undefined && { textBatchSize: pinned, pinnedBatch: pinned }),
          ...(pinnedLength && { textPadding: 'max_length' as const }),
        },
      }),
      ...(onWarning && { onWarning }),
    },
    {
      ...options,
      ...(known && { logitScale: known.scale, logitBias: known.bias }),
      ...(scaleCache && {
        onLogitScale: async (v: { scale: number; bias: number }) => {
          await scaleCache.write(v);
          await options.onLogitScale?.(v);
        },
      }),
    },
  );
}

/**
 * The learned logit scale in the host's store: reading it means creating the combined graph
 * (as big as both towers: 577 MiB for ViT-B/32), so it is done once per model file, not once
 * per process. Keyed by the fingerprint of the file the loader would open (local: path, size,
 * modification time; hub: revision and listed size), which never downloads anything.
 */
async function logitScaleCache(store: KeyValueStore, loader: MultimodalLoader) {
  const pkg = loader.package;
  const file = loader.spec.components.find((c) => c.name === 'model')?.file;
  if (!file) return undefined;
  let fingerprint: string;
  try {
    fingerprint = await pkg.files.fingerprint(file);
  } catch {
    return undefined;
  }
  const key = `logit-scale/${await sha256Hex(JSON.stringify([pkg.location, file, fingerprint]))}.json`;
  return {
    async read(): Promise<{ scale: number; bias: number } | undefined> {
      try {
        const bytes = await store.get(key);
        if (!bytes) return undefined;
        const v = JSON.parse(new TextDecoder().decode(bytes)) as { scale: unknown; bias: unknown };
        return typeof v.scale === 'number' && typeof v.bias === 'number'
          ? { scale: v.scale, bias: v.bias }
          : undefined;
      } catch {
        return undefined;
      }
    },
    async write(v: { scale: number; bias: number }): Promise<void> {
      // Best effort: a store that cannot be written only costs the next start a calibration.
      try {
        const text = JSON.stringify({ ...v, model: pkg.location, file });
        await store.put(key, new TextEncoder().encode(text));
      } catch {}
    },
  };
}

/** The scale from the combined graph's file, scanned without loading it (see onnx-scalars.ts). */
async function scanScale(loader: MultimodalLoader): Promise<{ scale: number; bias: number } | undefined> {
  const files = loader.package.files;
  const entry = loader.spec.components.find((c) => c.name === 'model');
  if (!files.readRange || !entry || (entry.externalData?.length ?? 0) > 0) return undefined;
  const size = await files.size(entry.file);
  const found = await readLogitScale((offset, length) => files.readRange!(entry.file, offset, length), size);
  return found && { scale: found.scale, bias: found.bias };
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)]
    .slice(0, 16)
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('');
}
