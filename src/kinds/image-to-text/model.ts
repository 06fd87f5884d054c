/**
 * The image-to-text kind (BLIP captioning and VQA, BLIP-2): captions and answers about images,
 * batched and streamed, with the image side cached by content. Host-free: the loader decides
 * each component's precision and placement and creates sessions on first use, the host decodes
 * images; preprocessing, tokens and generation are here.
 */
import { InputError, MmrtError } from '../../errors.js';
import type { LoadedModel } from '../../families/family.js';
import { hashTensor } from '../../cache/content-hash.js';
import type { GenerationResult, GenerationTimings } from '../../generation/generate.js';
import type { FeatureVectors } from '../../generation/inputs-embeds.js';
import {
  type GenerationDefaults,
  type GenerationOptions,
  generationDefaults,
  type ResolvedGeneration,
  resolveGeneration,
} from '../../generation/options.js';
import { BatchTextStream, TextStream } from '../../generation/text-stream.js';
import type { Host } from '../../host/host.js';
import type { MultimodalLoader } from '../../loader/loader.js';
import { type ImageInput, type ImageOptions, imageDecoder } from '../../media/input.js';
import { prepareImages } from '../../media/prepare.js';
import type { ModelPackage } from '../../package/describe.js';
import type { TextTokenizer } from '../../text/tokenizer.js';
import { BlipEngine } from './blip-engine.js';
import { Blip2Engine } from './blip2-engine.js';
import {
  DEFAULT_QUESTION_TEMPLATE,
  type ImageToTextConfig,
  type ImageToTextTask,
  readBlip2Config,
  readBlipConfig,
} from './config.js';
import { CachedImageEncoder, type EncoderStats, type PreparedImage, QuestionEncoder } from './encoders.js';
import type { EngineRow, ImageToTextEngine } from './engine.js';
import { packageImageProcessor, packageTokenizer } from '../../package/preprocessing.js';

export interface ImageToTextOptions {
  /** Image-side cache (BLIP image embeds, BLIP-2 Q-Former outputs) in bytes; 0 turns it off. Default 64 MiB. */
  readonly featureCacheBytes?: number;
  /** Names the model in cache keys. Default: the package location. */
  readonly modelId?: string;
  /** BLIP-2: how a question becomes its prompt; `{question}` is replaced. Default 'Question: {question} Answer:'. */
  readonly questionTemplate?: string;
}

export interface ImageTextTimings extends GenerationTimings {
  /** Decoding and preprocessing the images of this request. */
  readonly preprocessMs: number;
  /**
   * The image side (vision model, BLIP-2's Q-Former) and BLIP VQA's question encoder, for the
   * batch this request ran in; 0 for a caption whose image came from the cache.
   */
  readonly encoderMs: number;
}

interface ImageTextResult extends GenerationResult {
  readonly timings: ImageTextTimings;
  readonly image: {
    /** The image's features came from the cache (no vision model run for it). */
    readonly fromCache: boolean;
  };
}

export interface CaptionResult extends ImageTextResult {
  /** The caption as Hugging Face decodes it: the prompt (when one was given) and its continuation. */
  readonly text: string;
  readonly prompt: string;
  /** The generated continuation alone, as it follows the prompt (`text` is `prompt + generatedText`). */
  readonly generatedText: string;
}

export interface AnswerResult extends ImageTextResult {
  readonly question: string;
}

export interface CaptionOptions extends GenerationOptions {
  /** Conditional captioning: the caption continues this text ("a picture of"). */
  readonly prompt?: string;
}

export interface ImageQuestion {
  readonly image: ImageInput;
  readonly question: string;
}

export interface ImageToTextStats {
  readonly images: EncoderStats;
  /** BLIP VQA's question encoder runs. */
  readonly questionEncoderRuns: number;
  readonly decoderCreated: boolean;
}

/** Everything the family wiring (`family.ts`) gives an image-to-text model. */
export interface ImageToTextParts {
  readonly host: Pick<Host, 'ort' | 'decodeImage'>;
  readonly loader: MultimodalLoader;
  readonly images: ImageOptions;
  readonly architecture: 'blip' | 'blip2';
  /** The plan's KV-cache length (`kv_cache_max_length`): each request's default. */
  readonly kvCacheMaxLength?: number;
  /** Rows per decoder batch (`batch_size`); longer lists run in batches of this size. */
  readonly batchSize: number;
}

