/**
 * The dual-encoder kind (CLIP, SigLIP): image and text embeddings, similarity, zero-shot
 * classification.
 *
 * Host-free: it is handed a decoder (bytes/paths/URLs -> RGB), the image preprocessor, the
 * tokenizer and lazily created sessions (`family.ts` wires them from the loader). The CLIP
 * optimizations live here and each can be switched off: batching (chunks of `batchSize`),
 * parallel encoders (text and vision run concurrently in zero-shot), a text-embedding cache
 * (labels are encoded once per model), and decode/inference overlap (the next chunk is decoded
 * while the current one runs).
 */
import type { Tensor } from 'onnxruntime-common';
import { ByteLru, type CacheStats, typedArrayBytes } from '../../cache/lru.js';
import { InputError, MmrtError } from '../../errors.js';
import type { LoadedModel } from '../../families/family.js';
import type { OrtModule, RgbImage } from '../../host/host.js';
import type { MultimodalLoader } from '../../loader/loader.js';
import { describeInput, type ImageInput } from '../../media/input.js';
import type { Session } from '../../runtime/session.js';
import type { TextTokenizer } from '../../text/tokenizer.js';
import { dot, l2Normalize, sigmoid, softmax } from './math.js';

/** How a dual-encoder family scores and pads: CLIP (softmax, longest) or SigLIP (sigmoid, max length). */
export interface DualEncoderStyle {
  /** softmax over labels (CLIP) or an independent sigmoid per label (SigLIP). */
  readonly scoring: 'softmax' | 'sigmoid';
  /** SigLIP was trained on max-length padding and has no attention mask. */
  readonly textPadding: 'longest' | 'max_length';
  /** The logit bias when the package carries none (SigLIP's init value is -10). */
  readonly initLogitBias: number;
}

/** The two styles there are. */
export const DUAL_ENCODER_STYLES = {
  softmax: { scoring: 'softmax', textPadding: 'longest', initLogitBias: 0 },
  sigmoid: { scoring: 'sigmoid', textPadding: 'max_length', initLogitBias: -10 },
} as const satisfies Record<DualEncoderStyle['scoring'], DualEncoderStyle>;

/** What the family wiring hands the model: how images become pixels. */
export interface ImagePipeline {
  readonly ort: OrtModule;
  decodeImage(input: ImageInput, signal?: AbortSignal): Promise<RgbImage>;
  /** RGB image -> normalized CHW float32 of the model's input size. */
  preprocess(image: RgbImage): Float32Array;
  /** The same, written into a batch buffer at `offset` (saves a copy per image). */
  preprocessInto?(image: RgbImage, out: Float32Array, offset: number): void;
  /** [channels, height, width] that `preprocess` produces. */
  readonly pixelShape: readonly [number, number, number];
  /** Images decoded at once in a batch (bounds the pixels in flight). Default: the whole batch. */
  readonly decodeConcurrency?: number;
}

export interface ClipTowers {
  /** Split layout (preferred): each created on first use. */
  readonly text?: () => Promise<Session>;
  readonly vision?: () => Promise<Session>;
  /** Combined layout: `model` (input_ids + pixel_values -> embeds + logits). */
  readonly combined?: () => Promise<Session>;
  /**
   * Split layout with a combined graph beside it: the combined session is only needed once, to
   * read the learned logit scale; this releases it afterwards (it can be as big as both towers).
   */
  readonly releaseCombined?: () => Promise<void>;
  /**
   * The learned scale read from the combined graph's file without loading it (a streaming scan
   * of its header), when the host can read the file in pieces; undefined to fall back.
   */
  readonly readScale?: () => Promise<{ scale: number; bias: number } | undefined>;
}

/** Settings the plan decides (`batch_size`, `parallel_encoder_execution`, a pinned batch). */
export interface PlannedClipSettings {
  /** Images per vision call. Default 8. */
  readonly batchSize?: number;
  /** Run text and vision encoders concurrently when both are needed. Default true. */
  readonly parallelEncoders?: boolean;
  /** Texts per text call when the plan pins the batch dimension. */
  readonly textBatchSize?: number;
  /**
   * The batch dimension the plan pins (WebGPU's compute_shader_optimizations, WebNN): a last,
   * smaller chunk is padded up to it (zero images, empty texts) and the padding dropped after.
   */
  readonly pinnedBatch?: number;
  /** 'max_length' when the plan pins the text length (WebNN's static shapes). Default: the style's. */
  readonly textPadding?: DualEncoderStyle['textPadding'];
}

