/**
 * The video-text kind (X-CLIP): video embeddings, texts ranked against a video (zero-shot video
 * classification), and video search over an index.
 *
 * Host-free. A video becomes clips (clips.ts): temporal segments of at most `segments.seconds`,
 * `frames` frames picked per segment by the sampler, decoded by the host, batched across segments
 * into one `vision_model` call [segments, frames, 3, H, W]. A video's embedding is the normalized
 * mean of its segments' normalized embeddings, and its prompt features the mean of theirs (for one
 * segment: exactly X-CLIP's). Texts go through `text_model` once per text (cached: that part does
 * not depend on the video), then `prompts_generator` conditions them on each video's features
 * (never cached). The logits are computed here: logit_scale * cos(video, conditioned text).
 */
import type { Tensor } from 'onnxruntime-common';
import { ByteLru, type CacheStats, typedArrayBytes } from '../../cache/lru.js';
import { dot, l2Normalize, softmax } from '../../embeddings/math.js';
import { InputError, MmrtError } from '../../errors.js';
import type { LoadedModel } from '../../families/family.js';
import type { Host, OrtModule, VideoOpenOptions } from '../../host/host.js';
import type { MultimodalLoader } from '../../loader/loader.js';
import {
  type FrameCount,
  type FrameSampling,
  type SegmentOptions,
  checkSampling,
  frameCount,
} from '../../media/frame-sampling.js';
import type { VideoInput } from '../../media/input.js';
import type { Session } from '../../runtime/session.js';
import type { TextTokenizer } from '../../text/tokenizer.js';
import { type ClipPipeline, type Timings, openSource, planSegments, readClips } from './clips.js';
import type { VideoIndex } from './video-index.js';

export interface XclipOptions {
  /** Frames per clip. Default: the plan's (`temporal_resolution`, else config `num_frames`). */
  frames?: FrameCount;
  /** How frames are picked in each segment. Default `{ strategy: 'uniform' }` (X-CLIP's). */
  sampling?: FrameSampling;
  /** Temporal segments: at most 10 s each by default. */
  segments?: SegmentOptions;
  /** Segments per vision_model call. Default: the plan's batch size. */
  segmentBatch?: number;
  /** Decode segments concurrently, overlapping decoding with encoding. Default true. */
  parallelSegments?: boolean;
  /** Segments decoded at once when parallel. Default 2. */
  decodeConcurrency?: number;
  /** Texts per text_model call. Default 64. */
  textBatchSize?: number;
  /** Cache of text embeddings before conditioning, in bytes; 0 turns it off. Default 16 MiB. */
  textCacheBytes?: number;
  /** Decoder limits (frame pixels, input bytes, time per probe/decode, decoded bytes per call). */
  video?: Omit<VideoOpenOptions, 'signal'>;
}

/** Per call: any of the video options, a signal and progress. */
export interface VideoCallOptions
  extends Pick<XclipOptions, 'frames' | 'sampling' | 'segments' | 'segmentBatch' | 'parallelSegments'> {
  signal?: AbortSignal;
  onProgress?: (event: VideoProgress) => void;
}

export interface VideoProgress {
  /** The video's label. */
  readonly video: string;
  readonly stage: 'probed' | 'encoded';
  readonly segmentsDone: number;
  readonly segments: number;
  readonly durationSec: number;
}

export interface SegmentEmbedding {
  readonly startSec: number;
  readonly endSec: number;
  /** Presentation times of the frames the model saw. */
  readonly times: readonly number[];
  /** L2-normalized video embedding of this segment. */
  readonly embedding: Float32Array;
  /** Prompt features [patches x dim], row-major. */
  readonly features: Float32Array;
}

export interface VideoEmbedding {
  readonly video: string;
  readonly durationSec: number;
  /** L2-normalized: the mean of the segments' embeddings, normalized. */
  readonly embedding: Float32Array;
  /** The mean of the segments' prompt features [patches x dim]. */
  readonly features: Float32Array;
  readonly segments: readonly SegmentEmbedding[];
}

export interface TextScore {
  readonly label: string;
  readonly score: number;
}

export interface VideoRanking {
  readonly video: string;
  readonly durationSec: number;
  /** Softmax over the texts, best first (top `topK`). */
  readonly labels: readonly TextScore[];
  /** Per segment, when the video has more than one. */
  readonly segments: ReadonlyArray<{
    readonly startSec: number;
    readonly endSec: number;
    readonly labels: readonly TextScore[];
  }>;
}

export interface RankOptions extends VideoCallOptions {
  /** Prompt template; `{}` or `{label}` is replaced by each text. Default `{}` (the text itself). */
  template?: string;
  topK?: number;
}