/** Hugging Face's max_length of 20 when the package says nothing: captions and answers are short. */
const DEFAULT_MAX_NEW_TOKENS = 20;

function defaultsFor(pkg: ModelPackage, config: ImageToTextConfig, padId: number): GenerationDefaults {
  const base = generationDefaults(pkg.generationConfig, pkg.config);
  const given = pkg.generationConfig?.max_new_tokens;
  const maxNewTokens = typeof given === 'number' && given > 0 ? base.maxNewTokens : DEFAULT_MAX_NEW_TOKENS;
  if (config.kind === 'encoder-decoder') {
    // BLIP's generate ends at [SEP] and pads with [PAD], whatever eos_token_id says.
    return { ...base, maxNewTokens, eosIds: [config.eosId], padId: config.padId };
  }
  return { ...base, maxNewTokens, padId };
}

function requireImage(image: unknown, what: string): void {
  if (image === undefined || image === null || image === '') {
    throw new InputError('INPUT_INVALID', `${what} needs an image`, {
      value: image,
      valid: 'a file path, URL, bytes or decoded pixels',
    });
  }
}

function requireQuestion(question: unknown, index?: number): void {
  if (typeof question !== 'string' || question.trim() === '') {
    throw new InputError(
      'INPUT_INVALID',
      `answer() needs a question${index !== undefined ? ` (item ${index})` : ''}`,
      {
        value: question,
        ...(index !== undefined && { index }),
      },
    );
  }
}

export class BlipModel implements LoadedModel {
  private constructor(
    private readonly engine: ImageToTextEngine,
    readonly loader: MultimodalLoader,
    readonly tokenizer: TextTokenizer,
    private readonly prepare: (input: ImageInput, signal?: AbortSignal) => Promise<PreparedImage>,
    private readonly defaults: GenerationDefaults,
    private readonly parts: ImageToTextParts,
    private readonly questions: QuestionEncoder | undefined,
  ) {}

  static async create(parts: ImageToTextParts, options: ImageToTextOptions = {}): Promise<BlipModel> {
    const { loader, host } = parts;
    const pkg = loader.package;
    const config = parts.architecture === 'blip' ? readBlipConfig(pkg) : readBlip2Config(pkg);
    const tokenizer = packageTokenizer(pkg, {
      padSide: config.kind === 'encoder-decoder' ? 'right' : 'left',
      maxPositions: pkg.dims.text.maxPositions,
    });
    const processor = packageImageProcessor(pkg, parts.images.resampleMode);
    const cacheBytes = options.featureCacheBytes ?? 64 * 1024 * 1024;
    if (!(Number.isFinite(cacheBytes) && cacheBytes >= 0)) {
      throw new InputError('INPUT_INVALID', 'featureCacheBytes must be >= 0', { value: cacheBytes });
    }
    const template = options.questionTemplate ?? DEFAULT_QUESTION_TEMPLATE;
    if (!template.includes('{question}')) {
      throw new InputError('INPUT_INVALID', 'questionTemplate must contain {question}', {
        value: template,
        valid: `e.g. "${DEFAULT_QUESTION_TEMPLATE}"`,
      });
    }
    const modelId = options.modelId ?? pkg.location;
    const vision = {
      session: () => loader.session('vision_model'),
      input: 'pixel_values',
      output: 'image_embeds',
    };
    const padId = tokenizer.padId;
    let engine: ImageToTextEngine;
    let questions: QuestionEncoder | undefined;
    if (config.kind === 'encoder-decoder') {
      const images = new CachedImageEncoder(host.ort, [vision], modelId, cacheBytes);
      questions = config.tasks.includes('answer')
        ? new QuestionEncoder(host.ort, () => loader.session('text_encoder'))
        : undefined;
      engine = new BlipEngine({
        ort: host.ort,
        sessions: loader,
        config,
        tokenizer,
        images,
        ...(questions && { questions }),
      });
    } else {
      const qformer = {
        session: () => loader.session('qformer'),
        input: 'image_embeds',
        output: 'language_model_inputs',
      };
      const images = new CachedImageEncoder(host.ort, [vision, qformer], modelId, cacheBytes);
      engine = new Blip2Engine({
        ort: host.ort,
        sessions: loader,
        config,
        tokenizer,
        images,
        padId,
        questionTemplate: template,
      });
    }
    const decode = imageDecoder(host, parts.images, processor.decodeHint());
    const prepare = async (input: ImageInput, signal?: AbortSignal): Promise<PreparedImage> => {
      const pixels = processor.preprocess(await decode(input, signal));
      return { key: hashTensor(pixels.data, pixels.dims), pixels };
    };
    return new BlipModel(
      engine,
      loader,
      tokenizer,
      prepare,
      defaultsFor(pkg, config, padId),
      parts,
      questions,
    );
  }

