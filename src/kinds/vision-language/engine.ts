/**
 * The LLaVA request pipeline shared by one-shot chats, batches and conversations:
 * images -> pixel tensors -> (cached) features; messages -> template -> ids with image tokens
 * expanded; ids + features -> inputs_embeds for the positions not already in the KV cache;
 * then the generation loop. Sessions are asked for on first use, so vision features can be
 * computed before the decoder exists.
 */
import { MmrtError } from '../../errors.js';
import { CausalDecoder } from '../../generation/decoder.js';
import { scatterFeatures, TokenEmbedder } from '../../generation/inputs-embeds.js';
import { generate, type GenerationResult, type GenerationTimings } from '../../generation/generate.js';
import type { KvCache } from '../../generation/kv-cache.js';
import { contextOverflow, type LoopOutcome } from '../../generation/loop.js';
import {
  type GenerationDefaults,
  type GenerationOptions,
  resolveGeneration,
} from '../../generation/options.js';
import type { OrtModule, RgbImage } from '../../host/host.js';
import type { ComponentSessions } from '../../runtime/component-sessions.js';
import type { TextTokenizer } from '../../text/tokenizer.js';
import type { ImageInput } from '../../media/input.js';
import { prepareImages } from '../../media/prepare.js';
import type { ChatTemplate } from './chat-template.js';
import type { LlavaConfig } from './config.js';
import { type ImageFeatures, VisionFeatures } from './features.js';
import type { LlavaImagePreparer, PreparedImage } from './images.js';
import { type ChatMessage, imagesOf, toTemplateMessages, validateMessages } from './messages.js';
import { type PromptPlan, planPrompt } from './prompt.js';

export interface ChatTimings extends GenerationTimings {
  /** Decoding and preprocessing the images of this request. */
  readonly preprocessMs: number;
  /** Vision encoder time (0 when every image came from the feature cache). */
  readonly visionMs: number;
}

export interface ChatResult extends GenerationResult {
  readonly timings: ChatTimings;
  readonly images: {
    /** Distinct images the vision encoder ran for. */
    readonly encoded: number;
    /** Images whose features came from the feature cache. */
    readonly fromCache: number;
    /** Images whose prompt positions were all in the KV cache already: no features needed. */
    readonly notNeeded: number;
  };
}

export interface RowInput {
  readonly plan: PromptPlan;
  readonly images: readonly PreparedImage[];
  /** A cache over `plan.ids[0, past.cache.length)`, from an earlier turn. */
  readonly past?: KvCache;
}

export interface EngineParts {
  readonly modelId: string;
  readonly ort: OrtModule;
  /** The host's decoder with the model's image limits. */
  readonly decodeImage: (input: ImageInput, signal?: AbortSignal) => Promise<RgbImage>;
  readonly sessions: ComponentSessions;
  readonly config: LlavaConfig;
  readonly tokenizer: TextTokenizer;
  readonly template: ChatTemplate;
  readonly preparer: LlavaImagePreparer;
  readonly defaults: GenerationDefaults;
  readonly featureCacheBytes: number;
  readonly kvCacheMaxLength?: number;
  readonly imageNewline?: () => Promise<Float32Array | undefined>;
}

export class LlavaEngine {
  readonly vision: VisionFeatures;
  readonly embedder: TokenEmbedder;
  private decoderPromise: Promise<CausalDecoder> | undefined;

  constructor(readonly parts: EngineParts) {
    const { ort, sessions, config, defaults } = parts;
    this.vision = new VisionFeatures(
      ort,
      () => sessions.session('vision_encoder'),
      config,
      parts.modelId,
      parts.featureCacheBytes,
      parts.imageNewline,
    );
    this.embedder = new TokenEmbedder(
      ort,
      () => sessions.session('embed_tokens'),
      config.imageTokenId,
      defaults.padId,
    );
  }

  get decoderCreated(): boolean {
    return this.decoderPromise !== undefined;
  }

  decoder(): Promise<CausalDecoder> {
    if (!this.decoderPromise) {
      const c = this.parts.config;
      this.decoderPromise = this.parts.sessions
        .session('decoder_model_merged')
        .then((s) => new CausalDecoder(this.parts.ort, s, { heads: c.kvHeads, headDim: c.headDim }));
      this.decoderPromise.catch(() => {
        this.decoderPromise = undefined;
      });
    }
    return this.decoderPromise;
  }

  /** Decode and preprocess images; a failure names the image and its position. */
  prepareImages(inputs: readonly ImageInput[], signal?: AbortSignal): Promise<PreparedImage[]> {
    return prepareImages(inputs, async (input) =>
      this.parts.preparer.prepare(await this.parts.decodeImage(input, signal)),
    );
  }

  render(messages: readonly ChatMessage[]): string {
    return this.parts.template.render(toTemplateMessages(messages), true);
  }

