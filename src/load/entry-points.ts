/**
 * The public load functions, for a host factory: each host entry (`mmrt` for Node, the web
 * entry for browsers) is this call with its own `Host`, and nothing more. `loadClip`,
 * `loadLlava` and `loadBlip` are `loadModel` expecting a model kind, with that kind's options typed.
 */
import type { LoadedModel } from '../families/family.js';
import type { Host } from '../host/host.js';
import type { ClipModel, ClipOptions } from '../kinds/dual-encoder/model.js';
import type { BlipModel, ImageToTextOptions } from '../kinds/image-to-text/model.js';
import type { LlavaModel, LlavaOptions } from '../kinds/vision-language/model.js';
import type { XclipModel, XclipOptions } from '../kinds/video-text/model.js';
import type { MultimodalLoader } from '../loader/loader.js';
import type { Placement } from '../loader/placement.js';
import { type LoadModelOptions, createLoader, loadModel } from './load-model.js';
import { type PlanOptions, createPlacement } from './placement.js';

export interface HostEntryPoints<H> {
  /** CLIP or SigLIP: embeddings, similarity, zero-shot classification. */
  loadClip(
    options: LoadModelOptions & { readonly host?: H; readonly clip?: ClipOptions },
  ): Promise<ClipModel>;
  /** LLaVA or LLaVA-Next: chat about images. */
  loadLlava(
    options: LoadModelOptions & { readonly host?: H; readonly llava?: LlavaOptions },
  ): Promise<LlavaModel>;
  /** X-CLIP: videos ranked against texts, video embeddings, video search. */
  loadXclip(
    options: LoadModelOptions & { readonly host?: H; readonly xclip?: XclipOptions },
  ): Promise<XclipModel>;
  /** BLIP (captioning or VQA) or BLIP-2: captions and answers about images. */
  loadBlip(
    options: LoadModelOptions & { readonly host?: H; readonly blip?: ImageToTextOptions },
  ): Promise<BlipModel>;
  /** A model of any family that mmrt runs. */
  loadModel(options: LoadModelOptions & { readonly host?: H }): Promise<LoadedModel>;
  /** The plan for a model on this host, without loading anything: `explain()`, `plan`. */
  createPlacement(options: PlanOptions & { readonly host?: H }): Promise<Placement>;
  /** A loader over the plan (call `load()`), for callers that want sessions, not a model. */
  createLoader(options: LoadModelOptions & { readonly host?: H }): Promise<MultimodalLoader>;
}

export function hostEntryPoints<H>(makeHost: (options: H | undefined) => Host): HostEntryPoints<H> {
  return {
    loadClip: (o) =>
      loadModel<ClipModel, ClipOptions>(makeHost(o.host), o, o.clip, {
        kind: 'dual-encoder',
        what: 'CLIP or SigLIP',
      }),
    loadLlava: (o) =>
      loadModel<LlavaModel, LlavaOptions>(makeHost(o.host), o, o.llava, {
        kind: 'vision-language',
        what: 'LLaVA or LLaVA-Next',
      }),
    loadXclip: (o) =>
      loadModel<XclipModel, XclipOptions>(makeHost(o.host), o, o.xclip, {
        kind: 'video-text',
        what: 'X-CLIP',
      }),
    loadBlip: (o) =>
      loadModel<BlipModel, ImageToTextOptions>(makeHost(o.host), o, o.blip, {
        kind: 'image-to-text',
        what: 'BLIP or BLIP-2',
      }),
    loadModel: (o) => loadModel(makeHost(o.host), o),
    createPlacement: (o) => createPlacement(makeHost(o.host), o),
    async createLoader(o) {
      const host = makeHost(o.host);
      return createLoader(host, await createPlacement(host, o), o);
    },
  };
}