export interface SearchOptions {
  /** Results. Default 5. */
  k?: number;
  /** Search whole videos or their temporal segments. Default 'video'. */
  level?: 'video' | 'segment';
  /**
   * Candidates scored exactly (text conditioned on each candidate's features) after a first pass
   * with the unconditioned text embedding. Default max(4k, 32); Infinity scores every entry exactly.
   */
  rerank?: number;
}

export interface VideoSearchHit {
  readonly id: string;
  /** Cosine of the video (segment) with the text conditioned on it. */
  readonly score: number;
  readonly startSec?: number;
  readonly endSec?: number;
  readonly metadata?: unknown;
}

export interface XclipSessions {
  readonly vision: () => Promise<Session>;
  readonly text: () => Promise<Session>;
  readonly prompts: () => Promise<Session>;
}

/** What the family wiring gives the model. */
export interface XclipParts {
  readonly modelId: string;
  readonly host: Pick<Host, 'openVideo' | 'name'>;
  readonly ort: OrtModule;
  readonly tokenizer: TextTokenizer;
  readonly pipeline: ClipPipeline;
  readonly sessions: XclipSessions;
  readonly loader: MultimodalLoader;
  /** Frames the model was trained on (config num_frames). */
  readonly trainedFrames?: number;
  readonly planned?: {
    readonly frames?: number;
    readonly batchSize?: number;
    readonly parallelEncoders?: boolean;
  };
  readonly onWarning?: (message: string) => void;
}

export class XclipModel implements LoadedModel {
  readonly modelId: string;
  readonly loader: MultimodalLoader;
  readonly tokenizer: TextTokenizer;
  readonly timings: Timings = { probeMs: 0, decodeMs: 0, visionMs: 0, textMs: 0, promptMs: 0 };
  private readonly parts: XclipParts;
  private readonly textCache: ByteLru<Float32Array> | undefined;
  private readonly defaults: Required<Omit<XclipOptions, 'textCacheBytes' | 'video'>> & {
    video: XclipOptions['video'];
  };
  private readonly parallelEncoders: boolean;
  private warnedFrames = false;

  constructor(parts: XclipParts, options: XclipOptions = {}) {
    this.parts = parts;
    this.modelId = parts.modelId;
    this.loader = parts.loader;
    this.tokenizer = parts.tokenizer;
    const planned = parts.planned ?? {};
    this.defaults = {
      frames: options.frames ?? planned.frames ?? parts.trainedFrames ?? 8,
      sampling: checkSampling(options.sampling ?? { strategy: 'uniform' }),
      segments: options.segments ?? {},
      segmentBatch: options.segmentBatch ?? planned.batchSize ?? 4,
      parallelSegments: options.parallelSegments ?? true,
      decodeConcurrency: options.decodeConcurrency ?? 2,
      textBatchSize: options.textBatchSize ?? 64,
      video: options.video,
    };
    frameCount(this.defaults.frames);
    for (const key of ['segmentBatch', 'decodeConcurrency', 'textBatchSize'] as const) {
      const v = this.defaults[key];
      if (!(Number.isInteger(v) && v >= 1)) {
        throw new InputError('INPUT_INVALID', `${key} must be a positive integer, got ${v}`, { value: v });
      }
    }
    this.parallelEncoders = planned.parallelEncoders ?? true;
    const bytes = options.textCacheBytes ?? 16 * 1024 * 1024;
    this.textCache = bytes > 0 ? new ByteLru<Float32Array>(bytes, typedArrayBytes) : undefined;
  }

  async dispose(): Promise<void> {
    await this.loader.dispose();
  }

  textCacheStats(): CacheStats | undefined {
    return this.textCache?.stats();
  }

  // ------------------------------------------------------------------ texts

  /** Text embeddings before video conditioning (what the prompt generator starts from); cached. */
  async embedTexts(texts: readonly string[], options: { normalize?: boolean; signal?: AbortSignal } = {}) {
    if (!Array.isArray(texts) || texts.length === 0 || texts.some((t) => typeof t !== 'string')) {
      throw new InputError('INPUT_INVALID', 'embedTexts needs a non-empty list of strings', { value: texts });
    }
    const out = texts.map((t) => this.textCache?.get(t));
    const todo = [...new Set(texts.filter((_, i) => !out[i]))];
    for (let s = 0; s < todo.length; s += this.defaults.textBatchSize) {
      if (options.signal?.aborted) throw new MmrtError('ABORTED', 'embedTexts was aborted');
      const chunk = todo.slice(s, s + this.defaults.textBatchSize);
      const rows = await this.runText(chunk);
      chunk.forEach((t, j) => {
        this.textCache?.set(t, rows[j]!);
        texts.forEach((x, i) => {
          if (x === t) out[i] = rows[j];
        });
      });
    }
    return out.map((v) => (options.normalize ? l2Normalize(v!) : Float32Array.from(v!)));
  }