/** The model's own options (the plan decides batch size and parallel encoders). */
export interface ClipOptions {
  /**
   * Texts per text call. Default 64: a label set is encoded at once, and a text row costs a
   * fraction of an image, so one call per label set beats one per label (on ViT-B/32 with 2
   * cores, 10 labels took 68 ms one by one and 20 ms in one call).
   */
  textBatchSize?: number;
  /** Text-embedding cache size in bytes; 0 turns it off. Default 16 MiB. */
  textCacheBytes?: number;
  /** Decode the next image chunk while the current one is inferred. Default true. */
  overlapDecode?: boolean;
  /** Override the learned logit scale (and SigLIP bias) instead of reading it from the model. */
  logitScale?: number;
  logitBias?: number;
  /** Called once the learned scale has been read from the combined graph (hosts cache it). */
  onLogitScale?: (value: { scale: number; bias: number }) => void | Promise<void>;
}

export interface EmbedOptions {
  /** L2-normalize (default true). */
  normalize?: boolean;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface ZeroShotOptions extends Omit<EmbedOptions, 'normalize'> {
  /** Prompt template; `{}` or `{label}` is replaced by each label. Default "a photo of a {}". */
  template?: string;
  /** Keep only the best k labels per image. Default: all. */
  topK?: number;
}

export interface LabelScore {
  readonly label: string;
  readonly score: number;
}

/** Where a model's time went, cumulative over its calls (ms). */
export interface ClipTimings {
  /** Text tower runs. */
  textMs: number;
  /** Vision tower runs. */
  visionMs: number;
  /** Wall time of decoding + preprocessing each image chunk (concurrent with runs when overlapped). */
  decodeMs: number;
  /** Of that, the resize + normalise on this thread (it cannot overlap a run: ORT's run holds it). */
  preprocessMs: number;
  /** Time the vision loop waited for a chunk's pixels: the part of decoding overlap did not hide. */
  stallMs: number;
}

/** Everything the family wiring (`family.ts`) gives a dual-encoder model. */
export interface ClipParts {
  /** Names the model in cache keys and messages. */
  readonly modelId: string;
  /** The family's name (`clip`, `siglip`). */
  readonly family: string;
  readonly style: DualEncoderStyle;
  readonly tokenizer: TextTokenizer;
  readonly images: ImagePipeline;
  readonly sessions: ClipTowers;
  /** config.json (the logit-scale init values). */
  readonly config: Record<string, unknown>;
  readonly loader: MultimodalLoader;
  readonly planned?: PlannedClipSettings;
  readonly onWarning?: (message: string) => void;
}

export class ClipModel implements LoadedModel {
  readonly modelId: string;
  /** The family's name (`clip`, `siglip`). */
  readonly family: string;
  readonly tokenizer: TextTokenizer;
  readonly loader: MultimodalLoader;
  private readonly style: DualEncoderStyle;
  private readonly host: ImagePipeline;
  private readonly sessions: ClipTowers;
  private readonly config: Record<string, unknown>;
  private readonly textCache: ByteLru<Float32Array> | undefined;
  private readonly pinnedBatch: number | undefined;
  private scale: Promise<{ scale: number; bias: number }> | undefined;
  readonly timings: ClipTimings = { textMs: 0, visionMs: 0, decodeMs: 0, preprocessMs: 0, stallMs: 0 };
  private readonly opts: Required<Omit<ClipOptions, 'logitScale' | 'logitBias' | 'onLogitScale'>> &
    Pick<ClipOptions, 'logitScale' | 'logitBias' | 'onLogitScale'> &
    Required<Omit<PlannedClipSettings, 'textBatchSize' | 'textPadding' | 'pinnedBatch'>> & {
      readonly onWarning?: (message: string) => void;
    };

