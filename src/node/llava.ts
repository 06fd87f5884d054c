/**
 * LLaVA in Node: the host-free `LlavaModel` with onnxruntime-node and sharp decoding. Takes a
 * `SessionSource` (the platform plan or `openSessionSource`), or a model folder / hub id.
 */
import { InputError } from '../errors.js';
import type { ImageInput } from '../families/llava/messages.js';
import { LlavaModel, type LlavaOptions } from '../families/llava/model.js';
import type { SessionSource } from '../runtime/session-source.js';
import { decodeImage } from './image/decode.js';
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