  /** Release every session (the model owns its loader). */
  async dispose(): Promise<void> {
    await this.loader.dispose();
  }

  get config(): ImageToTextConfig {
    return this.engine.config;
  }

  /** What this package does: a BLIP captioning model captions, a BLIP VQA model answers, BLIP-2 both. */
  get tasks(): readonly ImageToTextTask[] {
    return this.engine.config.tasks;
  }

  stats(): ImageToTextStats {
    return {
      images: this.engine.images.stats(),
      questionEncoderRuns: this.questions?.runs ?? 0,
      decoderCreated: this.engine.decoderCreated,
    };
  }

  /** BLIP: whether the decoder computes cross-attention keys/values once and reuses them (creates the decoder). */
  reusesCrossAttention(): Promise<boolean> {
    return this.engine.reusesCrossAttention();
  }

  /**
   * The image side's output for one image (cached): BLIP's image embeds, BLIP-2's projected
   * query tokens. Needs no decoder.
   */
  async imageFeatures(image: ImageInput, signal?: AbortSignal): Promise<FeatureVectors> {
    requireImage(image, 'imageFeatures()');
    const [prepared] = await prepareImages([image], (i) => this.prepare(i, signal));
    return (await this.engine.images.get([prepared!])).values[0]!;
  }

  /** A caption of one image (streamed), or of several (batched; deltas tagged with their index). */
  caption(image: ImageInput, options?: CaptionOptions): TextStream<CaptionResult>;
  caption(images: readonly ImageInput[], options?: CaptionOptions): BatchTextStream<CaptionResult>;
  caption(
    input: ImageInput | readonly ImageInput[],
    options: CaptionOptions = {},
  ): TextStream<CaptionResult> | BatchTextStream<CaptionResult> {
    this.requireTask('caption');
    const { prompt = '', ...generation } = options;
    if (typeof prompt !== 'string') {
      throw new InputError('INPUT_INVALID', 'the caption prompt must be a string', { value: prompt });
    }
    const single = !Array.isArray(input);
    const images = single ? [input as ImageInput] : (input as readonly ImageInput[]);
    if (images.length === 0) throw new InputError('INPUT_INVALID', 'caption() needs at least one image');
    for (const im of images) requireImage(im, 'caption()');
    const run = (emit: (row: number, delta: string) => void) =>
      this.generate(
        'caption',
        images.map((image) => ({ image, text: prompt })),
        generation,
        emit,
      ).then((rows) =>
        rows.map(
          ({ result, promptText }): CaptionResult => ({
            ...result,
            text: promptText + result.text,
            prompt: promptText,
            generatedText: result.text,
          }),
        ),
      );
    if (single) return new TextStream<CaptionResult>(async (emit) => (await run((_r, d) => emit(d)))[0]!);
    return new BatchTextStream<CaptionResult>(run);
  }

