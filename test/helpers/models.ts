/**
 * The shipped tiny models loaded the way users load them (`loadClip` / `loadLlava` on CPU,
 * one intra-op thread so two test files can run side by side), tracked so a test file
 * releases every one it made.
 */
import { DEFAULT_BLIP_MODEL, DEFAULT_CLIP_MODEL, DEFAULT_VLM_MODEL } from '../../src/cli/paths.js';
import type { LoadedModel } from '../../src/families/family.js';
import type { ClipModel, ClipOptions } from '../../src/kinds/dual-encoder/model.js';
import type { BlipModel, ImageToTextOptions } from '../../src/kinds/image-to-text/model.js';
import type { LlavaModel, LlavaOptions } from '../../src/kinds/vision-language/model.js';
import type { LoadModelOptions } from '../../src/load/load-model.js';
import { type NodeHostOptions, loadBlip, loadClip, loadLlava } from '../../src/node/index.js';

const made: LoadedModel[] = [];

export interface TinyOptions extends Omit<LoadModelOptions, 'model'> {
  readonly model?: string;
  readonly host?: NodeHostOptions;
}

function withThreads(config: unknown): Record<string, unknown> {
  return { numThreads: 1, ...(config as Record<string, unknown> | undefined) };
}

export async function tinyClip(o: TinyOptions & { clip?: ClipOptions } = {}): Promise<ClipModel> {
  const clip = await loadClip({
    platform: 'cpu',
    ...o,
    model: o.model ?? DEFAULT_CLIP_MODEL,
    config: withThreads(o.config),
  });
  made.push(clip);
  return clip;
}

export async function tinyVlm(o: TinyOptions & { llava?: LlavaOptions } = {}): Promise<LlavaModel> {
  const vlm = await loadLlava({
    platform: 'cpu',
    ...o,
    model: o.model ?? DEFAULT_VLM_MODEL,
    config: withThreads(o.config),
  });
  made.push(vlm);
  return vlm;
}

export async function tinyBlip(o: TinyOptions & { blip?: ImageToTextOptions } = {}): Promise<BlipModel> {
  const blip = await loadBlip({
    platform: 'cpu',
    ...o,
    model: o.model ?? DEFAULT_BLIP_MODEL,
    config: withThreads(o.config),
  });
  made.push(blip);
  return blip;
}

/** Release every model these helpers made (call in afterAll). */
export async function disposeModels(): Promise<void> {
  await Promise.all(made.splice(0).map((m) => m.dispose()));
}