  constructor(parts: ClipParts, options: ClipOptions = {}) {
    this.modelId = parts.modelId;
    this.pinnedBatch = parts.planned?.pinnedBatch;
    this.family = parts.family;
    this.tokenizer = parts.tokenizer;
    this.loader = parts.loader;
    this.style = parts.planned?.textPadding
      ? { ...parts.style, textPadding: parts.planned.textPadding }
      : parts.style;
    this.host = parts.images;
    this.sessions = parts.sessions;
    this.config = parts.config;
    const { sessions } = parts;
    if (!sessions.combined && !(sessions.text && sessions.vision)) {
      throw new MmrtError(
        'MODEL_COMPONENT_MISSING',
        'CLIP needs text_model + vision_model or the combined model',
      );
    }
    const planned = parts.planned ?? {};
    // Defaults after the caller's options: a key given as `undefined` still gets its default.
    this.opts = {
      ...options,
      ...(parts.onWarning && { onWarning: parts.onWarning }),
      batchSize: planned.batchSize ?? 8,
      textBatchSize: planned.textBatchSize ?? options.textBatchSize ?? 64,
      parallelEncoders: planned.parallelEncoders ?? true,
      textCacheBytes: options.textCacheBytes ?? 16 * 1024 * 1024,
      overlapDecode: options.overlapDecode ?? true,
    };
    for (const key of ['batchSize', 'textBatchSize'] as const) {
      if (!(Number.isInteger(this.opts[key]) && this.opts[key] >= 1)) {
        throw new InputError('INPUT_INVALID', `${key} must be a positive integer`, { value: this.opts[key] });
      }
    }
    this.textCache =
      this.opts.textCacheBytes > 0
        ? new ByteLru<Float32Array>(this.opts.textCacheBytes, typedArrayBytes)
        : undefined;
  }

  /** Release every session (the model owns its loader). */
  async dispose(): Promise<void> {
    await this.loader.dispose();
  }

  textCacheStats(): CacheStats | undefined {
    return this.textCache?.stats();
  }

  // ------------------------------------------------------------------ text

  async embedTexts(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    if (!Array.isArray(texts) || texts.length === 0) {
      throw new InputError('INPUT_INVALID', 'embedTexts needs at least one text', { value: texts });
    }
    const normalize = options.normalize ?? true;
    const out: Array<Float32Array | undefined> = texts.map((t) => this.textCache?.get(this.cacheKey(t)));
    const todo = texts.map((t, i) => ({ t, i })).filter(({ i }) => !out[i]);
    // Unique texts only: a label list with repeats is encoded once per distinct text.
    const unique = [...new Set(todo.map((x) => x.t))];
    for (let start = 0; start < unique.length; start += this.opts.textBatchSize) {
      throwIfAborted(options.signal);
      const chunk = unique.slice(start, start + this.opts.textBatchSize);
      const embeds = await this.runText(chunk);
      chunk.forEach((t, j) => {
        this.textCache?.set(this.cacheKey(t), embeds[j]!);
        for (const x of todo) if (x.t === t) out[x.i] = embeds[j];
      });
      options.onProgress?.(Math.min(start + chunk.length, unique.length), unique.length);
    }
    return out.map((v) => (normalize ? l2Normalize(v!) : Float32Array.from(v!)));
  }

  private cacheKey(text: string): string {
    return `${this.modelId}\u0000${text}`;
  }

  private async runText(given: string[]): Promise<Float32Array[]> {
    const pad = this.pinnedBatch !== undefined ? Math.max(0, this.pinnedBatch - given.length) : 0;
    const texts = pad > 0 ? [...given, ...new Array<string>(pad).fill('')] : given;
    const batch = this.tokenizer.encodeBatch(texts, {
      padding: this.style.textPadding,
      onWarning: this.opts.onWarning,
    });
    const { Tensor } = this.host.ort;
    const feeds: Record<string, Tensor> = {
      input_ids: new Tensor('int64', batch.inputIds, [...batch.dims]),
      attention_mask: new Tensor('int64', batch.attentionMask, [...batch.dims]),
    };
    const t0 = performance.now();
    let embeds: Tensor;
    if (this.sessions.text) {
      const s = await this.sessions.text();
      embeds = (await s.run(pick(s, feeds)))[outputName(s, 'text_embeds')]!;
    } else {
      const s = await this.sessions.combined!();
      const [c, h, w] = this.host.pixelShape;
      feeds.pixel_values = new Tensor('float32', new Float32Array(c * h * w), [1, c, h, w]);
      embeds = (await s.run(pick(s, feeds), ['text_embeds']))['text_embeds']!;
    }
    this.timings.textMs += performance.now() - t0;
    return rows(embeds, texts.length).slice(0, given.length);
  }

  // ------------------------------------------------------------------ images