  private async runText(texts: string[]): Promise<Float32Array[]> {
    const batch = this.tokenizer.encodeBatch(texts, { padding: 'longest' });
    const { Tensor } = this.parts.ort;
    const t0 = performance.now();
    const s = await this.parts.sessions.text();
    const out = await s.run({
      input_ids: new Tensor('int64', batch.inputIds, [...batch.dims]),
      attention_mask: new Tensor('int64', batch.attentionMask, [...batch.dims]),
    });
    this.timings.textMs += performance.now() - t0;
    return rows(out.text_embeds ?? out[s.outputNames[0]!]!, texts.length);
  }

  /**
   * Texts conditioned on videos' prompt features: [videos][texts] vectors (not normalized), and
   * the learned logit scale. One prompts_generator call for all of them.
   */
  async conditionTexts(
    textEmbeds: readonly Float32Array[],
    features: readonly Float32Array[],
  ): Promise<{ embeds: Float32Array[][]; logitScale: number }> {
    const { Tensor } = this.parts.ort;
    const dim = textEmbeds[0]!.length;
    const patches = features[0]!.length / dim;
    const te = new Float32Array(textEmbeds.length * dim);
    for (const [i, t] of textEmbeds.entries()) te.set(t, i * dim);
    const vf = new Float32Array(features.length * patches * dim);
    for (const [i, f] of features.entries()) vf.set(f, i * patches * dim);
    const t0 = performance.now();
    const s = await this.parts.sessions.prompts();
    const out = await s.run({
      text_embeds: new Tensor('float32', te, [textEmbeds.length, dim]),
      video_features: new Tensor('float32', vf, [features.length, patches, dim]),
    });
    this.timings.promptMs += performance.now() - t0;
    const cond = out.conditioned_text_embeds!.data as Float32Array;
    const logitScale = Number((out.logit_scale!.data as Float32Array)[0]);
    const embeds = features.map((_, b) =>
      textEmbeds.map((_, k) =>
        cond.slice((b * textEmbeds.length + k) * dim, (b * textEmbeds.length + k + 1) * dim),
      ),
    );
    return { embeds, logitScale };
  }

  // ------------------------------------------------------------------ videos

  /** The video's embedding and prompt features, per segment and aggregated. */
  async embedVideo(video: VideoInput, options: VideoCallOptions = {}): Promise<VideoEmbedding> {
    const frames = frameCount(options.frames ?? this.defaults.frames);
    this.warnFrames(frames);
    const sampling = checkSampling(options.sampling ?? this.defaults.sampling);
    const t0 = performance.now();
    const source = await openSource(this.parts.host, video, {
      ...this.defaults.video,
      ...(options.signal && { signal: options.signal }),
    });
    this.timings.probeMs += performance.now() - t0;
    try {
      const plan = planSegments(source, {
        frames,
        sampling,
        segments: options.segments ?? this.defaults.segments,
      });
      const label = source.label;
      const durationSec = source.info.durationSec;
      const progress = (stage: VideoProgress['stage'], done: number) =>
        options.onProgress?.({ video: label, stage, segmentsDone: done, segments: plan.length, durationSec });
      progress('probed', 0);
      const segs: SegmentEmbedding[] = new Array(plan.length);
      const reader = readClips(
        source,
        plan,
        this.parts.pipeline,
        {
          frames,
          batch: options.segmentBatch ?? this.defaults.segmentBatch,
          parallel: options.parallelSegments ?? this.defaults.parallelSegments,
          decodeConcurrency: this.defaults.decodeConcurrency,
          ...(options.signal && { signal: options.signal }),
        },
        this.timings,
      );
      let done = 0;
      for await (const b of reader) {
        const { embeds, features } = await this.runVision(b.pixels, b.segments.length, frames);
        b.segments.forEach((s, j) => {
          const p = plan[s]!;
          segs[s] = {
            startSec: p.startSec,
            endSec: p.endSec,
            times: b.times[j]!,
            embedding: l2Normalize(embeds[j]!),
            features: features[j]!,
          };
        });
        done += b.segments.length;
        progress('encoded', done);
      }
      return { video: label, durationSec, ...aggregate(segs), segments: segs };
    } finally {
      await source.close();
    }
  }

  private async runVision(pixels: Float32Array, clips: number, frames: number) {
    const { Tensor } = this.parts.ort;
    const [c, h, w] = this.parts.pipeline.pixelShape;
    const t0 = performance.now();
    const s = await this.parts.sessions.vision();
    const out = await s.run({ pixel_values: new Tensor('float32', pixels, [clips, frames, c, h, w]) });
    this.timings.visionMs += performance.now() - t0;
    return { embeds: rows(out.video_embeds!, clips), features: rows(out.video_features!, clips) };
  }

