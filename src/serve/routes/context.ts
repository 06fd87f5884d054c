/** What a route handler is given besides the request: the models, the settings, the image policy. */
import { ServeError } from '../../errors.js';
import type { ServeConfig } from '../config.js';
import { at } from '../errors.js';
import { type ImageSourceOptions, type RequestImage, requestImage } from '../images.js';
import type { ModelRegistry } from '../models.js';

export interface RouteContext {
  readonly models: ModelRegistry;
  readonly config: ServeConfig;
  /** How request images become bytes: the host's fetcher (under its URL policy) and header probe. */
  readonly images: Omit<ImageSourceOptions, 'signal' | 'maxBytes' | 'maxPixels'>;
}

/** Every image of a request resolved at once; a failure names its place in the body. */
export function resolveImages(
  ctx: RouteContext,
  refs: ReadonlyArray<{ readonly ref: unknown; readonly param: string }>,
  signal: AbortSignal,
): Promise<RequestImage[]> {
  const max = ctx.config.limits.maxImagesPerRequest;
  if (refs.length > max) {
    throw new ServeError(
      'REQUEST_TOO_LARGE',
      `${refs.length} images in one request; this server takes at most ${max}`,
      {
        value: refs.length,
        valid: `at most ${max} images per request`,
      },
    );
  }
  const options: ImageSourceOptions = {
    ...ctx.images,
    maxBytes: ctx.config.limits.maxImageBytes,
    maxPixels: ctx.config.limits.maxImagePixels,
    signal,
  };
  return Promise.all(
    refs.map(async ({ ref, param }) => {
      try {
        return await requestImage(ref, options);
      } catch (e) {
        throw at(param, e);
      }
    }),
  );
}
