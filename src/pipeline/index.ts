/**
 * `pipeline(task, model, options)`: the surface transformers.js users know, on mmrt's load path.
 * Task names, option names (`device`, `dtype`, `progress_callback`, `hypothesis_template`,
 * `max_new_tokens`, ...) and result shapes, single and batched, are transformers.js's (and,
 * for `image-text-to-text`, which transformers.js 4.3 lacks, Python transformers'). Host-free:
 * a host entry gives it its `loadModel` and how it resolves a model id.
 */
import { InputError, MmrtError } from '../errors.js';
import type { LoadedModel } from '../families/family.js';
import type { GenerationOptions } from '../generation/options.js';
import { ClipModel } from '../kinds/dual-encoder/model.js';
import type { ChatMessage, ContentPart } from '../kinds/vision-language/messages.js';
import { LlavaModel } from '../kinds/vision-language/model.js';
import type { LoadModelOptions } from '../load/load-model.js';
import type { ImageInput } from '../media/input.js';
import {
  type PipelineOptions,
  checkOptionNames,
  configForDtype,
  platformFor,
  progressAdapter,
} from './options.js';
import { Tensor } from './tensor.js';

export { Tensor } from './tensor.js';
export type { PipelineDevice, PipelineDtype, PipelineOptions, ProgressInfo } from './options.js';

export const PIPELINE_TASKS = [
  'zero-shot-image-classification',
  'image-feature-extraction',
  'image-to-text',
  'image-text-to-text',
] as const;
export type PipelineTask = (typeof PIPELINE_TASKS)[number];

/** One image, or several (a batch: results come back as a list, one per image). */
type Images = ImageInput | readonly ImageInput[];

export interface ZeroShotImageClassificationOutput {
  readonly score: number;
  readonly label: string;
}

/** transformers.js's generation options, by their names. */
export interface GenerationKwargs {
  readonly max_new_tokens?: number;
  readonly min_new_tokens?: number;
  readonly do_sample?: boolean;
  readonly temperature?: number;
  readonly top_k?: number;
  readonly top_p?: number;
  readonly repetition_penalty?: number;
  readonly stop_strings?: readonly string[];
  /** mmrt: the sampling seed, to repeat a sampled answer. */
  readonly seed?: number;
}

/** A chat message as transformers writes it: image parts carry `image`, `url` or `path`. */
export type PipelineMessage =
  | {
      readonly role: 'user';
      readonly content:
        | string
        | ReadonlyArray<
            | { readonly type: 'text'; readonly text: string }
            | {
                readonly type: 'image';
                readonly image?: ImageInput;
                readonly url?: string;
                readonly path?: string;
              }
          >;
    }
  | { readonly role: 'assistant' | 'system'; readonly content: string };

export type ChatOutput = { readonly generated_text: PipelineMessage[] | string };

interface Disposable {
  readonly task: PipelineTask;
  /** The mmrt model underneath (`loader`, `dispose()`, and its own methods). */
  readonly model: LoadedModel;
  dispose(): Promise<void>;
}

export interface ZeroShotImageClassificationPipeline extends Disposable {
  (
    images: ImageInput,
    candidate_labels: readonly string[],
    options?: { hypothesis_template?: string },
  ): Promise<ZeroShotImageClassificationOutput[]>;
  (
    images: readonly ImageInput[],
    candidate_labels: readonly string[],
    options?: { hypothesis_template?: string },
  ): Promise<ZeroShotImageClassificationOutput[][]>;
}

export interface ImageFeatureExtractionPipeline extends Disposable {
  (images: Images, options?: { pool?: boolean | null }): Promise<Tensor>;
}

export interface ImageToTextPipeline extends Disposable {
  (
    images: ImageInput,
    options?: GenerationKwargs & { prompt?: string },
  ): Promise<{ generated_text: string }[]>;
  (
    images: readonly ImageInput[],
    options?: GenerationKwargs & { prompt?: string },
  ): Promise<{ generated_text: string }[][]>;
}