  private warnFrames(frames: number): void {
    const trained = this.parts.trainedFrames;
    if (trained && frames !== trained && !this.warnedFrames) {
      this.warnedFrames = true;
      this.parts.onWarning?.(
        `${this.modelId} was trained on ${trained} frames per clip; running at ${frames} resamples its temporal position embedding (scores may differ from the model's own)`,
      );
    }
  }

  // ------------------------------------------------------------------ tasks

  /** Zero-shot video classification: the texts ranked for the video (softmax over the texts). */
  async rankTexts(
    video: VideoInput,
    texts: readonly string[],
    options: RankOptions = {},
  ): Promise<VideoRanking> {
    const labels = Array.isArray(texts) ? texts.map((t) => (typeof t === 'string' ? t.trim() : t)) : [];
    if (labels.length === 0 || labels.some((l) => typeof l !== 'string' || l.length === 0)) {
      throw new InputError('INPUT_INVALID', 'rankTexts needs a non-empty list of non-empty texts', {
        value: texts,
        valid: 'e.g. ["a person cooking", "a dog running"]',
      });
    }
    const template = options.template ?? '{}';
    const prompts = labels.map((l) => template.replace(/\{label\}|\{\}/g, l));
    const textJob = () => this.embedTexts(prompts, options.signal ? { signal: options.signal } : {});
    const videoJob = () => this.embedVideo(video, options);
    const [textEmb, emb] = this.parallelEncoders
      ? await Promise.all([textJob(), videoJob()])
      : [await textJob(), await videoJob()];
    const all = [emb.features, ...(emb.segments.length > 1 ? emb.segments.map((s) => s.features) : [])];
    const { embeds, logitScale } = await this.conditionTexts(textEmb, all);
    const rank = (v: Float32Array, cond: Float32Array[]) => {
      const probs = softmax(cond.map((t) => logitScale * dot(v, l2Normalize(t))));
      const ranked = labels
        .map((label, i) => ({ label, score: probs[i]! }))
        .sort((a, b) => b.score - a.score);
      return options.topK ? ranked.slice(0, options.topK) : ranked;
    };
    return {
      video: emb.video,
      durationSec: emb.durationSec,
      labels: rank(emb.embedding, embeds[0]!),
      segments:
        emb.segments.length > 1
          ? emb.segments.map((s, i) => ({
              startSec: s.startSec,
              endSec: s.endSec,
              labels: rank(s.embedding, embeds[i + 1]!),
            }))
          : [],
    };
  }

  /** Text search over an index of videos (or of their segments), best first. */
  async searchVideos(
    index: VideoIndex,
    query: string,
    options: SearchOptions = {},
  ): Promise<VideoSearchHit[]> {
    if (typeof query !== 'string' || query.trim().length === 0) {
      throw new InputError('INPUT_INVALID', 'searchVideos needs a non-empty query text', { value: query });
    }
    const k = options.k ?? 5;
    const rows = index.rows(options.level ?? 'video');
    if (rows.length === 0) return [];
    const [q] = await this.embedTexts([query.trim()]);
    const qn = l2Normalize(q!);
    // First pass: the unconditioned text (the prompt generator only nudges it: alpha * ...).
    const coarse = rows.map((r, i) => ({ i, s: dot(r.embedding, qn) })).sort((a, b) => b.s - a.s);
    const keep = coarse.slice(0, Math.max(k, Math.min(rows.length, options.rerank ?? Math.max(4 * k, 32))));
    const { embeds } = await this.conditionTexts(
      [q!],
      keep.map((c) => rows[c.i]!.features),
    );
    const hits = keep.map((c, j) => {
      const r = rows[c.i]!;
      return {
        id: r.id,
        score: dot(r.embedding, l2Normalize(embeds[j]![0]!)),
        ...(r.startSec !== undefined && { startSec: r.startSec, endSec: r.endSec }),
        ...(r.metadata !== undefined && { metadata: r.metadata }),
      };
    });
    return hits.sort((a, b) => b.score - a.score).slice(0, k);
  }
}

function aggregate(segs: readonly SegmentEmbedding[]): { embedding: Float32Array; features: Float32Array } {
  const dim = segs[0]!.embedding.length;
  const emb = new Float32Array(dim);
  const feats = new Float32Array(segs[0]!.features.length);
  for (const s of segs) {
    for (let i = 0; i < dim; i++) emb[i]! += s.embedding[i]!;
    for (let i = 0; i < feats.length; i++) feats[i]! += s.features[i]!;
  }
  if (segs.length === 1) return { embedding: segs[0]!.embedding, features: segs[0]!.features };
  for (let i = 0; i < feats.length; i++) feats[i]! /= segs.length;
  return { embedding: l2Normalize(emb), features: feats };
}

function rows(t: Tensor, n: number): Float32Array[] {
  const data = t.data as Float32Array;
  const size = data.length / n;
  return Array.from({ length: n }, (_, i) => data.slice(i * size, (i + 1) * size));
}