  async embedImages(images: readonly ImageInput[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    if (!Array.isArray(images) || images.length === 0) {
      throw new InputError('INPUT_INVALID', 'embedImages needs at least one image', { value: images });
    }
    const normalize = options.normalize ?? true;
    const bs = this.opts.batchSize;
    const out: Float32Array[] = [];
    const decodeChunk = (start: number) => {
      const p = this.decodeChunk(images, start, Math.min(start + bs, images.length), options.signal);
      // A prefetched chunk may fail while the current one is still running; it is awaited
      // (and its error thrown) in turn, so it must not count as unhandled meanwhile.
      p.catch(() => undefined);
      return p;
    };
    let next: Promise<Float32Array> | undefined = decodeChunk(0);
    for (let start = 0; start < images.length; start += bs) {
      throwIfAborted(options.signal);
      const waited = performance.now();
      const pixels = await next!;
      this.timings.stallMs += performance.now() - waited;
      const end = Math.min(start + bs, images.length);
      next = end < images.length && this.opts.overlapDecode ? decodeChunk(end) : undefined;
      // Without overlap the next chunk is decoded after this one's inference.
      const embeds = await this.runVision(pixels, end - start);
      out.push(...embeds);
      options.onProgress?.(end, images.length);
      if (!next && end < images.length) next = decodeChunk(end);
    }
    return normalize ? out.map(l2Normalize) : out;
  }

  /** Decode and preprocess images [start, end) into one NCHW buffer; name every bad input. */
  private async decodeChunk(
    images: readonly ImageInput[],
    start: number,
    end: number,
    signal?: AbortSignal,
  ): Promise<Float32Array> {
    const t0 = performance.now();
    const [c, h, w] = this.host.pixelShape;
    const per = c * h * w;
    const pixels = new Float32Array((end - start) * per);
    // At most `decodeConcurrency` images decode at once: their pixels (up to maxPixels each)
    // are what a batch holds in memory before preprocessing shrinks them.
    const todo = images.slice(start, end);
    const results: PromiseSettledResult<void>[] = new Array(todo.length);
    let next = 0;
    const worker = async () => {
      for (let j = next++; j < todo.length; j = next++) {
        try {
          const rgb = await this.host.decodeImage(todo[j]!, signal);
          const p0 = performance.now();
          if (this.host.preprocessInto) this.host.preprocessInto(rgb, pixels, j * per);
          else pixels.set(this.host.preprocess(rgb), j * per);
          this.timings.preprocessMs += performance.now() - p0;
          results[j] = { status: 'fulfilled', value: undefined };
        } catch (reason) {
          results[j] = { status: 'rejected', reason };
        }
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(this.host.decodeConcurrency ?? todo.length, todo.length) }, worker),
    );
    this.timings.decodeMs += performance.now() - t0;
    const failures = results
      .map((r, j) => ({ r, index: start + j }))
      .filter((x): x is { r: PromiseRejectedResult; index: number } => x.r.status === 'rejected');
    if (failures.length > 0) {
      const first = failures[0]!;
      const reason = first.r.reason as Error;
      throw new InputError(
        (reason as MmrtError).code ?? 'IMAGE_DECODE_FAILED',
        `image ${first.index} (${describeInput(images[first.index]!)}) could not be used: ${reason.message}` +
          (failures.length > 1 ? ` (and ${failures.length - 1} more)` : ''),
        {
          index: first.index,
          value: describeInput(images[first.index]!),
          failures: failures.map((f) => ({
            index: f.index,
            input: describeInput(images[f.index]!),
            code: (f.r.reason as MmrtError).code ?? 'IMAGE_DECODE_FAILED',
            message: (f.r.reason as Error).message,
          })),
        },
        { cause: reason },
      );
    }
    return pixels;
  }

  /**
   * Every output of the vision tower (`image_embeds`, `last_hidden_state`, ...) for these images,
   * in one batch, unnormalized: what `image-feature-extraction` returns. Needs the split tower.
   */
  async visionOutputs(
    images: readonly ImageInput[],
    options: { signal?: AbortSignal } = {},
  ): Promise<Record<string, Tensor>> {
    if (!Array.isArray(images) || images.length === 0) {
      throw new InputError('INPUT_INVALID', 'visionOutputs needs at least one image', { value: images });
    }
    if (!this.sessions.vision) {
      throw new MmrtError(
        'MODEL_COMPONENT_MISSING',
        `${this.modelId} has no separate vision tower (onnx/vision_model.onnx), only the combined graph`,
        { valid: ['onnx/vision_model.onnx'] },
      );
    }
    const pixels = await this.decodeChunk(images, 0, images.length, options.signal);
    const [c, h, w] = this.host.pixelShape;
    const s = await this.sessions.vision();
    const feeds = { pixel_values: new this.host.ort.Tensor('float32', pixels, [images.length, c, h, w]) };
    const t0 = performance.now();
    const out = await s.run(pick(s, feeds));
    this.timings.visionMs += performance.now() - t0;
    return out;
  }