export interface ImageTextToTextPipeline extends Disposable {
  /** A chat: the reply comes back appended to it (`return_full_text: false`: the reply alone). */
  (
    messages: readonly PipelineMessage[],
    options?: GenerationKwargs & { return_full_text?: boolean },
  ): Promise<ChatOutput[]>;
  /** Several chats at once. */
  (
    messages: ReadonlyArray<readonly PipelineMessage[]>,
    options?: GenerationKwargs & { return_full_text?: boolean },
  ): Promise<ChatOutput[][]>;
  /** One image and a question (the model's chat template applies). */
  (
    image: ImageInput,
    text: string,
    options?: GenerationKwargs & { return_full_text?: boolean },
  ): Promise<{ input_text: string; generated_text: string }[]>;
}

export interface PipelineTypes {
  'zero-shot-image-classification': ZeroShotImageClassificationPipeline;
  'image-feature-extraction': ImageFeatureExtractionPipeline;
  'image-to-text': ImageToTextPipeline;
  'image-text-to-text': ImageTextToTextPipeline;
}

export type PipelineFunction = <T extends PipelineTask>(
  task: T,
  model: string,
  options?: PipelineOptions,
) => Promise<PipelineTypes[T]>;

/** What a host gives the pipeline: its load function and how it names a model. */
export interface PipelineHost {
  loadModel(options: LoadModelOptions & { readonly host?: never }): Promise<LoadedModel>;
  /** A transformers.js model id (`org/name`, a folder under `env.localModelPath`, a path) as mmrt loads it. */
  resolve(id: string, options: PipelineOptions): LoadModelOptions;
}

/** What `image-to-text` needs of a captioning model (the image-to-text kind: BLIP, BLIP-2). */
export interface CaptioningModel extends LoadedModel {
  caption(
    images: readonly ImageInput[],
    options: GenerationOptions & { prompt?: string },
  ): { readonly result: Promise<ReadonlyArray<{ readonly text: string }>> };
}

function isCaptioning(m: LoadedModel): m is CaptioningModel {
  return typeof (m as Partial<CaptioningModel>).caption === 'function';
}

const WHAT: Readonly<Record<PipelineTask, string>> = {
  'zero-shot-image-classification': 'a CLIP or SigLIP model',
  'image-feature-extraction': 'a CLIP or SigLIP model (its vision tower)',
  'image-to-text': 'a captioning model (BLIP) or a LLaVA-family model',
  'image-text-to-text': 'a LLaVA-family model',
};

function suits(task: PipelineTask, m: LoadedModel): boolean {
  switch (task) {
    case 'zero-shot-image-classification':
    case 'image-feature-extraction':
      return m instanceof ClipModel;
    case 'image-to-text':
      return m instanceof LlavaModel || isCaptioning(m);
    case 'image-text-to-text':
      return m instanceof LlavaModel;
  }
}

export function createPipeline(host: PipelineHost): PipelineFunction {
  return (async (task: PipelineTask, model: string, options: PipelineOptions = {}) => {
    if (!(PIPELINE_TASKS as readonly string[]).includes(task)) {
      throw new InputError(
        'INPUT_INVALID',
        `mmrt has no "${String(task)}" pipeline; it has: ${PIPELINE_TASKS.join(', ')}`,
        {
          value: task,
          valid: PIPELINE_TASKS,
        },
      );
    }
    if (typeof model !== 'string' || model.trim() === '') {
      throw new InputError('INPUT_INVALID', `pipeline("${task}") needs a model id or folder`, {
        value: model,
        valid: 'a hub id "org/name", a folder, or "mmrt:shapes-clip"',
      });
    }
    checkOptionNames(options, undefined, 'pipeline');
    const { platform, candidates } = platformFor(options.device);
    const threads = options.session_options?.intraOpNumThreads;
    const resolved = host.resolve(model, options);
    const loaded = await host.loadModel({
      ...resolved,
      platform,
      ...(candidates && { candidates }),
      config: { ...configForDtype(options.dtype), ...(threads !== undefined && { numThreads: threads }) },
      ...(options.progress_callback && {
        loading: { onProgress: progressAdapter(model, options.progress_callback) },
      }),
    });
    if (!suits(task, loaded)) {
      const family = loaded.loader.package.family;
      await loaded.dispose();
      throw new MmrtError('MODEL_UNSUPPORTED', `${model} is a ${family} model; ${task} needs ${WHAT[task]}`, {
        value: family,
        valid: WHAT[task],
      });
    }
    options.progress_callback?.({ status: 'ready', task, model });
    const run = TASKS[task](loaded);
    return Object.assign(run, { task, model: loaded, dispose: () => loaded.dispose() });
  }) as PipelineFunction;
}

