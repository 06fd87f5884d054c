/**
 * The vision-language kind (LLaVA, LLaVA-Next): chat about images with streaming,
 * vision-feature caching, batches and multi-turn KV reuse. Host-free: the loader decides each
 * component's precision and placement and creates sessions on first use, the host decodes
 * images; everything else — template, tokens, pixels, features, generation — is here.
 */
import { InputError, ModelPackageError } from '../../errors.js';
import type { LoadedModel } from '../../families/family.js';
import type { GenerationOptions } from '../../generation/options.js';
import { generationDefaults } from '../../generation/options.js';
import { TextStream } from '../../generation/text-stream.js';
import type { Host } from '../../host/host.js';
import type { MultimodalLoader } from '../../loader/loader.js';
import { type ImageInput, type ImageOptions, imageDecoder } from '../../media/input.js';
import type { DecodeHint, ImageProcessor } from '../../media/processor.js';
import type { ComponentSessions } from '../../runtime/component-sessions.js';
import type { TextTokenizer } from '../../text/tokenizer.js';
import { loadChatTemplate } from './chat-template.js';
import { type LlavaConfig, readLlavaConfig } from './config.js';
import { Conversation, type ConversationOptions } from './conversation.js';
import { type ChatResult, LlavaEngine } from './engine.js';
import type { ImageFeatures, VisionStats } from './features.js';
import { LlavaImagePreparer } from './images.js';
import { type ChatMessage, imagesOf, userTurn, validateMessages } from './messages.js';
import type { PromptPlan } from './prompt.js';
import { packageImageProcessor, packageTokenizer } from '../../package/preprocessing.js';

export interface LlavaOptions {
  /** Vision-feature cache size in bytes; 0 turns it off. Default 64 MiB. */
  readonly featureCacheBytes?: number;
  /** Names the model in cache keys. Default: the package location. */
  readonly modelId?: string;
  /**
   * LLaVA-Next: the learned image_newline vector ([hidden]) that ends each row of tile
   * features. Default: read from the package's `image_newline.json` (a list of numbers)
   * when present; without one, no newline features are inserted.
   */
  readonly imageNewline?: Float32Array;
}

export interface LlavaStats {
  readonly vision: VisionStats;
  /** Whether the decoder session has been asked for yet (it is created on first generation). */
  readonly decoderCreated: boolean;
}

/**
 * How far a 'fast' decoder may shrink: to the processor's size, or for any-resolution input to
 * the largest grid resolution (tiles are cut from the image at up to that size).
 */
function decodeHint(config: LlavaConfig, processor: ImageProcessor): DecodeHint | undefined {
  const hint = processor.decodeHint();
  if (!hint || !config.anyResolution || !config.gridPinpoints) return hint;
  const height = Math.max(...config.gridPinpoints.map((p) => p[0]));
  const width = Math.max(...config.gridPinpoints.map((p) => p[1]));
  return { width, height };
}

/** The image_newline vector, read once when the first LLaVA-Next image needs it. */
function lazyNewline(
  sessions: ComponentSessions,
  given: Float32Array | undefined,
): () => Promise<Float32Array | undefined> {
  let p: Promise<Float32Array | undefined> | undefined;
  return () => {
    p ??= (async () => {
      if (given) return given;
      const files = sessions.package.files;
      if (!(await files.exists('image_newline.json'))) return undefined;
      const v: unknown = JSON.parse(await files.readText('image_newline.json'));
      const list = Array.isArray(v) ? v : (v as { image_newline?: unknown })?.image_newline;
      if (!Array.isArray(list) || !list.every((x) => typeof x === 'number')) {
        throw new ModelPackageError(
          'MODEL_CONFIG_INVALID',
          `${sessions.package.location}/image_newline.json must hold a list of numbers`,
        );
      }
      return Float32Array.from(list as number[]);
    })();
    return p;
  };
}

/** Everything the family wiring (`family.ts`) gives a vision-language model. */
export interface LlavaParts {
  readonly host: Pick<Host, 'ort' | 'decodeImage'>;
  readonly loader: MultimodalLoader;
  readonly images: ImageOptions;
  readonly anyResolution: boolean;
  /** The plan's KV-cache length (`kv_cache_max_length`): each request's default. */
  readonly kvCacheMaxLength?: number;
}

export class LlavaModel implements LoadedModel {
  private constructor(
    private readonly engine: LlavaEngine,
    readonly loader: MultimodalLoader,
  ) {}