  private async runVision(given: Float32Array, real: number): Promise<Float32Array[]> {
    const { Tensor } = this.host.ort;
    const [c, h, w] = this.host.pixelShape;
    const n = this.pinnedBatch !== undefined ? Math.max(real, this.pinnedBatch) : real;
    let pixels = given;
    if (n > real) {
      pixels = new Float32Array(n * c * h * w);
      pixels.set(given);
    }
    const feeds: Record<string, Tensor> = { pixel_values: new Tensor('float32', pixels, [n, c, h, w]) };
    const t0 = performance.now();
    let embeds: Tensor;
    if (this.sessions.vision) {
      const s = await this.sessions.vision();
      embeds = (await s.run(pick(s, feeds)))[outputName(s, 'image_embeds')]!;
    } else {
      const s = await this.sessions.combined!();
      const ids = this.tokenizer.encodeBatch([''], {
        padding: this.style.textPadding,
      });
      feeds.input_ids = new Tensor('int64', ids.inputIds, [...ids.dims]);
      feeds.attention_mask = new Tensor('int64', ids.attentionMask, [...ids.dims]);
      embeds = (await s.run(pick(s, feeds), ['image_embeds']))['image_embeds']!;
    }
    this.timings.visionMs += performance.now() - t0;
    return rows(embeds, n).slice(0, real);
  }

  // ------------------------------------------------------------------ tasks

  similarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
    if (a.length !== b.length) {
      throw new InputError('INPUT_INVALID', `embeddings differ in length (${a.length} vs ${b.length})`, {
        value: [a.length, b.length],
      });
    }
    return dot(l2Normalize(Float32Array.from(a)), l2Normalize(Float32Array.from(b)));
  }

  /** The learned logit scale (and SigLIP's bias), read from the combined graph's outputs once. */
  logitScale(): Promise<{ scale: number; bias: number }> {
    // A failure is not remembered: the next call tries again.
    this.scale ??= this.resolveScale().catch((e: unknown) => {
      this.scale = undefined;
      throw e;
    });
    return this.scale;
  }