  /** An answer about one image (streamed), or several (image, question) pairs in batches. */
  answer(image: ImageInput, question: string, options?: GenerationOptions): TextStream<AnswerResult>;
  answer(questions: readonly ImageQuestion[], options?: GenerationOptions): BatchTextStream<AnswerResult>;
  answer(
    input: ImageInput | readonly ImageQuestion[],
    questionOrOptions?: string | GenerationOptions,
    maybeOptions?: GenerationOptions,
  ): TextStream<AnswerResult> | BatchTextStream<AnswerResult> {
    this.requireTask('answer');
    const single = !Array.isArray(input);
    const items: readonly ImageQuestion[] = single
      ? [{ image: input as ImageInput, question: questionOrOptions as string }]
      : (input as readonly ImageQuestion[]);
    const options = (single ? maybeOptions : (questionOrOptions as GenerationOptions | undefined)) ?? {};
    if (items.length === 0) throw new InputError('INPUT_INVALID', 'answer() needs at least one question');
    items.forEach((item, i) => {
      requireImage(item?.image, 'answer()');
      requireQuestion(item.question, single ? undefined : i);
    });
    const run = (emit: (row: number, delta: string) => void) =>
      this.generate(
        'answer',
        items.map((q) => ({ image: q.image, text: q.question })),
        options,
        emit,
      ).then((rows) =>
        rows.map(({ result }, i): AnswerResult => ({ ...result, question: items[i]!.question })),
      );
    if (single) return new TextStream<AnswerResult>(async (emit) => (await run((_r, d) => emit(d)))[0]!);
    return new BatchTextStream<AnswerResult>(run);
  }

  private requireTask(task: ImageToTextTask): void {
    if (this.tasks.includes(task)) return;
    const c = this.engine.config;
    const where = this.loader.package.location;
    throw new MmrtError(
      'TASK_UNSUPPORTED',
      task === 'answer'
        ? `${where} is a ${c.architecture} captioning model: it cannot answer questions (it has no text_encoder); use a BLIP VQA package (vision_model + text_encoder + text_decoder_model_merged) or BLIP-2`
        : `${where} is a ${c.architecture} question-answering model: it answers questions but does not caption; use a BLIP captioning package or BLIP-2`,
      { value: task, valid: this.tasks },
    );
  }

  private resolve(options: GenerationOptions): ResolvedGeneration {
    const planned = this.parts.kvCacheMaxLength;
    return resolveGeneration(
      {
        ...options,
        ...(options.kvCacheMaxLength === undefined && planned !== undefined
          ? { kvCacheMaxLength: planned }
          : {}),
      },
      this.defaults,
    );
  }

  /**
   * Rows in batches of the plan's batch size. The next batch's images are decoded while one
   * batch generates; results and deltas keep the caller's order and indices.
   */
  private async generate(
    task: ImageToTextTask,
    rows: ReadonlyArray<{ readonly image: ImageInput; readonly text: string }>,
    options: GenerationOptions,
    emit: (row: number, delta: string) => void,
  ) {
    const startedAt = performance.now();
    const resolved = this.resolve(options);
    const size = Math.max(1, this.parts.batchSize);
    const chunks: Array<typeof rows> = [];
    for (let i = 0; i < rows.length; i += size) chunks.push(rows.slice(i, i + size));
    const prepareChunk = (k: number) => {
      const t0 = performance.now();
      const p = prepareImages(
        chunks[k]!.map((r) => r.image),
        (input) => this.prepare(input, options.signal),
      ).then(
        (images) => ({ images, ms: performance.now() - t0 }),
        (e: unknown) => {
          // Name the image by its place in the caller's list, not in the batch.
          const index = (e as MmrtError).details?.index;
          if (e instanceof InputError && typeof index === 'number') {
            const at = k * size + index;
            throw new InputError(
              e.code,
              e.message.replace(`image ${index} `, `image ${at} `),
              {
                ...e.details,
                index: at,
              },
              { cause: e.cause },
            );
          }
          throw e;
        },
      );
      p.catch(() => undefined);
      return p;
    };
    const out: Array<{ result: GenerationResult & ImageTextResult; promptText: string }> = [];
    let next = prepareChunk(0);
    for (let k = 0; k < chunks.length; k++) {
      const { images, ms } = await next;
      if (k + 1 < chunks.length) next = prepareChunk(k + 1);
      if (options.signal?.aborted) throw new MmrtError('ABORTED', 'generation was aborted');
      const engineRows: EngineRow[] = chunks[k]!.map((r, i) => ({ image: images[i]!, text: r.text }));
      const offset = k * size;
      const run = await this.engine.run(task, engineRows, resolved, startedAt, (r, d) => emit(offset + r, d));
      for (const r of run.results) {
        out.push({
          result: {
            ...r.generation,
            timings: { ...r.generation.timings, preprocessMs: ms, encoderMs: run.encoderMs },
            image: { fromCache: r.fromCache },
          },
          promptText: r.promptText,
        });
      }
    }
    return out;
  }
}
