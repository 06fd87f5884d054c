/**
 * An image-to-text model (BLIP, BLIP-2) behind the captions endpoint: images from concurrent
 * requests queue per model and are captioned one batch at a time. What the endpoint needs
 * of the model is `caption(images, options)` — the task the BLIP kind provides — so routing
 * stays keyed on the model kind and this service does not care which family it is.
 */
import { ServeError } from '../../errors.js';
import type { LoadedModel } from '../../families/family.js';
import type { GenerationOptions } from '../../generation/options.js';
import type { ImageInput } from '../../media/input.js';
import { type BatchingOptions, Batcher } from '../batcher.js';
import type { ServeMetrics } from '../metrics.js';

/** A caption: its text, and token counts when the model reports them. */
export interface Caption {
  readonly text: string;
  readonly usage?: { readonly promptTokens?: number; readonly generatedTokens?: number };
}

/** What a captioning model offers (the image-to-text kind's `caption`): one caption per image, in order. */
export interface CaptioningModel extends LoadedModel {
  caption(
    images: readonly ImageInput[],
    options?: GenerationOptions & { readonly prompt?: string },
  ): { readonly result: Promise<readonly Caption[]> };
}

export function isCaptioningModel(m: LoadedModel): m is CaptioningModel {
  return typeof (m as Partial<CaptioningModel>).caption === 'function';
}

export interface CaptionJob {
  readonly image: Uint8Array;
  readonly options: GenerationOptions & { readonly prompt?: string };
}

export class CaptionService {
  readonly queue: Batcher<CaptionJob & { readonly batchKey: string }, Caption>;

  constructor(
    readonly id: string,
    readonly model: CaptioningModel,
    batching: BatchingOptions,
    metrics: ServeMetrics,
  ) {
    this.queue = new Batcher({
      ...batching,
      name: `${id} captions`,
      key: (job) => job.batchKey,
      observer: metrics.observer(id, 'captions'),
      run: async (jobs, signal) => {
        const out = await model.caption(
          jobs.map((j) => j.image),
          { ...jobs[0]!.options, signal },
        ).result;
        if (out.length !== jobs.length) {
          throw new ServeError(
            'SESSION_RUN_FAILED',
            `${id} gave ${out.length} captions for ${jobs.length} images`,
          );
        }
        return out.map((c) => ({ ok: true, value: c }));
      },
    });
  }

  caption(
    images: readonly Uint8Array[],
    options: CaptionJob['options'],
    signal: AbortSignal,
  ): Promise<Caption[]> {
    const batchKey = JSON.stringify(options);
    return this.queue.submit(
      images.map((image) => ({ image, options, batchKey })),
      signal,
    );
  }
}