// ---------------------------------------------------------------- the tasks

type Runner = (...args: never[]) => Promise<unknown>;

const TASKS: Readonly<Record<PipelineTask, (m: LoadedModel) => Runner>> = {
  'zero-shot-image-classification': (m) => {
    const clip = m as ClipModel;
    return (async (
      images: Images,
      labels: readonly string[],
      options: { hypothesis_template?: string } = {},
    ) => {
      checkOptionNames(options, ['hypothesis_template'], 'zero-shot-image-classification');
      const batched = Array.isArray(images);
      const list = (batched ? images : [images]) as readonly ImageInput[];
      const template = options.hypothesis_template ?? 'This is a photo of {}';
      const scores = await clip.zeroShot(list, labels, { template });
      const out = scores.map((row) => row.map(({ label, score }) => ({ score, label })));
      return batched ? out : out[0];
    }) as Runner;
  },

  'image-feature-extraction': (m) => {
    const clip = m as ClipModel;
    return (async (images: Images, options: { pool?: boolean | null } = {}) => {
      checkOptionNames(options, ['pool'], 'image-feature-extraction');
      const list = (Array.isArray(images) ? images : [images]) as readonly ImageInput[];
      const outputs = await clip.visionOutputs(list);
      // transformers.js: the hidden states unless pooled output is asked for.
      const t = options.pool
        ? outputs.pooler_output
        : (outputs.last_hidden_state ?? outputs.logits ?? outputs.image_embeds);
      if (!t) {
        throw new MmrtError(
          'MODEL_COMPONENT_MISSING',
          options.pool
            ? `${clip.modelId}'s vision tower has no pooler_output; call without { pool: true }, or use loadClip().embedImages for the projected embeddings`
            : `${clip.modelId}'s vision tower returns none of last_hidden_state, logits, image_embeds`,
          { value: Object.keys(outputs) },
        );
      }
      return new Tensor(t.type, t.data as Float32Array, [...t.dims]);
    }) as Runner;
  },

  'image-to-text': (m) =>
    (async (images: Images, options: GenerationKwargs & { prompt?: string } = {}) => {
      checkOptionNames(options, [...GENERATION_KEYS, 'prompt'], 'image-to-text');
      const batched = Array.isArray(images);
      const list = (batched ? images : [images]) as readonly ImageInput[];
      const generation = generationOptions(options);
      let texts: string[];
      if (m instanceof LlavaModel) {
        const prompt = options.prompt ?? 'Describe the image.';
        const results = await m.generateBatch(
          list.map((image) => [
            {
              role: 'user' as const,
              content: [
                { type: 'image' as const, image },
                { type: 'text' as const, text: prompt },
              ],
            },
          ]),
          generation,
        );
        texts = results.map((r) => r.text);
      } else {
        const results = await (m as CaptioningModel).caption(list, {
          ...generation,
          ...(options.prompt !== undefined && { prompt: options.prompt }),
        }).result;
        texts = results.map((r) => r.text);
      }
      const out = texts.map((t) => [{ generated_text: t.trim() }]);
      return batched ? out : out[0];
    }) as Runner,

  'image-text-to-text': (m) => {
    const vlm = m as LlavaModel;
    return (async (
      input: unknown,
      textOrOptions?: string | (GenerationKwargs & { return_full_text?: boolean }),
      maybeOptions?: GenerationKwargs & { return_full_text?: boolean },
    ) => {
      if (typeof textOrOptions === 'string') {
        const options = maybeOptions ?? {};
        checkOptionNames(options, [...GENERATION_KEYS, 'return_full_text'], 'image-text-to-text');
        const [r] = await vlm.generateBatch(
          [
            [
              {
                role: 'user',
                content: [
                  { type: 'image', image: input as ImageInput },
                  { type: 'text', text: textOrOptions },
                ],
              },
            ],
          ],
          generationOptions(options),
        );
        const answer = r!.text;
        return [
          {
            input_text: textOrOptions,
            generated_text: options.return_full_text ? `${textOrOptions}${answer}` : answer,
          },
        ];
      }
      const options = textOrOptions ?? {};
      checkOptionNames(options, [...GENERATION_KEYS, 'return_full_text'], 'image-text-to-text');
      const batched = Array.isArray(input) && Array.isArray(input[0]);
      const chats = (batched ? input : [input]) as ReadonlyArray<readonly PipelineMessage[]>;
      if (!chats.every((c) => Array.isArray(c) && c.length > 0)) {
        throw new InputError(
          'INPUT_INVALID',
          'image-text-to-text takes a chat (a list of { role, content } messages), a list of chats, or (image, text)',
          { value: input },
        );
      }
      const results = await vlm.generateBatch(chats.map(toChat), generationOptions(options));
      const out = results.map((r, i) => [
        {
          generated_text:
            options.return_full_text === false
              ? r.text
              : [...chats[i]!, { role: 'assistant' as const, content: r.text }],
        },
      ]);
      return batched ? out : out[0];
    }) as Runner;
  },
};