  plan(messages: readonly ChatMessage[], images: readonly PreparedImage[]): PromptPlan {
    validateMessages(messages);
    const expected = imagesOf(messages).length;
    if (expected !== images.length)
      throw new RangeError(`${expected} image parts but ${images.length} prepared images`);
    return planPrompt(
      this.render(messages),
      this.parts.tokenizer,
      this.parts.config.imageTokenId,
      images.map((im) => im.featureCount),
    );
  }

  /** Image features by image index, computed only for images that reach uncached positions. */
  private async featuresFor(rows: readonly RowInput[]) {
    const wanted: Array<{ row: number; image: number }> = [];
    let notNeeded = 0;
    rows.forEach((row, r) => {
      const from = row.past?.length ?? 0;
      const needed = new Set(row.plan.spans.filter((s) => s.start + s.length > from).map((s) => s.image));
      notNeeded += row.images.length - needed.size;
      for (const image of needed) wanted.push({ row: r, image });
    });
    const t0 = performance.now();
    const { features, cached, encoded } = await this.vision.get(
      wanted.map((w) => rows[w.row]!.images[w.image]!),
    );
    const ms = performance.now() - t0;
    const byRow: Array<Array<ImageFeatures | undefined>> = rows.map((row) =>
      new Array(row.images.length).fill(undefined),
    );
    wanted.forEach((w, i) => {
      byRow[w.row]![w.image] = features[i];
    });
    return {
      byRow,
      ms: encoded === 0 ? 0 : ms,
      encoded,
      cached,
      notNeeded,
    };
  }

  /**
   * Generate for each row (one row may resume from a cache; several rows are left-padded into
   * one batch). `emit` receives each row's text deltas.
   */
  async run(
    rows: readonly RowInput[],
    options: GenerationOptions,
    startedAt: number,
    preprocessMs: number,
    emit?: (row: number, delta: string) => void,
  ): Promise<{ results: ChatResult[]; outcome: LoopOutcome<KvCache> }> {
    const resolved = resolveGeneration(
      {
        ...options,
        ...(options.kvCacheMaxLength === undefined && this.parts.kvCacheMaxLength !== undefined
          ? { kvCacheMaxLength: this.parts.kvCacheMaxLength }
          : {}),
      },
      this.parts.defaults,
    );
    if (rows.length > 1 && rows.some((r) => r.past))
      throw new RangeError('only a single row can resume from a cache');
    // Refuse an oversized prompt before spending time on the vision encoder.
    for (const row of rows) {
      const cached = row.past?.length ?? 0;
      if (row.plan.ids.length > resolved.kvCacheMaxLength)
        throw contextOverflow(row.plan.ids.length, cached, resolved.kvCacheMaxLength);
      if (cached >= row.plan.ids.length)
        throw new RangeError('a resumed row needs at least one new position');
    }
    const feats = await this.featuresFor(rows);
    const decoder = await this.decoder();
    const batch = rows.length;
    const segments = rows.map((r) => r.plan.ids.slice(r.past?.length ?? 0));
    const width = Math.max(...segments.map((s) => s.length));
    const pad = this.parts.defaults.padId;
    const ids: number[] = [];
    const newMask = new BigInt64Array(batch * width);
    segments.forEach((seg, r) => {
      const left = width - seg.length;
      for (let j = 0; j < left; j++) ids.push(pad);
      ids.push(...seg);
      newMask.fill(1n, r * width + left, (r + 1) * width);
    });
    if (options.signal?.aborted) throw new MmrtError('ABORTED', 'generation was aborted');
    const { data: embeds, hidden } = await this.embedder.embed(ids, batch, width);
    rows.forEach((row, r) => {
      const seg = segments[r]!;
      const rowOffset = (r * width + (width - seg.length)) * hidden;
      scatterFeatures(
        embeds,
        hidden,
        rowOffset,
        row.past?.length ?? 0,
        seg.length,
        row.plan.spans,
        feats.byRow[r]!,
      );
    });
    const past = rows[0]!.past;
    const { results, loop } = await generate({
      decoder,
      request: {
        batch,
        tokens: { kind: 'embeds', data: embeds },
        newLength: width,
        newMask,
        cache: past ?? decoder.emptyCache(batch),
        ...(past ? { pastMask: new BigInt64Array(past.length).fill(1n) } : {}),
        contextIds: rows.map((r) => r.plan.ids),
      },
      options: resolved,
      next: async (next) => ({ kind: 'embeds', data: (await this.embedder.embed(next, batch, 1)).data }),
      decode: (tokenIds) => this.parts.tokenizer.decode(tokenIds, true),
      startedAt,
      promptTokens: rows.map((r) => r.plan.ids.length),
      cachedTokens: rows.map((r) => r.past?.length ?? 0),
      ...(emit ? { emit } : {}),
    });
    return {
      results: results.map((res) => ({
        ...res,
        timings: { ...res.timings, preprocessMs, visionMs: feats.ms },
        images: { encoded: feats.encoded, fromCache: feats.cached, notNeeded: feats.notNeeded },
      })),
      outcome: loop,
    };
  }
}