  static async create(parts: LlavaParts, options: LlavaOptions = {}): Promise<LlavaModel> {
    const { loader, host } = parts;
    const pkg = loader.package;
    const tokenizer = packageTokenizer(pkg, { padSide: 'left' });
    const config = readLlavaConfig(pkg, (id) => tokenizer.tokenizer.id_to_token(id), {
      anyResolution: parts.anyResolution,
    });
    const processor = packageImageProcessor(pkg, parts.images.resampleMode);
    const featureCacheBytes = options.featureCacheBytes ?? 64 * 1024 * 1024;
    if (!(Number.isFinite(featureCacheBytes) && featureCacheBytes >= 0)) {
      throw new InputError('INPUT_INVALID', 'featureCacheBytes must be >= 0', { value: featureCacheBytes });
    }
    const engine = new LlavaEngine({
      modelId: options.modelId ?? pkg.location,
      ort: host.ort,
      decodeImage: imageDecoder(host, parts.images, decodeHint(config, processor)),
      sessions: loader,
      config,
      tokenizer,
      template: await loadChatTemplate(pkg),
      preparer: new LlavaImagePreparer(config, processor),
      defaults: generationDefaults(
        pkg.generationConfig,
        pkg.config,
        `${pkg.location}/generation_config.json`,
      ),
      featureCacheBytes,
      ...(parts.kvCacheMaxLength !== undefined ? { kvCacheMaxLength: parts.kvCacheMaxLength } : {}),
      ...(config.anyResolution ? { imageNewline: lazyNewline(loader, options.imageNewline) } : {}),
    });
    return new LlavaModel(engine, loader);
  }

  /** Release every session, the decoder's too if it was created (the model owns its loader). */
  async dispose(): Promise<void> {
    await this.loader.dispose();
  }

  get config(): LlavaConfig {
    return this.engine.parts.config;
  }

  get tokenizer(): TextTokenizer {
    return this.engine.parts.tokenizer;
  }

  stats(): LlavaStats {
    return { vision: this.engine.vision.stats(), decoderCreated: this.engine.decoderCreated };
  }

  /** The prompt text the chat template makes of `messages` (generation prompt included). */
  renderPrompt(messages: readonly ChatMessage[]): string {
    return this.engine.render(messages);
  }

  /** The token ids of the prompt, image tokens expanded (decodes the images to count them). */
  async promptIds(messages: readonly ChatMessage[], signal?: AbortSignal): Promise<PromptPlan> {
    validateMessages(messages);
    const images = await this.engine.prepareImages(imagesOf(messages), signal);
    return this.engine.plan(messages, images);
  }

  /** Vision features of one image (cached). Needs only the vision encoder, never the decoder. */
  async imageFeatures(image: ImageInput, signal?: AbortSignal): Promise<ImageFeatures> {
    const [prepared] = await this.engine.prepareImages([image], signal);
    const { features } = await this.engine.vision.get([prepared!]);
    return features[0]!;
  }

  /** One answer to a whole chat, streamed. */
  chat(messages: readonly ChatMessage[], options: GenerationOptions = {}): TextStream<ChatResult> {
    const startedAt = performance.now();
    return new TextStream<ChatResult>(async (emit) => {
      validateMessages(messages);
      const t0 = performance.now();
      const images = await this.engine.prepareImages(imagesOf(messages), options.signal);
      const preprocessMs = performance.now() - t0;
      const plan = this.engine.plan(messages, images);
      const { results, outcome } = await this.engine.run(
        [{ plan, images }],
        options,
        startedAt,
        preprocessMs,
        (_r, d) => emit(d),
      );
      outcome.cache.dispose();
      return results[0]!;
    });
  }

  /** A question about one image. */
  ask(image: ImageInput, question: string, options: GenerationOptions = {}): TextStream<ChatResult> {
    if (image === undefined || image === null || image === '') {
      throw new InputError('INPUT_INVALID', 'ask() needs an image', {
        value: image,
        valid: 'a file path, URL, bytes or decoded pixels',
        hint: 'use chat() for text-only messages',
      });
    }
    if (typeof question !== 'string' || question.trim() === '') {
      throw new InputError('INPUT_INVALID', 'ask() needs a question', { value: question });
    }
    return this.chat([userTurn(question, [image])], options);
  }

  /**
   * Several chats at once, left-padded into one batch (one decoder run per step for all).
   * Not streamed; results in input order.
   */
  async generateBatch(
    chats: ReadonlyArray<readonly ChatMessage[]>,
    options: GenerationOptions = {},
  ): Promise<ChatResult[]> {
    if (!Array.isArray(chats) || chats.length === 0) {
      throw new InputError('INPUT_INVALID', 'generateBatch needs at least one chat', { value: chats });
    }
    for (const m of chats) validateMessages(m);
    const startedAt = performance.now();
    const t0 = performance.now();
    const prepared = await Promise.all(
      chats.map((m) => this.engine.prepareImages(imagesOf(m), options.signal)),
    );
    const preprocessMs = performance.now() - t0;
    const rows = chats.map((m, i) => ({ plan: this.engine.plan(m, prepared[i]!), images: prepared[i]! }));
    const { results, outcome } = await this.engine.run(rows, options, startedAt, preprocessMs);
    outcome.cache.dispose();
    return results;
  }

  /** A multi-turn chat that reuses its KV cache from turn to turn. */
  conversation(options: ConversationOptions = {}): Conversation {
    return new Conversation(this.engine, options);
  }
}