  private async resolveScale(): Promise<{ scale: number; bias: number }> {
    if (this.opts.logitScale !== undefined)
      return { scale: this.opts.logitScale, bias: this.opts.logitBias ?? 0 };
    if (!this.sessions.combined) return this.initScale('has no combined model.onnx');
    const split = !!(this.sessions.text && this.sessions.vision);
    const read = await this.sessions.readScale?.().catch(() => undefined);
    if (read) {
      try {
        await this.opts.onLogitScale?.(read);
      } catch (e) {
        this.opts.onWarning?.(`onLogitScale failed: ${e instanceof Error ? e.message : String(e)}`);
      }
      return read;
    }
    if (split && this.loader.package.files.prefetch) {
      // Said, not silent: for a hub model this is a download of the combined graph (577 MB for
      // ViT-B/32), done once per model file (the value is kept in the host's store after).
      const entry = this.loader.spec.components.find((c) => c.name === 'model');
      const size = entry?.bytes ? ` (${(entry.bytes / 1048576).toFixed(1)} MiB)` : '';
      this.opts.onWarning?.(
        `reading the learned logit scale from ${entry?.file ?? 'the combined model.onnx'}${size} once: the exported towers do not carry it; it is kept for this model file afterwards (pass logitScale to skip)`,
      );
    }
    let scale: { scale: number; bias: number };
    try {
      scale = await this.calibrateScale();
    } catch (e) {
      // With the split pair, the combined graph is only a way to read the scale: zero-shot
      // still works when it cannot be opened or run (a source that serves only the plan's
      // components, a GPU without room for it), at the init scale and with a warning.
      if (!split) throw e;
      return this.initScale(
        `could not use its combined model.onnx (${e instanceof Error ? e.message : String(e)})`,
      );
    } finally {
      if (split) await this.sessions.releaseCombined?.();
    }
    try {
      await this.opts.onLogitScale?.(scale);
    } catch (e) {
      this.opts.onWarning?.(`onLogitScale failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    return scale;
  }

  /** Split-only packages do not carry the trained scale; HF's init value is the honest fallback. */
  private initScale(why: string): { scale: number; bias: number } {
    const scale = Math.exp(Number(this.config.logit_scale_init_value ?? 2.6592));
    const bias = Number(this.config.logit_bias_init_value ?? this.style.initLogitBias);
    this.opts.onWarning?.(
      `${this.modelId} ${why} to read the learned logit scale from; using exp(logit_scale_init_value) = ${scale.toFixed(3)}. Scores are then less peaked; pass logitScale to override.`,
    );
    return { scale, bias };
  }

  /**
   * logits = scale·cos + bias, so two texts against one image give both unknowns. Uses the
   * combined graph's own normalized embeddings so the answer is exactly what the graph uses.
   */
  private async calibrateScale(): Promise<{ scale: number; bias: number }> {
    const s = await this.sessions.combined!();
    const { Tensor } = this.host.ort;
    const [c, h, w] = this.host.pixelShape;
    const pixels = new Float32Array(c * h * w);
    for (let i = 0; i < pixels.length; i++) pixels[i] = Math.sin(i * 0.37);
    const ids = this.tokenizer.encodeBatch(['a photo', 'a red circle'], {
      padding: this.style.textPadding,
    });
    const out = await s.run(
      pick(s, {
        pixel_values: new Tensor('float32', pixels, [1, c, h, w]),
        input_ids: new Tensor('int64', ids.inputIds, [...ids.dims]),
        attention_mask: new Tensor('int64', ids.attentionMask, [...ids.dims]),
      }),
    );
    const img = l2Normalize(rows(out.image_embeds!, 1)[0]!);
    const txt = rows(out.text_embeds!, 2).map(l2Normalize);
    const logits = out.logits_per_image!.data as Float32Array;
    const c0 = dot(img, txt[0]!);
    const c1 = dot(img, txt[1]!);
    if (this.style.scoring === 'softmax') return { scale: logits[0]! / c0, bias: 0 };
    const scale = (logits[0]! - logits[1]!) / (c0 - c1);
    return { scale, bias: logits[0]! - scale * c0 };
  }

  async zeroShot(
    images: readonly ImageInput[],
    labels: readonly string[],
    options: ZeroShotOptions = {},
  ): Promise<LabelScore[][]> {
    const { labels: cleaned, prompts } = zeroShotPrompts(labels, options.template);
    const topK = options.topK;
    if (topK !== undefined && !(Number.isInteger(topK) && topK >= 1)) {
      throw new InputError('INPUT_INVALID', `topK must be an integer >= 1, got ${String(topK)}`, {
        value: topK,
        valid: 'an integer >= 1',
      });
    }
    const textJob = () => this.embedTexts(prompts, { signal: options.signal });
    const imageJob = () =>
      this.embedImages(images, { signal: options.signal, onProgress: options.onProgress });
    const [textEmb, imageEmb] = this.opts.parallelEncoders
      ? await Promise.all([textJob(), imageJob(), this.logitScale()])
      : [await textJob(), await imageJob(), await this.logitScale()];
    return this.scoreLabels(imageEmb, textEmb, cleaned, options.topK);
  }

  /**
   * Zero-shot scores from embeddings already computed (unit length, as `embedImages` and
   * `embedTexts` return them): what `zeroShot` does once both towers have run, for callers
   * that batch the towers themselves (the server). Best label first.
   */
  async scoreLabels(
    imageEmbeddings: readonly Float32Array[],
    labelEmbeddings: readonly Float32Array[],
    labels: readonly string[],
    topK?: number,
  ): Promise<LabelScore[][]> {
    if (labelEmbeddings.length !== labels.length) {
      throw new InputError(
        'INPUT_INVALID',
        `${labels.length} labels but ${labelEmbeddings.length} label embeddings`,
        { value: labelEmbeddings.length, valid: `${labels.length} embeddings` },
      );
    }
    if (imageEmbeddings[0] && labelEmbeddings[0] && labelEmbeddings[0].length !== imageEmbeddings[0].length) {
      throw new MmrtError(
        'SESSION_RUN_FAILED',
        `${this.modelId}: text embeddings are ${labelEmbeddings[0].length}-d but image embeddings ${imageEmbeddings[0].length}-d (text_model and vision_model do not belong together)`,
        { value: [labelEmbeddings[0].length, imageEmbeddings[0].length] },
      );
    }
    const { scale, bias } = await this.logitScale();
    return imageEmbeddings.map((img) => {
      const logits = labelEmbeddings.map((t) => scale * dot(img, t) + bias);
      const probs = this.style.scoring === 'sigmoid' ? logits.map(sigmoid) : Array.from(softmax(logits));
      const ranked = labels
        .map((label, i) => ({ label, score: probs[i]! }))
        .sort((a, b) => b.score - a.score);
      return topK ? ranked.slice(0, topK) : ranked;
    });
  }
}

/**
 * The labels trimmed and checked, and the text each is encoded as: the template with `{}` or
 * `{label}` replaced (default "a photo of a {}").
 */
export function zeroShotPrompts(
  labels: readonly string[],
  template = 'a photo of a {}',
): { labels: string[]; prompts: string[] } {
  const cleaned = Array.isArray(labels) ? labels.map((l) => (typeof l === 'string' ? l.trim() : l)) : [];
  if (cleaned.length === 0 || cleaned.some((l) => typeof l !== 'string' || l.length === 0)) {
    throw new InputError(
      'INPUT_INVALID',
      'zero-shot classification needs a non-empty list of non-empty labels',
      {
        value: labels,
        valid: 'e.g. ["a cat", "a dog"]',
      },
    );
  }
  if (typeof template !== 'string' || !/\{label\}|\{\}/.test(template)) {
    throw new InputError(
      'INPUT_INVALID',
      `the prompt template ${JSON.stringify(template)?.slice(0, 80)} has no {} (or {label}) slot: every label would get the same prompt`,
      { value: template, valid: 'a string with {} where the label goes, e.g. "a photo of a {}"' },
    );
  }
  // Labels are data: a function replacement, so "$&" or "$1" in a label is kept as written.
  return { labels: cleaned, prompts: cleaned.map((l) => template.replace(/\{label\}|\{\}/g, () => l)) };
}

function pick(s: Session, feeds: Record<string, Tensor>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const n of s.inputNames) {
    if (!feeds[n])
      throw new MmrtError(
        'SESSION_RUN_FAILED',
        `"${s.name}" wants input "${n}", which CLIP does not provide`,
        { valid: Object.keys(feeds) },
      );
    out[n] = feeds[n];
  }
  return out;
}

function outputName(s: Session, wanted: string): string {
  if (s.outputNames.includes(wanted)) return wanted;
  // SigLIP's hub exports (SiglipTextModel / SiglipVisionModel) output `last_hidden_state`
  // first and the embedding as `pooler_output` (SigLIP has no separate projection).
  if (s.outputNames.includes('pooler_output')) return 'pooler_output';
  // Some exports name the pooled projection differently; the first output is the embedding then.
  return s.outputNames[0]!;
}

/** Rows of a float32 embedding output, checked: the dtype and shape CLIP produces, no NaN/Inf. */
function rows(t: Tensor, n: number, what = 'embedding'): Float32Array[] {
  if (t.type !== 'float32') {
    throw new MmrtError('SESSION_RUN_FAILED', `the model's ${what} output is ${t.type}, not float32`, {
      value: t.type,
      valid: ['float32'],
    });
  }
  const data = t.data as Float32Array;
  if (data.length === 0 || data.length % n !== 0) {
    throw new MmrtError(
      'SESSION_RUN_FAILED',
      `the model's ${what} output has ${data.length} values for ${n} inputs`,
      {
        value: t.dims,
      },
    );
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      throw new MmrtError(
        'SESSION_RUN_FAILED',
        `the model's ${what} output holds ${Number.isNaN(data[i]!) ? 'NaN' : 'Inf'} (at value ${i}): the model or its precision variant is broken for this input`,
        { value: data[i], index: i, hint: 'Try another precision (fp32), or check the model file.' },
      );
    }
  }
  const dim = data.length / n;
  return Array.from({ length: n }, (_, i) => data.slice(i * dim, (i + 1) * dim));
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new MmrtError('ABORTED', 'the operation was aborted');
}
