/**
 * LLaVA in Node: the host-free `LlavaModel` with onnxruntime-node and sharp decoding. Takes a
 * `SessionSource` (the platform plan or `openSessionSource`), or a model folder / hub id.
 * `loadLlava` is the planned path: per-component precision and providers from the platform
 * plan, loaded by the `MultimodalLoader` with the decoder created on first use.
 */
import { InputError } from '../errors.js';
import type { ImageInput } from '../families/llava/messages.js';
import { LlavaModel, type LlavaOptions } from '../families/llava/model.js';
import type { SessionSource } from '../runtime/session-source.js';
import { decodeImage } from './image/decode.js';
import { type CreateLoaderOptions, type PlatformLoader, planModelLoad } from './loader.js';
import { ort } from './ort.js';
import { openSessionSource, type SimpleSourceOptions } from './session-source.js';

export interface NodeLlavaOptions extends LlavaOptions {
  /** Decompression-bomb guard. Default 100 megapixels. */
  readonly maxPixels?: number;
}

export function llavaFromSource(source: SessionSource, options: NodeLlavaOptions = {}): Promise<LlavaModel> {
  const family = source.package.family;
  if (family !== 'llava' && family !== 'llava_next') {
    throw new InputError('INPUT_INVALID', `${source.package.location} is a ${family} model, not LLaVA`, {
      value: family,
      valid: ['llava', 'llava_next'],
    });
  }
  return LlavaModel.create(
    source,
    {
      ort,
      decodeImage: (input: ImageInput, signal?: AbortSignal) =>
        decodeImage(input, {
          ...(signal ? { signal } : {}),
          ...(options.maxPixels ? { maxPixels: options.maxPixels } : {}),
        }),
    },
    options,
  );
}

/** Open a model folder or hub id and build its LLaVA model; dispose() releases the sessions. */
export async function openLlava(
  model: string,
  options: NodeLlavaOptions & SimpleSourceOptions = {},
): Promise<{ model: LlavaModel; source: SessionSource; dispose: () => Promise<void> }> {
  const source = await openSessionSource(model, options);
  try {
    const llava = await llavaFromSource(source, options);
    return { model: llava, source, dispose: () => source.dispose() };
  } catch (e) {
    await source.dispose();
    throw e;
  }
}

export interface LoadLlavaOptions extends NodeLlavaOptions, Omit<CreateLoaderOptions, 'modelType'> {}

export interface LoadedLlava {
  readonly model: LlavaModel;
  /** The loader: its platform (plan, `explain()`, fallbacks), progress, and per-component readiness. */
  readonly loader: PlatformLoader;
  /** Releases every session (the decoder's too, if it was created). */
  dispose(): Promise<void>;
}

/**
 * The one-call way in: plan the model for a platform (or 'auto') and load it with the
 * `MultimodalLoader`. Resolves when the eager components are ready (by default the vision
 * encoder and token embeddings); the language model is lazy by default and created by the first
 * generation — `loader.ready('decoder_model_merged')` or the plan's `eager` option change that.
 * The plan's KV-cache length becomes the default `kvCacheMaxLength`.
 */
export async function loadLlava(options: LoadLlavaOptions): Promise<LoadedLlava> {
  const { loader, options: given, signal } = await planModelLoad(options);
  const plan = loader.platform.plan;
  try {
    const maxLength = plan.generation?.kvCache === false ? undefined : plan.generation?.maxLength;
    const model = await llavaFromSource(loader, {
      ...(maxLength !== undefined ? { kvCacheMaxLength: maxLength } : {}),
      ...given,
    });
    await loader.load(signal ? { signal } : {});
    return { model, loader, dispose: () => loader.dispose() };
  } catch (e) {
    await loader.dispose();
    throw e;
  }
}