const GENERATION_KEYS = [
  'max_new_tokens',
  'min_new_tokens',
  'do_sample',
  'temperature',
  'top_k',
  'top_p',
  'repetition_penalty',
  'stop_strings',
  'seed',
] as const;

/** transformers' generation options -> mmrt's. As there, sampling only with `do_sample: true`. */
function generationOptions(o: GenerationKwargs): GenerationOptions {
  return {
    ...(o.max_new_tokens !== undefined && { maxNewTokens: o.max_new_tokens }),
    ...(o.min_new_tokens !== undefined && { minNewTokens: o.min_new_tokens }),
    ...(o.repetition_penalty !== undefined && { repetitionPenalty: o.repetition_penalty }),
    ...(o.stop_strings !== undefined && { stopStrings: o.stop_strings }),
    sampling:
      o.do_sample === true
        ? {
            ...(o.temperature !== undefined && { temperature: o.temperature }),
            ...(o.top_k !== undefined && { topK: o.top_k }),
            ...(o.top_p !== undefined && { topP: o.top_p }),
            ...(o.seed !== undefined && { seed: o.seed }),
          }
        : false,
  };
}

/** transformers' message shape (image parts with `image`, `url` or `path`) -> mmrt's. */
function toChat(messages: readonly PipelineMessage[]): ChatMessage[] {
  return messages.map((m, i) => {
    if (m.role !== 'user' || typeof m.content === 'string') return m as ChatMessage;
    if (!Array.isArray(m.content)) return m as ChatMessage; // validated (and refused) by the model
    const content: ContentPart[] = m.content.map((p, j) => {
      if (p.type !== 'image') return p as ContentPart;
      const image = p.image ?? p.url ?? p.path;
      if (image === undefined) {
        throw new InputError(
          'INPUT_INVALID',
          `message ${i} part ${j} is an image part without image, url or path`,
          {
            value: p,
            index: i,
            valid: "{ type: 'image', image | url | path }",
          },
        );
      }
      return { type: 'image', image };
    });
    return { role: 'user', content };
  });
}
