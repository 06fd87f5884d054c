/**
 * BLIP as Hugging Face's BlipForConditionalGeneration / BlipForQuestionAnswering generate:
 * - caption: image embeds (cached by content) are the encoder states; the decoder starts from
 *   [DEC] (BLIP's bos; a prompt's [CLS] is replaced by it and its [SEP] dropped, which is
 *   [DEC] + the prompt's words) and stops at [SEP];
 * - answer: the question ([CLS] q [SEP]) goes through the question encoder, cross-attending the
 *   image embeds; the answer decoder starts from [DEC] and attends to the question states.
 *   Hugging Face's generate lets the answer decoder attend to a padded question's padding
 *   too; mmrt masks it, so a question's answer does not depend on the batch it is in.
 * The decoder is a CrossAttentionDecoder: its cross-attention keys/values are computed on the
 * first step and reused (when the export separates them).
 */
import { ModelPackageError } from '../../errors.js';
import { CrossAttentionDecoder } from '../../generation/cross-attention-decoder.js';
import type { ResolvedGeneration } from '../../generation/options.js';
import { idsTokens } from '../../generation/step.js';
import type { OrtModule } from '../../host/host.js';
import type { ComponentSessions } from '../../runtime/component-sessions.js';
import type { TextTokenizer } from '../../text/tokenizer.js';
import type { BlipConfig, ImageToTextTask } from './config.js';
import { type CachedImageEncoder, type QuestionEncoder, stackFeatures } from './encoders.js';
import {
  type EngineRow,
  type EngineRun,
  generateRows,
  type ImageToTextEngine,
  lazy,
  leftPad,
} from './engine.js';

export interface BlipEngineParts {
  readonly ort: OrtModule;
  readonly sessions: ComponentSessions;
  readonly config: BlipConfig;
  readonly tokenizer: TextTokenizer;
  readonly images: CachedImageEncoder;
  /** VQA packages only. */
  readonly questions?: QuestionEncoder;
}

export class BlipEngine implements ImageToTextEngine {
  readonly config: BlipConfig;
  readonly images: CachedImageEncoder;
  private readonly decoder = lazy(async () => {
    const { ort, sessions, config } = this.parts;
    const d = new CrossAttentionDecoder(ort, await sessions.session('text_decoder_model_merged'), {
      heads: config.kvHeads,
      headDim: config.headDim,
    });
    if (d.tokenInput !== 'ids') {
      throw new ModelPackageError(
        'MODEL_CONFIG_INVALID',
        'the BLIP text decoder must take input_ids (it embeds its own tokens)',
        {
          value: d.session.inputNames,
        },
      );
    }
    return d;
  });

  constructor(private readonly parts: BlipEngineParts) {
    this.config = parts.config;
    this.images = parts.images;
  }

  get decoderCreated(): boolean {
    return this.decoder.started;
  }

  async reusesCrossAttention(): Promise<boolean> {
    return (await this.decoder.get()).reusesCrossAttention;
  }

  async run(
    task: ImageToTextTask,
    rows: readonly EngineRow[],
    options: ResolvedGeneration,
    startedAt: number,
    emit?: (row: number, delta: string) => void,
  ): Promise<EngineRun> {
    const { tokenizer, config } = this.parts;
    const batch = rows.length;
    const t0 = performance.now();
    const feats = await this.images.get(rows.map((r) => r.image));
    const images = stackFeatures(feats.values);
    let encoder: { data: Float32Array; length: number; mask: BigInt64Array };
    let prompts: number[][];
    if (task === 'caption') {
      encoder = {
        data: images.data,
        length: images.count,
        mask: new BigInt64Array(batch * images.count).fill(1n),
      };
      prompts = rows.map((r) => [config.bosId, ...(r.text ? tokenizer.encode(r.text, false) : [])]);
    } else {
      const questions = tokenizer.encodeBatch(
        rows.map((r) => r.text),
        { padding: 'longest' },
      );
      const states = await this.parts.questions!.encode(questions, images);
      encoder = { data: states.data, length: states.length, mask: questions.attentionMask };
      prompts = rows.map(() => [config.bosId]);
    }
    const encoderMs = feats.encoded === 0 && task === 'caption' ? 0 : performance.now() - t0;
    const decoder = await this.decoder.get();
    const { ids, mask, width } = leftPad(prompts, config.padId);
    return generateRows(
      task,
      tokenizer,
      prompts,
      {
        decoder,
        request: {
          batch,
          tokens: idsTokens(ids),
          newLength: width,
          newMask: mask,
          cache: decoder.start({ ...encoder, batch }),
          contextIds: prompts,
        },
        options,
        next: async (next) => idsTokens(next),
        startedAt,
        promptTokens: prompts.map((p) => p.length),
        ...(emit && { emit }),
      },
      { fromCache: feats.fromCache, encoded: feats.encoded, encoderMs },
    );
  }
}
